"""Pages, API, sign-in, CSRF, errors, edits through the form and the API, upload limit, log masking."""

from __future__ import annotations

import logging

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from hotline import create_app
from hotline.logging_filters import MaskPersonalNumbersFilter, mask_personal_numbers
from tests.hotline.conftest import DEPT_A, PASSWORD, login

CODE = "mzj-jhdj"


def test_index_lists_departments_and_services(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/")
    assert page.status_code == 200
    assert DEPT_A in page.text and "内地居民结婚登记" in page.text
    assert '<html lang="zh-CN">' in page.text
    assert client.cookies.get("hotline_session"), "a citizen gets an anonymous session"
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-request-id"]


def test_guide_search_and_checklist_pages(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    guide = client.get(f"/guides/{CODE}")
    assert guide.status_code == 200 and "申请材料" in guide.text
    search = client.get("/search", params={"q": "结婚"})
    assert f"/guides/{CODE}" in search.text
    plain = client.get("/guides/gaj-hk-qr-tk/checklist").text
    agent = client.get("/guides/gaj-hk-qr-tk/checklist", params={"is_agent": "1"}).text
    assert "委托他人代为办理" in agent
    assert agent.count("<tr") > plain.count("<tr"), "an agent needs more materials"


def test_api_reads(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    listing = client.get("/api/v1/services").json()
    assert listing["total"] >= 20 and listing["items"][0]["version"] == 1
    one = client.get(f"/api/v1/services/{CODE}").json()
    assert one["service"]["code"] == CODE and one["is_current"] is True
    hits = client.get("/api/v1/search", params={"q": "领结婚证"}).json()
    assert hits[0]["code"] == CODE
    assert {d["department"] for d in client.get("/api/v1/departments").json()} >= {DEPT_A}
    assert "/api/v1/services/{code}" in client.get("/openapi.json").json()["paths"]


def test_api_errors_are_json_with_stable_codes(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    missing = client.get("/api/v1/services/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "service_not_found"
    assert client.get(f"/api/v1/services/{CODE}/versions/7").json()["error"]["code"] == "service_not_found"
    bad = client.get("/api/v1/search")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"
    assert client.get("/api/v1/nothing-here").json()["error"]["code"] == "not_found"


def test_html_errors_are_chinese_pages(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/guides/nope")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "未找到事项" in page.text and "service_not_found" in page.text


def test_unexpected_error_gives_generic_page_with_request_id(app, seeded, caplog) -> None:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals 13812345678")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        page = client.get("/boom")
    assert page.status_code == 500
    assert "系统暂时无法处理" in page.text and "secret internals" not in page.text
    assert "请求编号" in page.text
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def test_login_logout_and_wrong_password(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    token = client.cookies["csrftoken"]
    wrong = client.post("/login", data={"username": "admin1", "password": "nope-nope-nope", "csrftoken": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    login(client, "admin1")
    assert client.get("/api/v1/me").json()["username"] == "admin1"
    client.post("/logout", data={"csrftoken": token})
    assert client.get("/api/v1/me").json()["kind"] == "citizen"


def test_login_redirect_stays_on_site(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "admin1",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrftoken": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console"


def test_form_post_without_csrf_token_is_refused(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    response = client.post(f"/admin/guides/{CODE}/edit", data={"name": "x", "department": DEPT_A})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_api_write_needs_csrf_header_with_session(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    body = client.get(f"/api/v1/services/{CODE}").json()["service"]
    assert client.put(f"/api/v1/services/{CODE}", json=body).status_code == 403
    token = client.get("/api/v1/me").json()["csrf_token"]
    ok = client.put(f"/api/v1/services/{CODE}", json={**body, "name": "新名称"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.json()["version"] == 2


def test_admin_edits_through_form_and_old_version_still_renders(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "admin1")
    form = client.get(f"/admin/guides/{CODE}/edit")
    assert form.status_code == 200 and "保存为新版本" in form.text
    data = {
        "csrftoken": token,
        "name": "内地居民结婚登记（2026版）",
        "department": DEPT_A,
        "aliases": "领结婚证\n扯证",
        "conditions": "双方自愿",
        "promised_working_days": "0",
        "consultation_phone": "0000-1",
        "materials": "- id: id_cards\n  name: 双方身份证\n",
    }
    saved = client.post(f"/admin/guides/{CODE}/edit", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text[-3000:]
    assert saved.status_code == 303 and saved.headers["location"] == f"/guides/{CODE}/v/2"
    assert "（2026版）" in client.get(f"/guides/{CODE}").text
    old = client.get(f"/guides/{CODE}/v/1").text
    assert "（2026版）" not in old and "历史版本" in old
    assert "第 2 版" in client.get(f"/guides/{CODE}/versions").text
    audit = client.get(f"/api/v1/departments/{DEPT_A}/audit").json()
    assert audit[0]["action"] == "service_edited" and audit[0]["actor"] == "admin1"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("promised_working_days", "三天", "整数"),
        ("materials", "- id: [", "YAML"),
        ("materials", "- id: Bad Id\n  name: x", "materials"),
    ],
)
def test_form_errors_are_shown_and_nothing_stored(
    client: TestClient, seeded, field: str, value: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "admin1")
    data = {
        "csrftoken": token,
        "name": "n",
        "department": DEPT_A,
        "aliases": "",
        "conditions": "",
        "promised_working_days": "",
        "consultation_phone": "",
        "materials": "",
        field: value,
    }
    response = client.post(f"/admin/guides/{CODE}/edit", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert client.get(f"/api/v1/services/{CODE}").json()["version"] == 1


def test_api_create_and_duplicate(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    token = client.get("/api/v1/me").json()["csrf_token"]
    body = {**client.get(f"/api/v1/services/{CODE}").json()["service"], "code": "new-service"}
    assert client.post("/api/v1/services", json=body, headers={"X-CSRFToken": token}).status_code == 201
    again = client.post("/api/v1/services", json=body, headers={"X-CSRFToken": token})
    assert again.status_code == 409 and again.json()["error"]["code"] == "service_exists"
    invalid = client.put(
        f"/api/v1/services/{CODE}", json={**body, "code": CODE, "bogus": 1}, headers={"X-CSRFToken": token}
    )
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_failed"


def test_upload_limit(settings, seeded) -> None:  # type: ignore[no-untyped-def]
    settings.max_upload_mb = 1
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/services", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413


def test_log_filter_masks_id_and_phone_numbers() -> None:
    assert (
        mask_personal_numbers("身份证44010619900101123X，手机13812345678")
        == "身份证440106********123X，手机138****5678"
    )
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "caller %s", ("13812345678",), None)
    MaskPersonalNumbersFilter().filter(record)
    assert record.getMessage() == "caller 138****5678"
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/search?q=13812345678", "1.1", 200),
        None,
    )
    MaskPersonalNumbersFilter().filter(access)
    assert access.args == ("127.0.0.1:5000", "GET", "/search?q=138****5678", "1.1", 200)


def test_large_catalog_home_lists_departments(settings, seeded) -> None:  # type: ignore[no-untyped-def]
    settings.index_full_list_max = 5
    with TestClient(create_app(settings)) as client:
        home = client.get("/").text
        assert "按部门浏览" in home and "内地居民结婚登记" not in home
        department = client.get(f"/departments/{DEPT_A}")
        assert department.status_code == 200 and "内地居民结婚登记" in department.text
        assert client.get("/departments/不存在的部门").status_code == 404


def test_api_pages_through_services(client: TestClient, seeded, settings) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/api/v1/services").json()
    codes = [item["code"] for item in first["items"]]
    page_size = settings.page_size
    assert first["total"] == len(codes) or len(codes) == page_size
    empty = client.get("/api/v1/services", params={"page": 99}).json()
    assert empty["items"] == [] and empty["total"] == first["total"]
    one_department = client.get("/api/v1/services", params={"department": DEPT_A}).json()
    assert {item["department"] for item in one_department["items"]} == {DEPT_A}


def test_search_warmup_builds_the_index(app, seeded) -> None:  # type: ignore[no-untyped-def]
    with app.state.session_factory() as session:
        assert app.state.search.warm(session) >= 20


def test_repeated_wrong_passwords_lock_the_username(settings, seeded) -> None:  # type: ignore[no-untyped-def]
    settings.login_max_failures = 2
    with TestClient(create_app(settings)) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        for _ in range(2):
            wrong = client.post(
                "/login", data={"username": "clerk_a", "password": "wrong-password", "csrftoken": token}
            )
            assert wrong.status_code == 401
        locked = client.post("/login", data={"username": "clerk_a", "password": PASSWORD, "csrftoken": token})
        assert locked.status_code == 429 and "登录失败次数过多" in locked.text
        login(client, "clerk_b")  # other usernames are not affected


def test_staff_page_redirects_to_login_and_back(client: TestClient, seeded) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/admin/guides/{CODE}/edit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=%2Fadmin%2Fguides%2F{CODE}%2Fedit"
    client.get(response.headers["location"])
    signed_in = client.post(
        "/login",
        data={
            "username": "clerk_a",
            "password": PASSWORD,
            "next": f"/admin/guides/{CODE}/edit",
            "csrftoken": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == f"/admin/guides/{CODE}/edit"
    form = client.get(signed_in.headers["location"]).text
    assert "readonly" in form and "部门工作人员不能把事项移到其他部门" in form
