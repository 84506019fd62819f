"""Every route × every role: the expected status. A new route without an entry here fails the test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from hotline.submissions import router as submissions_router
from tests.hotline.conftest import DEPT_A, DEPT_B

ROLES = ("anonymous", "citizen", "clerk_a", "clerk_b", "admin")
LOGIN = "login"  # 303 to the sign-in page
A_CODE = "mzj-jhdj"  # a service of DEPT_A
B_CODE = "gaj-sfz-hl"  # a service of DEPT_B (checked in the test)


def everyone(status: int | str) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, status)


def staff_only(anonymous: int | str, admin: int, clerk_a: int, clerk_b: int) -> dict[str, int | str]:
    return {"anonymous": anonymous, "citizen": anonymous, "clerk_a": clerk_a, "clerk_b": clerk_b, "admin": admin}


def _service_body(client: TestClient, code: str, name_suffix: str) -> dict[str, Any]:
    data = TestClient.get(client, f"/api/v1/services/{code}").json()["service"]
    return {**data, "name": data["name"] + name_suffix}


# (method, route path) → list of (concrete path, request kind, expected status by role)
MATRIX: dict[tuple[str, str], list[tuple[str, str, dict[str, int | str]]]] = {
    ("GET", "/healthz"): [("/healthz", "plain", everyone(200))],
    ("GET", "/"): [("/", "plain", everyone(200))],
    ("GET", "/departments/{department}"): [(f"/departments/{DEPT_A}", "plain", everyone(200))],
    ("GET", "/guides/{code}"): [(f"/guides/{A_CODE}", "plain", everyone(200))],
    ("GET", "/guides/{code}/v/{version}"): [(f"/guides/{A_CODE}/v/1", "plain", everyone(200))],
    ("GET", "/guides/{code}/versions"): [(f"/guides/{A_CODE}/versions", "plain", everyone(200))],
    ("GET", "/guides/{code}/checklist"): [(f"/guides/{A_CODE}/checklist?is_agent=1", "plain", everyone(200))],
    ("GET", "/search"): [("/search?q=结婚", "plain", everyone(200))],
    ("GET", "/login"): [("/login", "plain", everyone(200))],
    ("POST", "/login"): [("/login", "bad_login", everyone(401))],
    ("POST", "/logout"): [("/logout", "form", everyone(303))],
    ("GET", "/console"): [("/console", "plain", staff_only(LOGIN, 200, 200, 200))],
    ("GET", "/admin/guides/{code}/edit"): [
        (f"/admin/guides/{A_CODE}/edit", "plain", staff_only(LOGIN, 200, 200, 403)),
        (f"/admin/guides/{B_CODE}/edit", "plain", staff_only(LOGIN, 200, 403, 200)),
    ],
    ("POST", "/admin/guides/{code}/edit"): [
        (f"/admin/guides/{A_CODE}/edit", "edit_form", staff_only(LOGIN, 303, 303, 403)),
        (f"/admin/guides/{B_CODE}/edit", "edit_form", staff_only(LOGIN, 303, 403, 303)),
    ],
    ("GET", "/api/v1/services"): [("/api/v1/services", "plain", everyone(200))],
    ("GET", "/api/v1/services/{code}"): [(f"/api/v1/services/{A_CODE}", "plain", everyone(200))],
    ("GET", "/api/v1/services/{code}/versions"): [(f"/api/v1/services/{A_CODE}/versions", "plain", everyone(200))],
    ("GET", "/api/v1/services/{code}/versions/{version}"): [
        (f"/api/v1/services/{A_CODE}/versions/1", "plain", everyone(200))
    ],
    ("GET", "/api/v1/search"): [("/api/v1/search?q=身份证", "plain", everyone(200))],
    ("GET", "/api/v1/departments"): [("/api/v1/departments", "plain", everyone(200))],
    ("GET", "/api/v1/me"): [("/api/v1/me", "plain", everyone(200))],
    ("POST", "/api/v1/services"): [("/api/v1/services", "api_create", staff_only(401, 201, 403, 403))],
    ("PUT", "/api/v1/services/{code}"): [
        (f"/api/v1/services/{A_CODE}", "api_put", staff_only(401, 200, 200, 403)),
        (f"/api/v1/services/{B_CODE}", "api_put", staff_only(401, 200, 403, 200)),
    ],
    ("GET", "/api/v1/departments/{department}/audit"): [
        (f"/api/v1/departments/{DEPT_A}/audit", "plain", staff_only(401, 200, 200, 403)),
        (f"/api/v1/departments/{DEPT_B}/audit", "plain", staff_only(401, 200, 403, 200)),
    ],
    # No model is promoted in the probe app's data dir: everyone gets the stable 503 (see test_intent.py).
    ("POST", "/api/v1/intent"): [("/api/v1/intent", "api_intent", everyone(503))],
    ("GET", "/openapi.json"): [("/openapi.json", "plain", everyone(200))],
    ("GET", "/docs"): [("/docs", "plain", everyone(200))],
    ("GET", "/docs/oauth2-redirect"): [("/docs/oauth2-redirect", "plain", everyone(200))],
    ("GET", "/redoc"): [("/redoc", "plain", everyone(200))],
    ("MOUNT", "/static/guides"): [("/static/guides/guides.css", "plain", everyone(200))],
    ("MOUNT", "/static/hotline"): [("/static/hotline/hotline.css", "plain", everyone(200))],
}


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, path) the app serves; mounts count once."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            found.add(("MOUNT", route.path))
        elif isinstance(route, APIRoute | Route):
            found.update((method, context.path) for method in (context.methods or set()) - {"HEAD"})
        else:
            raise AssertionError(f"unknown route type {type(route).__name__}: add it to the probe matrix")
    return found


# Every pre-review submission route × role is probed by tests/hotline/submissions/test_access.py.
SUBMISSION_ROUTES = {
    (method, route.path)
    for route in submissions_router.routes
    if isinstance(route, APIRoute)
    for method in route.methods - {"HEAD"}
}


def test_every_route_is_in_the_matrix(app) -> None:  # type: ignore[no-untyped-def]
    routes = app_routes(app) - SUBMISSION_ROUTES
    missing = routes - MATRIX.keys()
    stale = MATRIX.keys() - routes
    assert not missing, f"routes without a probe-matrix entry: {sorted(missing)}"
    assert not stale, f"probe-matrix entries for routes that no longer exist: {sorted(stale)}"


def _csrf(client: TestClient) -> str:
    return client.get("/api/v1/me").json()["csrf_token"]


def _request(client: TestClient, method: str, path: str, kind: str, marker: str) -> Any:
    if kind == "plain":
        return client.request(method, path, follow_redirects=False)
    token = _csrf(client)
    if kind == "bad_login":
        data = {"username": "no-such-user", "password": "not-the-password", "csrftoken": token}
        return client.post(path, data=data, follow_redirects=False)
    if kind == "form":
        return client.post(path, data={"csrftoken": token}, follow_redirects=False)
    if kind == "edit_form":
        code = path.split("/")[3]
        service = client.get(f"/api/v1/services/{code}").json()["service"]
        data = {
            "csrftoken": token,
            "name": service["name"] + marker,
            "department": service["department"],
            "aliases": "",
            "conditions": "",
            "promised_working_days": "",
            "consultation_phone": "",
            "materials": "",
        }
        return client.post(path, data=data, follow_redirects=False)
    headers = {"X-CSRFToken": token}
    if kind == "api_create":
        body = {**client.get(f"/api/v1/services/{A_CODE}").json()["service"], "code": f"new-{marker}"}
        return client.post(path, json=body, headers=headers)
    if kind == "api_intent":
        return client.post(path, json={"texts": ["我想办营业执照"]}, headers=headers)
    if kind == "api_put":
        code = path.rsplit("/", 1)[1]
        return client.put(path, json=_service_body(client, code, marker), headers=headers)
    raise AssertionError(kind)


def test_probe_matrix(app, seeded, make_client: Callable[[str | None], TestClient]) -> None:  # type: ignore[no-untyped-def]
    anonymous = make_client(None)
    assert anonymous.get(f"/api/v1/services/{B_CODE}").json()["department"] == DEPT_B
    clients = {
        "citizen": make_client(None),
        "clerk_a": make_client(seeded["clerk_a"]),
        "clerk_b": make_client(seeded["clerk_b"]),
        "admin": make_client(seeded["admin"]),
    }
    clients["citizen"].get("/")  # starts the anonymous citizen session
    assert clients["citizen"].cookies.get("hotline_session")
    failures = []
    for (method, _route), cases in sorted(MATRIX.items(), key=lambda item: item[0][1] == "/logout"):
        for path, kind, expected in cases:
            for index, role in enumerate(ROLES):
                client = make_client(None) if role == "anonymous" else clients[role]
                if role != "anonymous" and kind == "form":
                    client = make_client(seeded[role]) if role in seeded else clients[role]
                response = _request(client, "GET" if method == "MOUNT" else method, path, kind, f"-{role}{index}")
                want = expected[role]
                if want == LOGIN:
                    ok = response.status_code == 303 and response.headers["location"].startswith("/login")
                else:
                    ok = response.status_code == want
                    if ok and response.status_code == 303 and kind == "edit_form":
                        ok = not response.headers["location"].startswith("/login")
                if not ok:
                    failures.append(f"{role:9} {method} {path}: got {response.status_code}, want {want}")
    assert not failures, "\n".join(failures)


def test_clerk_cannot_move_service_to_other_department(seeded, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(seeded["clerk_a"])
    body = _service_body(client, A_CODE, "")
    body["department"] = DEPT_B
    response = client.put(f"/api/v1/services/{A_CODE}", json=body, headers={"X-CSRFToken": _csrf(client)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.get(f"/api/v1/services/{A_CODE}").json()["version"] == 1


def test_clerk_console_shows_only_own_departments(seeded, make_client) -> None:  # type: ignore[no-untyped-def]
    page = make_client(seeded["clerk_a"]).get("/console").text
    assert DEPT_A in page
    assert DEPT_B not in page
