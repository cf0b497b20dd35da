"""outbox rows remember a send whose outcome is unknown

The sender (hotline/text/sender.py) writes sending_at with its claim, before it hands
a text to Twilio. A row whose lease ran out with sending_at still set belonged to a
sender killed (or timed out) after the REST call left: the next sender asks Twilio
whether the text went before sending it again, so a kill -9 does not send it twice.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:40:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('sending_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('sending_at')
