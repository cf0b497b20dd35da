"""a CALL bridge counts its peer as busy

calls.text_bridge marks the row a peer's CALL to their texter creates, so the
peer is skipped by new calls while it lasts and the row writes no statistic.
Existing rows are incoming calls: false.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:14:26.008893

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_bridge', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('text_bridge')

