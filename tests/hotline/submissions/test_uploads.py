"""Upload limits and rejections: streamed size limit, file types, counts, bad fields; nothing is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline import HotlineSettings
from hotline.db import session_scope
from hotline.jobs import Job
from hotline.submissions import JOB_KIND, Submission
from hotline.submissions.uploads import clean_filename
from tests.hotline.submissions.conftest import A_CODE, png_page

BOUNDARY = "hotline-test-boundary"


def _nothing_stored(session_factory: sessionmaker[Session], settings: HotlineSettings) -> None:
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == JOB_KIND)) == 0
    blobs = settings.data_dir / "submissions"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))


def _api_upload(client: TestClient, files: list[tuple[str, bytes]], **fields: str | list[str]) -> httpx.Response:
    client.get(f"/apply/{A_CODE}")
    return client.post(
        "/api/v1/submissions",
        data={"service": A_CODE, **fields},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files or [("", b"")]],
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )


def test_an_oversized_file_is_refused_before_the_body_is_read(
    app: FastAPI, seeded: dict[str, str], session_factory: sessionmaker[Session], settings: HotlineSettings
) -> None:
    chunk = b"\x89PNG\r\n\x1a\n" + b"\0" * (64 * 1024 - 8)
    total_chunks = 64  # 4 MiB against a 0.25 MiB limit
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        head = (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"service\"\r\n\r\n{A_CODE}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"scan.png\"\r\n"
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        yield head
        for _ in range(total_chunks):
            sent += 1
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(
                "/api/v1/submissions", content=body(),
                headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
            )

    response = asyncio.run(post())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert "MB" in response.json()["error"]["message"]
    assert sent < total_chunks / 4, f"read {sent} of {total_chunks} chunks"
    _nothing_stored(session_factory, settings)


@pytest.mark.parametrize(
    ("files", "fields", "status", "code"),
    [
        ([("letter.pdf", b"just some text, not a PDF at all")], {}, 415, "unsupported_file"),
        ([("a.png", png_page(1)), ("b.exe", b"MZ\x90\x00" + b"\0" * 60)], {}, 415, "unsupported_file"),
        ([(f"{n}.png", png_page(n)) for n in range(4)], {}, 413, "too_many_files"),
        ([], {}, 422, "no_files"),
        ([("a.png", png_page(1))], {"facts": "is_agent"}, 422, "validation_failed"),
        ([("a.png", png_page(1))], {"service": "no-such-service"}, 404, "service_not_found"),
        ([("a.png", png_page(1))], {"name": "张" * 600}, 400, "malformed_upload"),
    ],
    ids=["fake-pdf", "exe-after-png", "too-many", "no-files", "unknown-fact", "unknown-service", "long-field"],
)
def test_rejected_uploads_leave_nothing_behind(
    make_client: Callable[[str | None], TestClient],
    seeded: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: HotlineSettings,
    files: list[tuple[str, bytes]],
    fields: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = _api_upload(make_client(None), files, **fields)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    _nothing_stored(session_factory, settings)


def test_the_html_upload_checks_the_form_csrf_token(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str]
) -> None:
    client = make_client(None)
    client.get(f"/apply/{A_CODE}")
    response = client.post(
        f"/apply/{A_CODE}", data={"csrftoken": "forged"}, files=[("files", ("a.png", png_page(1), "image/png"))],
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 403


def test_staff_cannot_submit_and_the_api_upload_answers_where_to_poll(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str]
) -> None:
    clerk = make_client(seeded["clerk_a"])
    assert _api_upload(clerk, [("a.png", png_page(1))]).json()["error"]["code"] == "permission_denied"
    citizen = make_client(None)
    created = _api_upload(citizen, [("a.png", png_page(1))])
    assert created.status_code == 202
    body = created.json()
    assert body["status"] == "queued" and body["progress_url"] == f"/api/v1/submissions/{body['reference']}"
    assert citizen.get(body["progress_url"]).status_code == 200


def test_clean_filename_drops_paths_and_control_characters() -> None:
    assert clean_filename("C:\\Users\\张三\\身份证.jpg") == "身份证.jpg"
    assert clean_filename("../../etc/passwd\x00\n") == "passwd"
    assert clean_filename("   ") == "upload"
    assert len(clean_filename("a" * 500)) == 200


def test_uploaded_files_are_content_addressed(tmp_path: Path) -> None:
    from hotline.submissions import BlobStore

    store = BlobStore(tmp_path)
    first = store.put_bytes(b"same bytes")
    assert store.put_bytes(b"same bytes") == first
    assert store.path(first).read_bytes() == b"same bytes"
    assert store.path(first).relative_to(tmp_path).parts[:2] == (first[:2], first[2:4])
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
