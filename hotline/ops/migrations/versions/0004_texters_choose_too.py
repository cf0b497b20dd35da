"""texters choose too: menu choices on conversations, their kind in statistics

conversations.preference and conversations.asked_for hold a texter's menu choice
and the peer id they asked for by name, and calls.asked_for a caller's, only while
the contact is open (the row is deleted when it ends). stat_events.reason is the kind of choice (family,
concern, named, peer, resources, office), so families and concern reports are
counted apart whatever key a program gives its menu options. Existing rows: NULL,
no choice.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asked_for', sa.String(length=64), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preference', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('asked_for', sa.String(length=64), nullable=True))
    with op.batch_alter_table('stat_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stat_events', schema=None) as batch_op:
        batch_op.drop_column('reason')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('asked_for')
        batch_op.drop_column('preference')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('asked_for')
