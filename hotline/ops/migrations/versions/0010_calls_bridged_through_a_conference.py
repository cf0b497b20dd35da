"""calls bridged through a conference

With `voice: bridge: conference` a caller waits in a queue while the router places
one leg per peer; the call row keeps those legs' SIDs (legs), when the step is over at
the latest (step_at), the conference's SID, the coaching clinician's leg, whether the
caller has joined the conference and whether it is over. A clinician page can be about a call in progress (pages.call_sid),
so a page's conversation becomes optional. SIDs and peer ids only: nothing about a caller.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:45:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op



# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('legs', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('step_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('conference_sid', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('coach_leg', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('caller_joined', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('conference_ended', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('pages') as batch:
        batch.add_column(sa.Column('call_sid', sa.String(length=64), nullable=True))
        batch.alter_column('conversation_id', existing_type=sa.Integer(), nullable=True)
        batch.create_index('ix_pages_call_sid', ['call_sid'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM pages WHERE conversation_id IS NULL")
    with op.batch_alter_table('pages') as batch:
        batch.drop_index('ix_pages_call_sid')
        batch.alter_column('conversation_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('call_sid')
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('conference_ended')
        batch.drop_column('caller_joined')
        batch.drop_column('coach_leg')
        batch.drop_column('conference_sid')
        batch.drop_column('step_at')
        batch.drop_column('legs')
