"""initial schema: every table as of the first migration

Generated with `hotline db revision -m "initial schema" --autogenerate --rev-id 0001` against an
empty SQLite database, then reviewed by hand: index operations written as plain
op.create_index/op.drop_index (batch mode is only needed for SQLite ALTERs), UTCDateTime
rendered as sa.DateTime(timezone=True) (hotline.ops.migrations.render_item), no model imports.
Databases made by create_schema() before migrations existed are adopted as this revision
by `hotline db upgrade`.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 10:49:40.560614

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_table('calls',
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('preference', sa.String(length=32), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('tried', sa.JSON(), nullable=False),
    sa.Column('ringing', sa.JSON(), nullable=False),
    sa.Column('accepted_by', sa.String(length=64), nullable=True),
    sa.Column('accepted_leg', sa.String(length=64), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_step', sa.Integer(), nullable=True),
    sa.Column('bridged', sa.Boolean(), nullable=False),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('call_sid', name=op.f('pk_calls'))
    )
    op.create_table('clock_heartbeat',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_poll_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_heartbeat'))
    )
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.Integer(), nullable=False),
    sa.Column('texter_hash', sa.String(length=64), nullable=False),
    sa.Column('texter_enc', sa.LargeBinary(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('tried', sa.JSON(), nullable=False),
    sa.Column('alerted', sa.JSON(), nullable=False),
    sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('gave_up', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('owner_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_step', sa.Integer(), nullable=True),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('code', name=op.f('uq_conversations_code')),
    sa.UniqueConstraint('texter_hash', name=op.f('uq_conversations_texter_hash'))
    )
    op.create_index(op.f('ix_conversations_escalate_at'), 'conversations', ['escalate_at'], unique=False)
    op.create_index(op.f('ix_conversations_last_activity_at'), 'conversations', ['last_activity_at'], unique=False)
    op.create_table('inbound_messages',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_inbound_messages'))
    )
    op.create_index(op.f('ix_inbound_messages_received_at'), 'inbound_messages', ['received_at'], unique=False)
    op.create_table('notices',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_notices'))
    )
    op.create_index(op.f('ix_notices_conversation_id'), 'notices', ['conversation_id'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('to_enc', sa.LargeBinary(), nullable=False),
    sa.Column('body_enc', sa.LargeBinary(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('peer_id', sa.String(length=64), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('to_texter', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index(op.f('ix_outbox_next_try_at'), 'outbox', ['next_try_at'], unique=False)
    op.create_table('peer_load',
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('peer_id', 'month', name=op.f('pk_peer_load'))
    )
    op.create_table('provider_records',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_provider_records'))
    )
    op.create_index(op.f('ix_provider_records_next_try_at'), 'provider_records', ['next_try_at'], unique=False)
    op.create_table('send_windows',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('second', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_send_windows'))
    )
    op.create_table('stat_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('preference', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('seconds_to_human', sa.Integer(), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('length', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stat_events'))
    )
    op.create_table('voicemails',
    sa.Column('recording_sid', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('recording_sid', name=op.f('pk_voicemails'))
    )
    op.create_index(op.f('ix_voicemails_next_try_at'), 'voicemails', ['next_try_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_voicemails_next_try_at'), table_name='voicemails')
    op.drop_table('voicemails')
    op.drop_table('stat_events')
    op.drop_table('send_windows')
    op.drop_index(op.f('ix_provider_records_next_try_at'), table_name='provider_records')
    op.drop_table('provider_records')
    op.drop_table('peer_load')
    op.drop_index(op.f('ix_outbox_next_try_at'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_notices_conversation_id'), table_name='notices')
    op.drop_table('notices')
    op.drop_index(op.f('ix_inbound_messages_received_at'), table_name='inbound_messages')
    op.drop_table('inbound_messages')
    op.drop_index(op.f('ix_conversations_last_activity_at'), table_name='conversations')
    op.drop_index(op.f('ix_conversations_escalate_at'), table_name='conversations')
    op.drop_table('conversations')
    op.drop_table('clock_heartbeat')
    op.drop_table('calls')
    op.drop_table('audit_events')
