"""docs/review-queue.md keeps up with the code: every setting, status and error code is documented."""

from __future__ import annotations

import pytest

from hotline.jobs import JobSettings
from hotline.submissions import SubmissionSettings, SubmissionStatus
from hotline.submissions import errors
from hotline.submissions.masking import mask_text
from tests.conftest import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "review-queue.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [*JobSettings.model_fields, *SubmissionSettings.model_fields])
def test_every_setting_is_documented(name: str) -> None:
    assert f"| `{name}` |" in DOC


@pytest.mark.parametrize("status", [s.value for s in SubmissionStatus])
def test_every_status_is_documented(status: str) -> None:
    assert f"| `{status}` |" in DOC


@pytest.mark.parametrize(
    "code",
    sorted({
        cls.code for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.HotlineError) and cls.__module__ == errors.__name__
    }),
)
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in DOC or f" {code}`" in DOC


def test_free_text_masks_ids_four_and_four_and_phones() -> None:
    text = "身份证 110105194912310021，电话 13812345678"
    assert mask_text(text) == "身份证 1101**********0021，电话 138****5678"


def test_the_upload_checks_the_cookie_the_app_sets() -> None:
    from hotline.submissions import routes
    from hotline.web import app

    assert routes.CSRF_COOKIE == app.CSRF_COOKIE
