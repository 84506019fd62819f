"""End to end: citizen upload → in-process pre-review → result → clerk decisions → audit → export."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.catalog import edit_service
from hotline.db import session_scope
from hotline.models import AuditLog
from hotline.submissions import ReviewDecision, Submission
from tests.hotline.submissions.conftest import A_CODE, LOW_CONFIDENCE_BOX, VALID_ID, png_page, wait_finished

MASKED_ID = "1101**********002X"
PHONE = "13812345678"


def _upload(citizen: TestClient, **extra: str) -> str:
    citizen.get(f"/apply/{A_CODE}")
    fields = {"csrftoken": citizen.cookies["csrftoken"], "name": "张三", "id_number": VALID_ID, "phone": PHONE, **extra}
    response = citizen.post(
        f"/apply/{A_CODE}",
        data=fields,
        files=[("files", ("id-front.png", png_page(1), "image/png")), ("files", ("photo.png", png_page(2), "image/png"))],
        headers={"x-csrftoken": citizen.cookies["csrftoken"]},  # asgi-csrf 0.11 cannot parse multipart bodies
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def test_citizen_to_clerk_to_export(
    seeded: dict[str, str], make_client: Callable[[str | None], TestClient], session_factory: sessionmaker[Session]
) -> None:
    citizen = make_client(None)
    form = citizen.get(f"/apply/{A_CODE}")
    assert form.status_code == 200
    assert '<label for="field-files">' in form.text and "在线预审" in form.text
    reference = _upload(citizen)

    result = wait_finished(citizen, reference)
    assert result["status"] == "needs_fix", result
    assert result["form"]["id_number"] == MASKED_ID and result["form"]["phone"] == "138****5678"
    codes = [f["code"] for f in result["findings"]]
    assert codes == ["material_missing", "low_confidence"]
    assert result["findings"][0]["message"].startswith("缺少材料：")
    assert result["findings"][0]["detail"] is None and result["findings"][1]["confidence"] is None
    assert [(p["file"], p["page"], p["width"], p["height"]) for p in result["pages"]] == [
        ("id-front.png", 1, 800, 1000), ("photo.png", 1, 800, 1000)
    ]
    assert {m["material"]: m["status"] for m in result["materials"]} == {
        "id_cards": "ok", "photos": "ok", "declaration": "missing"
    }

    page = citizen.get(f"/submissions/{reference}")
    assert page.status_code == 200
    assert 'viewBox="0 0 800 1000"' in page.text
    x0, y0, x1, y1 = LOW_CONFIDENCE_BOX
    assert f'x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}"' in page.text
    assert "身份证照片上的姓名识别不清" in page.text and "您的材料清单" in page.text
    assert "status--missing" in page.text and MASKED_ID in page.text
    assert VALID_ID not in page.text and PHONE not in page.text
    image = citizen.get(result["pages"][0]["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert citizen.get("/submissions").text.count(reference) >= 1

    stranger = make_client(None)
    assert stranger.get(f"/api/v1/submissions/{reference}").status_code == 404
    assert stranger.get(f"/submissions/{reference}").status_code == 404
    assert stranger.get(result["pages"][0]["image_url"]).status_code == 404

    clerk_a = make_client(seeded["clerk_a"])
    queue = clerk_a.get("/review")
    assert queue.status_code == 200 and reference in queue.text
    assert MASKED_ID in queue.text and VALID_ID not in queue.text
    detail = clerk_a.get(f"/review/{reference}")
    assert detail.status_code == 200
    assert VALID_ID in detail.text and PHONE in detail.text, "the department's clerk sees the full numbers"
    assert "ocr mean confidence 0.41" in detail.text
    assert clerk_a.get(result["pages"][0]["image_url"]).status_code == 200

    token = clerk_a.cookies["csrftoken"]
    no_csrf = clerk_a.post(f"/review/{reference}/findings/1", data={"decision": "overridden", "reason": "x"})
    assert no_csrf.status_code == 403
    no_reason = clerk_a.post(
        f"/review/{reference}/findings/1", data={"decision": "overridden", "reason": " ", "csrftoken": token}
    )
    assert no_reason.status_code == 422
    override = clerk_a.post(
        f"/review/{reference}/findings/1",
        data={"decision": "overridden", "reason": "照片清晰，姓名可辨认", "csrftoken": token},
        follow_redirects=False,
    )
    assert override.status_code == 303
    api = clerk_a.post(
        f"/api/v1/review/submissions/{reference}/findings/0",
        json={"decision": "accepted", "reason": "确实缺少声明书"},
        headers={"x-csrftoken": token},
    )
    assert api.status_code == 200, api.text
    assert api.json()["submission_status"] == "returned"
    assert api.json()["before"] == {"status": "needs_fix", "decision": None}

    with session_scope(session_factory) as session:
        submission = session.scalar(select(Submission).where(Submission.reference == reference))
        assert submission is not None and submission.status == "returned"
        rows = session.scalars(select(ReviewDecision).order_by(ReviewDecision.id)).all()
        assert [(r.actor, r.finding_code, r.decision) for r in rows] == [
            ("clerk_a", "low_confidence", "overridden"), ("clerk_a", "material_missing", "accepted")
        ]
        assert rows[0].reason == "照片清晰，姓名可辨认" and rows[0].after["decision"] == "overridden"
        actions = session.scalars(select(AuditLog.action).where(AuditLog.target == f"submission:{reference}")).all()
        assert sorted(actions) == ["finding_accepted", "finding_overridden"]

    citizen_view = wait_finished(citizen, reference)
    assert citizen_view["status"] == "returned"
    assert [f["code"] for f in citizen_view["findings"]] == ["material_missing"], "overridden findings are hidden"

    export = clerk_a.get("/api/v1/review/export.jsonl")
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [(x["finding_code"], x["decision"], x["label"]) for x in lines] == [
        ("low_confidence", "overridden", "false_positive"), ("material_missing", "accepted", "true_positive")
    ]
    assert lines[0]["page"] == 1 and lines[0]["bbox"] == LOW_CONFIDENCE_BOX and lines[0]["confidence"] == 0.41
    assert lines[0]["reason"] == "照片清晰，姓名可辨认" and len(lines[0]["file_sha256"]) == 64
    assert make_client(seeded["clerk_b"]).get("/api/v1/review/export.jsonl").text == ""
    assert len(make_client(seeded["admin"]).get("/api/v1/review/export.jsonl").text.splitlines()) == 2
    assert make_client(None).get("/api/v1/review/export.jsonl").status_code == 401


def test_other_departments_clerk_is_refused(
    seeded: dict[str, str], make_client: Callable[[str | None], TestClient]
) -> None:
    reference = _upload(make_client(None))
    clerk_b = make_client(seeded["clerk_b"])
    assert reference not in clerk_b.get("/review").text
    assert clerk_b.get("/api/v1/review/submissions").json() == []
    assert clerk_b.get(f"/review/{reference}").status_code == 403
    assert clerk_b.get(f"/api/v1/review/submissions/{reference}").status_code == 403
    assert clerk_b.get(f"/submissions/{reference}/pages/0").status_code == 403
    decision = clerk_b.post(
        f"/api/v1/review/submissions/{reference}/findings/0", json={"decision": "accepted"},
        headers={"x-csrftoken": clerk_b.cookies["csrftoken"]},
    )
    assert decision.status_code == 403
    assert decision.json()["error"]["code"] == "permission_denied"

    admin = make_client(seeded["admin"])
    body = admin.get(f"/api/v1/review/submissions/{reference}").json()
    assert body["form"]["id_number"] == MASKED_ID, "only the department's clerk sees the full number"
    assert [s["reference"] for s in admin.get("/api/v1/review/submissions?flag=needs_fix").json()] == [reference]
    assert admin.get("/api/v1/review/submissions?flag=bogus").json()["error"]["code"] == "validation_failed"


def test_a_submission_keeps_its_service_version(
    seeded: dict[str, str], make_client: Callable[[str | None], TestClient], session_factory: sessionmaker[Session]
) -> None:
    citizen = make_client(None)
    reference = _upload(citizen)
    wait_finished(citizen, reference)
    with session_scope(session_factory) as session:
        edit_service(session, code=A_CODE, changes={"name": "结婚登记新版名称"}, actor="admin1")
    body = citizen.get(f"/api/v1/submissions/{reference}").json()
    assert (body["service_version"], body["service_name"]) == (1, "内地居民结婚登记")
    page = citizen.get(f"/submissions/{reference}")
    assert "办事指南第 1 版" in page.text and "结婚登记新版名称" not in page.text
