"""Upload retention: closed submissions lose their files after the retention period, nothing else does."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotline import HotlineSettings
from hotline.cli import main
from hotline.db import create_db_engine, session_scope, upgrade_database
from hotline.db.base import utcnow
from hotline.jobs import DatabaseJobQueue, Job, JobSettings, Worker
from hotline.models import AuditLog
from hotline.submissions import (
    PURGE_JOB_KIND,
    FakeReviewer,
    Submission,
    SubmissionSettings,
    blob_store,
    create_handlers,
    purge_expired_uploads,
)
from hotline.submissions.retention import PURGE_ACTION, UPLOAD_GRACE_S, blobs_of
from hotline.submissions.storage import BlobStore
from tests.hotline.conftest import TEST_SECRET, _postgres_schema_url
from tests.hotline.submissions.conftest import A_CODE, build_app, png_page

NOTICE = "材料已按保存期限删除 / files deleted after the retention period"


@pytest.fixture
def job_settings() -> JobSettings:
    """No in-app workers: each test runs the jobs it needs with its own worker."""
    return JobSettings(in_app_workers=0, poll_interval_s=0.05, backoff_base_s=0, lease_s=30)


def _drain(settings: HotlineSettings, factory: sessionmaker[Session], reviewer: FakeReviewer) -> None:
    worker = Worker(session_factory=factory, queue=DatabaseJobQueue(JobSettings()), settings=JobSettings(),
                    handlers=create_handlers(settings, reviewer=reviewer))
    while worker.run_once():
        pass


def _submit(client: TestClient, *seeds: int) -> str:
    client.get(f"/apply/{A_CODE}")
    response = client.post(
        "/api/v1/submissions", data={"service": A_CODE},
        files=[("files", (f"page-{seed}.png", png_page(seed), "image/png")) for seed in seeds],
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 202, response.text
    return response.json()["reference"]


def _close(factory: sessionmaker[Session], reference: str, *, status: str, days_ago: float, store: BlobStore) -> set[str]:
    """Give a submission a status and an age, its stored files too; returns its stored blobs."""
    with session_scope(factory) as session:
        submission = session.scalar(select(Submission).where(Submission.reference == reference))
        assert submission is not None and submission.report is not None
        submission.status = status
        submission.updated_at = utcnow() - dt.timedelta(days=days_ago)
        blobs = blobs_of(submission)
    stored_at = time.time() - days_ago * 86400
    for sha256 in blobs:
        os.utime(store.path(sha256), (stored_at, stored_at))
    return blobs


def _seconds_from_now(moment: dt.datetime) -> float:
    """Seconds until ``moment`` (SQLite hands back naive UTC datetimes)."""
    return (moment.replace(tzinfo=moment.tzinfo or dt.UTC) - utcnow()).total_seconds()


def _submission(factory: sessionmaker[Session], reference: str) -> Submission:
    with session_scope(factory) as session:
        submission = session.scalar(select(Submission).where(Submission.reference == reference))
        assert submission is not None
        return submission


def test_only_closed_expired_submissions_lose_their_files_and_shared_files_stay(
    seeded: dict[str, str], app: FastAPI, make_client: Callable[[str | None], TestClient],
    settings: HotlineSettings, session_factory: sessionmaker[Session], reviewer: FakeReviewer,
) -> None:
    citizen = make_client(None)
    old_approved = _submit(citizen, 1, 2)
    old_waiting = _submit(citizen, 3)
    recent = _submit(citizen, 4)
    old_sharing = _submit(citizen, 4, 5)  # the same page 4 as `recent`: one blob for both
    _drain(settings, session_factory, reviewer)
    store = blob_store(settings)
    blobs = {
        old_approved: _close(session_factory, old_approved, status="approved", days_ago=40, store=store),
        old_waiting: _close(session_factory, old_waiting, status="needs_review", days_ago=400, store=store),
        recent: _close(session_factory, recent, status="approved", days_ago=5, store=store),
        old_sharing: _close(session_factory, old_sharing, status="returned", days_ago=31, store=store),
    }
    shared = blobs[recent] & blobs[old_sharing]
    assert shared and all(store.exists(sha) for group in blobs.values() for sha in group)
    expected = (blobs[old_approved] | blobs[old_sharing]) - shared

    off = purge_expired_uploads(session_factory, store=store, retention_days=0)
    assert off.line() == "upload retention is off (HOTLINE_UPLOAD_RETENTION_DAYS=0): nothing purged"
    dry = purge_expired_uploads(session_factory, store=store, retention_days=30, dry_run=True)
    assert set(dry.references) == {old_approved, old_sharing} and dry.blobs_deleted == len(expected)
    assert dry.line().startswith("dry run: 2 submissions closed before") and "nothing deleted" in dry.line()
    assert all(store.exists(sha) for group in blobs.values() for sha in group)
    assert _submission(session_factory, old_approved).files_purged_at is None

    report = purge_expired_uploads(session_factory, store=store, retention_days=30)
    assert set(report.references) == {old_approved, old_sharing}
    assert (report.blobs_deleted, report.blobs_failed) == (len(expected), 0) and report.bytes_freed > 0
    assert report.line().startswith("purged 2 submissions closed before")
    assert not any(store.exists(sha) for sha in expected)
    assert all(store.exists(sha) for sha in blobs[recent] | blobs[old_waiting])
    purged = _submission(session_factory, old_approved)
    assert purged.files_purged_at is not None and purged.report is not None and len(purged.files) == 2
    assert _submission(session_factory, old_waiting).files_purged_at is None
    with session_scope(session_factory) as session:
        audited = session.scalars(select(AuditLog.target).where(AuditLog.action == PURGE_ACTION)).all()
    assert sorted(audited) == sorted(f"submission:{ref}" for ref in (old_approved, old_sharing))
    assert purge_expired_uploads(session_factory, store=store, retention_days=30).references == ()

    page = citizen.get(f"/submissions/{old_approved}")
    assert page.status_code == 200 and NOTICE in page.text and "/pages/0" not in page.text
    image = citizen.get(f"/submissions/{old_approved}/pages/0", headers={"accept": "application/json"})
    assert (image.status_code, image.json()["error"]["code"]) == (410, "files_purged")
    body = citizen.get(f"/api/v1/submissions/{old_approved}").json()
    assert body["pages"] == [] and body["files_purged_at"] is not None and body["findings"]
    assert citizen.get(f"/submissions/{recent}/pages/0").status_code == 200
    clerk = make_client("clerk_a")
    review = clerk.get(f"/review/{old_sharing}")
    assert review.status_code == 200 and NOTICE in review.text


def test_a_file_uploaded_again_while_the_purge_runs_is_kept(
    seeded: dict[str, str], app: FastAPI, make_client: Callable[[str | None], TestClient],
    settings: HotlineSettings, session_factory: sessionmaker[Session], reviewer: FakeReviewer,
) -> None:
    store = blob_store(settings)
    reference = _submit(make_client(None), 8)
    _drain(settings, session_factory, reviewer)
    blobs = _close(session_factory, reference, status="approved", days_ago=40, store=store)
    upload = sorted(_submission(session_factory, reference).files, key=lambda f: f.position)[0].sha256
    # A citizen uploads the same photo again: its bytes are stored, its submission not yet committed.
    with store.path(upload).open("rb") as same:
        store.put_file(same, upload)
    report = purge_expired_uploads(session_factory, store=store, retention_days=30)
    assert report.references == (reference,) and report.blobs_kept == 1 and report.blobs_deleted == len(blobs) - 1
    assert report.line().endswith("; 1 file kept: uploaded again meanwhile")
    assert store.exists(upload) and not any(store.exists(sha) for sha in blobs - {upload})


def test_files_nothing_refers_to_are_deleted_after_the_grace_period(
    seeded: dict[str, str], app: FastAPI, make_client: Callable[[str | None], TestClient],
    settings: HotlineSettings, session_factory: sessionmaker[Session], reviewer: FakeReviewer,
) -> None:
    store = blob_store(settings)
    live = _submit(make_client(None), 9)
    _drain(settings, session_factory, reviewer)
    live_blobs = _close(session_factory, live, status="approved", days_ago=2, store=store)
    # An upload whose transaction rolled back, long ago and just now; a purged submission whose files a
    # crash left on disk (its row is marked purged, the files were not deleted yet).
    rolled_back = store.put_bytes(b"rolled back upload")
    just_now = store.put_bytes(b"upload still committing")
    crashed = _submit(make_client(None), 10)
    _drain(settings, session_factory, reviewer)
    crashed_blobs = _close(session_factory, crashed, status="approved", days_ago=2, store=store)
    with session_scope(session_factory) as session:
        session.scalar(select(Submission).where(Submission.reference == crashed)).files_purged_at = utcnow()  # type: ignore[union-attr]
    aged = time.time() - UPLOAD_GRACE_S - 60
    os.utime(store.path(rolled_back), (aged, aged))
    orphans = {rolled_back} | crashed_blobs

    dry = purge_expired_uploads(session_factory, store=store, retention_days=30, dry_run=True)
    assert dry.orphans_deleted == len(orphans) and dry.orphan_bytes == sum(map(store.size, orphans))
    assert f"; {len(orphans)} unreferenced files (" in dry.line() and all(map(store.exists, orphans))
    report = purge_expired_uploads(session_factory, store=store, retention_days=30)
    assert report.references == () and report.orphans_deleted == len(orphans) and report.orphan_bytes == dry.orphan_bytes
    assert report.line().endswith(f"; {len(orphans)} unreferenced files ({report.orphan_bytes / 2**20:.1f} MiB) deleted")
    assert not any(map(store.exists, orphans))
    assert store.exists(just_now) and all(map(store.exists, live_blobs))


def test_the_store_deletes_a_blob_only_if_unused_since(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha256 = store.put_bytes(b"scan")
    assert store.delete(sha256, used_before=time.time() - 60) is None and store.read(sha256) == b"scan"
    os.utime(store.path(sha256), (time.time() - 120, time.time() - 120))
    store.put_bytes(b"scan")  # stored again: used now
    assert store.delete(sha256, used_before=time.time() - 60) is None
    assert store.delete(sha256, used_before=time.time() + 1) == 4 and not store.exists(sha256)
    assert store.delete(sha256) == 0
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_job_queue_purges_periodically_and_schedules_the_next_run(
    seeded: dict[str, str], app: FastAPI, make_client: Callable[[str | None], TestClient],
    settings: HotlineSettings, session_factory: sessionmaker[Session], reviewer: FakeReviewer,
    job_settings: JobSettings,
) -> None:
    def waiting() -> list[Job]:
        with session_scope(session_factory) as session:
            return list(session.scalars(select(Job).where(Job.kind == PURGE_JOB_KIND, Job.status == "pending")))

    assert len(waiting()) == 1, "the app's start scheduled one purge"
    delay = _seconds_from_now(waiting()[0].run_after)
    assert settings.upload_purge_interval_s - 60 < delay <= settings.upload_purge_interval_s
    with TestClient(build_app(settings, reviewer, job_settings, SubmissionSettings())):
        pass  # a second web process starting
    assert len(waiting()) == 1, "starting again does not add a second purge"

    citizen = make_client(None)
    reference = _submit(citizen, 6)
    _drain(settings, session_factory, reviewer)
    _close(session_factory, reference, status="pass", days_ago=settings.upload_retention_days + 1, store=blob_store(settings))
    first = waiting()[0]
    with session_scope(session_factory) as session:
        session.get(Job, first.id).run_after = utcnow() - dt.timedelta(seconds=1)  # type: ignore[union-attr]
    _drain(settings, session_factory, reviewer)
    assert _submission(session_factory, reference).files_purged_at is not None
    with session_scope(session_factory) as session:
        assert session.get(Job, first.id).status == "done"  # type: ignore[union-attr]
    following = waiting()
    assert len(following) == 1 and following[0].id != first.id
    assert _seconds_from_now(following[0].run_after) > settings.upload_purge_interval_s - 60


def test_the_purge_command_reports_one_line(
    seeded: dict[str, str], app: FastAPI, make_client: Callable[[str | None], TestClient],
    settings: HotlineSettings, session_factory: sessionmaker[Session], reviewer: FakeReviewer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    reference = _submit(make_client(None), 7)
    _drain(settings, session_factory, reviewer)
    _close(session_factory, reference, status="approved", days_ago=3, store=blob_store(settings))
    for name, value in {"ENVIRONMENT": "test", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": settings.resolved_database_url,
                        "DATA_DIR": str(settings.data_dir), "UPLOAD_RETENTION_DAYS": "2"}.items():
        monkeypatch.setenv(f"HOTLINE_{name}", value)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["hotline", "submissions", "purge", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        captured = capsys.readouterr()
        return int(exit_info.value.code or 0), captured.out, captured.err

    code, out, _ = run("--dry-run")
    assert code == 0 and out.startswith("dry run: 1 submission closed before") and out.count("\n") == 1
    assert _submission(session_factory, reference).files_purged_at is None
    code, out, _ = run()
    assert code == 0 and out.startswith("purged 1 submission closed before") and "(retention 2 days)" in out
    assert _submission(session_factory, reference).files_purged_at is not None
    monkeypatch.setenv("HOTLINE_UPLOAD_RETENTION_DAYS", "-1")
    code, out, err = run()
    assert code == 2 and out == "" and err.startswith("error: invalid setting HOTLINE_UPLOAD_RETENTION_DAYS")


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a SQLite file, or a fresh schema on PostgreSQL when the suite runs there."""
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    if not base:
        engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = f"hotline_migrate_{os.getpid()}_{tmp_path.name[-8:]}".lower().replace("-", "_")
    admin = create_db_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_db_engine(_postgres_schema_url(base, schema))
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.db
def test_the_retention_migration_adds_a_nullable_purge_mark(empty_engine: Engine) -> None:
    upgrade_database(empty_engine, "0003_prereview_submissions")
    assert "files_purged_at" not in {c["name"] for c in inspect(empty_engine).get_columns("submissions")}
    upgrade_database(empty_engine)
    columns = {c["name"]: c for c in inspect(empty_engine).get_columns("submissions")}
    assert columns["files_purged_at"]["nullable"] is True
