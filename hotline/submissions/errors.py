"""Errors of the submission flow, each with a stable code."""

from __future__ import annotations

from hotline.errors import HotlineError, NotFoundError


class FileTooLargeError(HotlineError):
    """One uploaded file is over ``max_file_mb``."""

    code = "file_too_large"
    status_code = 413


class UnsupportedFileError(HotlineError):
    """An uploaded file is none of the accepted formats (judged by its bytes, not its name)."""

    code = "unsupported_file"
    status_code = 415


class TooManyFilesError(HotlineError):
    """More files than ``max_files`` in one submission."""

    code = "too_many_files"
    status_code = 413


class MalformedUploadError(HotlineError):
    """The request body is not a readable multipart form."""

    code = "malformed_upload"
    status_code = 400


class NoFilesError(HotlineError):
    """The submission holds no file."""

    code = "no_files"
    status_code = 422


class SubmissionNotFoundError(NotFoundError):
    """No such submission for this requester (other people's submissions are reported the same way)."""

    code = "submission_not_found"


class FindingNotFoundError(NotFoundError):
    """The submission's report has no finding with this index."""

    code = "finding_not_found"


class NotReviewableError(HotlineError):
    """The submission has no machine report yet, so there is nothing to decide."""

    code = "not_reviewable"
    status_code = 409


class FilesPurgedError(HotlineError):
    """The submission's files and page images were deleted after the retention period."""

    code = "files_purged"
    status_code = 410
