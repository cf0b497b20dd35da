"""index only the bridged calls for the busy-peers test

0008's index on (bridged, accepted_by) held every call row. PostgreSQL runs the
answer's prepared statement with a generic plan after a few calls, and that plan
scanned every call row, more of them with every call. A partial index of the bridged
calls alone stays a few entries long and is the plan's obvious choice.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index('ix_calls_bridged_accepted_by', table_name='calls')
    op.create_index('ix_calls_bridged_peer', 'calls', ['accepted_by'], unique=False,
                    postgresql_where=sa.text('bridged'), sqlite_where=sa.text('bridged = 1'))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_calls_bridged_peer', table_name='calls')
    op.create_index('ix_calls_bridged_accepted_by', 'calls', ['bridged', 'accepted_by'],
                    unique=False)
