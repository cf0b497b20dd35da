"""peers keep their own availability; shift reminders sent once

peer_away: a peer's OFF/BUSY with its expiry, so routing skips them and a restart
forgets nothing. reminder_opt_outs: REMIND OFF. reminders_sent: one row per
reminder sent, its unique key the clock's claim (exactly once across restarts).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('peer_away',
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('peer_id', name=op.f('pk_peer_away'))
    )
    op.create_table('reminder_opt_outs',
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('peer_id', name=op.f('pk_reminder_opt_outs'))
    )
    op.create_table('reminders_sent',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('rotation', sa.String(length=64), nullable=False),
    sa.Column('shift_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders_sent')),
    sa.UniqueConstraint('peer_id', 'rotation', 'shift_start', 'kind',
                        name=op.f('uq_reminders_sent_peer_id'))
    )
    with op.batch_alter_table('reminders_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_sent_shift_start'), ['shift_start'],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('reminders_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_sent_shift_start'))
    op.drop_table('reminders_sent')
    op.drop_table('reminder_opt_outs')
    op.drop_table('peer_away')
