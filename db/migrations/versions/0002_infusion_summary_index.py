"""covering index for the infusion summary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

The compliance report summarises every series' infusions in one GROUP BY;
with (series_id, date, status) indexed, SQLite and PostgreSQL read the index
alone, in series order.
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('infusion', schema=None) as batch_op:
        batch_op.create_index('ix_infusion_series_id_date_status',
                              ['series_id', 'date', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('infusion', schema=None) as batch_op:
        batch_op.drop_index('ix_infusion_series_id_date_status')
