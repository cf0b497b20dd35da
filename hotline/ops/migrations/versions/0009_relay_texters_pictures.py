"""relay texters' pictures

A program may relay a texter's pictures to the peer (rotation file: sms: {pictures:
relay}). A queued relay keeps its media URLs sealed in the outbox (media_enc) with the
SID of the texter's message (media_of); media_relays remembers a relay Twilio has
taken until its status callback says it landed, so the texter's message, whose media
the relay points at, is deleted at Twilio only after that.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:15:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('media_enc', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('media_of', sa.String(length=64), nullable=True))
        batch.create_index('ix_outbox_media_of', ['media_of'], unique=False)
    op.create_table(
        'media_relays',
        sa.Column('outbound_sid', sa.String(length=64), nullable=False),
        sa.Column('inbound_sid', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('outbound_sid'),
    )
    op.create_index('ix_media_relays_inbound_sid', 'media_relays', ['inbound_sid'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_media_relays_inbound_sid', table_name='media_relays')
    op.drop_table('media_relays')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index('ix_outbox_media_of')
        batch.drop_column('media_of')
        batch.drop_column('media_enc')
