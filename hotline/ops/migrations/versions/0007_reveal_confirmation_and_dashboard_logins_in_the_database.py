"""REVEAL needs a confirmation; dashboard logins kept in the database

conversations.reveal_asked_at: when the clinical director asked to REVEAL the
texter's number; "REVEAL #n CONFIRM" shows it only within minutes of that.
Open conversations have had no request: NULL.
login_failures: failed dashboard logins per name and per client address, shared
by every worker (they were in memory, per process, and could be flushed).
dashboard_sessions: server-side sessions, so logging out revokes one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reveal_asked_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_table('login_failures',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_failures'))
    )
    op.create_index(op.f('ix_login_failures_last_at'), 'login_failures', ['last_at'],
                    unique=False)
    op.create_table('dashboard_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_dashboard_sessions'))
    )
    op.create_index(op.f('ix_dashboard_sessions_seen_at'), 'dashboard_sessions', ['seen_at'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_dashboard_sessions_seen_at'), table_name='dashboard_sessions')
    op.drop_table('dashboard_sessions')
    op.drop_index(op.f('ix_login_failures_last_at'), table_name='login_failures')
    op.drop_table('login_failures')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('reveal_asked_at')
