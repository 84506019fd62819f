"""submissions: when their files and page images were deleted after the retention period

Revision ID: 0004_submission_files_purged_at
Revises: 0003_prereview_submissions
Create Date: 2026-11-24 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0004_submission_files_purged_at"
down_revision = "0003_prereview_submissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files_purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("files_purged_at")
