"""Citizen submissions for pre-review, the background pre-review job, and the clerks' review queue."""

from hotline.submissions import models
from hotline.submissions.handlers import PrereviewJob, blob_store, create_handlers
from hotline.submissions.masking import mask_form, mask_id_number, mask_phone
from hotline.submissions.models import Decision, ReviewDecision, Submission, SubmissionFile, SubmissionStatus
from hotline.submissions.retention import (
    PURGE_JOB_KIND,
    PurgeReport,
    UploadPurgeJob,
    purge_expired_uploads,
    schedule_upload_purge,
)
from hotline.submissions.review import (
    FakeReviewer,
    PageImage,
    PipelineReviewer,
    Progress,
    Reviewer,
    ReviewerUnavailableError,
    ReviewOutcome,
)
from hotline.submissions.routes import router
from hotline.submissions.runtime import SubmissionRuntime, submissions_lifespan
from hotline.submissions.service import (
    JOB_KIND,
    create_submission,
    decide_finding,
    export_decisions,
    get_citizen_submission,
    list_review_queue,
)
from hotline.submissions.settings import SubmissionSettings
from hotline.submissions.storage import BlobStore

__all__ = [
    "JOB_KIND",
    "PURGE_JOB_KIND",
    "BlobStore",
    "Decision",
    "FakeReviewer",
    "PageImage",
    "PipelineReviewer",
    "PrereviewJob",
    "Progress",
    "PurgeReport",
    "ReviewDecision",
    "ReviewOutcome",
    "Reviewer",
    "ReviewerUnavailableError",
    "Submission",
    "SubmissionFile",
    "SubmissionRuntime",
    "SubmissionSettings",
    "SubmissionStatus",
    "UploadPurgeJob",
    "blob_store",
    "create_handlers",
    "create_submission",
    "decide_finding",
    "export_decisions",
    "get_citizen_submission",
    "list_review_queue",
    "mask_form",
    "mask_id_number",
    "mask_phone",
    "models",
    "purge_expired_uploads",
    "router",
    "schedule_upload_purge",
    "submissions_lifespan",
]
