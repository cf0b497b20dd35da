"""REVEAL needs a confirmation

conversations.reveal_asked_at: when the clinical director asked to REVEAL the
texter's number; "REVEAL #n CONFIRM" shows it only within minutes of that.
Open conversations have had no request: NULL.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03 07:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reveal_asked_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('reveal_asked_at')
