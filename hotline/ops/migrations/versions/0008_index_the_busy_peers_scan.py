"""index the busy-peers scan

Every call's answer asks which peers are on a bridged call (calls.bridged,
calls.accepted_by); without an index that is a scan of every live call row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:15:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_calls_bridged_accepted_by', 'calls', ['bridged', 'accepted_by'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_calls_bridged_accepted_by', table_name='calls')
