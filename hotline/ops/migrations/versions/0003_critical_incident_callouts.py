"""critical-incident callouts: the open callout, its answers, its anonymous counts

callouts and callout_answers hold one open callout (deleted at close); callout_stats
keeps what it leaves for the yearly figures. outbox.callout_id marks a callout's text
so its delivery report can find the peer. Outbox priorities gain a level between
routine (0) and urgent: urgent moves from 1 to 2, callout texts take 1.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 07:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('callouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('message_enc', sa.LargeBinary(), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=True),
    sa.Column('initiator', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_yes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tally_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tallied', sa.String(length=160), nullable=True),
    sa.Column('close_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callouts')),
    sa.UniqueConstraint('slot', name=op.f('uq_callouts_slot'))
    )
    op.create_index(op.f('ix_callouts_tally_due_at'), 'callouts', ['tally_due_at'], unique=False)
    op.create_index(op.f('ix_callouts_close_at'), 'callouts', ['close_at'], unique=False)
    op.create_table('callout_answers',
    sa.Column('callout_id', sa.Integer(), nullable=False),
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notice_sid', sa.String(length=64), nullable=True),
    sa.Column('unreachable', sa.Boolean(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('call_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('callout_id', 'peer_id', name=op.f('pk_callout_answers'))
    )
    op.create_index(op.f('ix_callout_answers_notice_sid'), 'callout_answers', ['notice_sid'],
                    unique=False)
    op.create_index(op.f('ix_callout_answers_call_due_at'), 'callout_answers', ['call_due_at'],
                    unique=False)
    op.create_table('callout_stats',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('asked', sa.Integer(), nullable=False),
    sa.Column('answered_yes', sa.Integer(), nullable=False),
    sa.Column('seconds_to_first_yes', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callout_stats'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callout_id', sa.Integer(), nullable=True))
    # Texts waiting when the new code starts keep their place: urgent was 1, is now 2.
    op.execute("UPDATE outbox SET priority = 2 WHERE priority = 1")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE outbox SET priority = 0 WHERE priority = 1")  # callout texts
    op.execute("UPDATE outbox SET priority = 1 WHERE priority = 2")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('callout_id')
    op.drop_table('callout_stats')
    op.drop_index(op.f('ix_callout_answers_call_due_at'), table_name='callout_answers')
    op.drop_index(op.f('ix_callout_answers_notice_sid'), table_name='callout_answers')
    op.drop_table('callout_answers')
    op.drop_index(op.f('ix_callouts_close_at'), table_name='callouts')
    op.drop_index(op.f('ix_callouts_tally_due_at'), table_name='callouts')
    op.drop_table('callouts')
