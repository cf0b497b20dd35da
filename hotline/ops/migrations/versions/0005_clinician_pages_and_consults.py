"""clinician pages and consults

Written by hand in the style of 0001 (plain create_index, no model imports).
pages: a clinician paged for a conversation until somebody acknowledges (no number,
no message text). conversations.consultant: the clinician a peer brought in, who sees
the conversation's messages from then on. Existing conversations have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'pages',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('raised_by', sa.String(length=64), nullable=False),
        sa.Column('chain', sa.JSON(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('gave_up', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')))
    op.create_index(op.f('ix_pages_conversation_id'), 'pages', ['conversation_id'], unique=False)
    op.create_index(op.f('ix_pages_next_at'), 'pages', ['next_at'], unique=False)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consultant', sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('consultant')
    op.drop_index(op.f('ix_pages_next_at'), table_name='pages')
    op.drop_index(op.f('ix_pages_conversation_id'), table_name='pages')
    op.drop_table('pages')
