"""Every submissions route × every role, as documented in docs/review-queue.md."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.hotline.submissions.conftest import A_CODE, png_page, wait_finished

ROLES = ("anonymous", "owner", "clerk_a", "clerk_b", "admin")


def _upload(client: TestClient, api: bool) -> int:
    client.get(f"/apply/{A_CODE}")
    token = client.cookies["csrftoken"]
    response = client.post(
        "/api/v1/submissions" if api else f"/apply/{A_CODE}",
        data={"service": A_CODE, "csrftoken": token}, files=[("files", ("a.png", png_page(3), "image/png"))],
        headers={"x-csrftoken": token}, follow_redirects=False,
    )
    return response.status_code


def test_every_route_for_every_role(seeded: dict[str, str], make_client: Callable[[str | None], TestClient]) -> None:
    clients = {
        "anonymous": make_client(None), "owner": make_client(None), "clerk_a": make_client(seeded["clerk_a"]),
        "clerk_b": make_client(seeded["clerk_b"]), "admin": make_client(seeded["admin"]),
    }
    owner = clients["owner"]
    owner.get(f"/apply/{A_CODE}")
    created = owner.post(
        "/api/v1/submissions", data={"service": A_CODE}, files=[("files", ("a.png", png_page(1), "image/png"))],
        headers={"x-csrftoken": owner.cookies["csrftoken"]},
    ).json()
    ref = created["reference"]
    assert wait_finished(owner, ref)["status"] == "needs_fix"

    def get(path: str) -> dict[str, int]:
        return {role: clients[role].get(path, follow_redirects=False).status_code for role in ROLES}

    def decide(path: str, **kwargs: object) -> dict[str, int]:
        statuses = {}
        for role in ROLES:
            client = clients[role]
            token = client.cookies.get("csrftoken", "")
            if "json" in kwargs:
                response = client.post(path, json=kwargs["json"], headers={"x-csrftoken": token}, follow_redirects=False)
            else:
                response = client.post(path, data={**kwargs["data"], "csrftoken": token}, follow_redirects=False)  # type: ignore[dict-item]
            statuses[role] = response.status_code
        return statuses

    def expect(anonymous: int, owner_: int, clerk_a: int, clerk_b: int, admin: int) -> dict[str, int]:
        return dict(zip(ROLES, (anonymous, owner_, clerk_a, clerk_b, admin), strict=True))

    assert get(f"/apply/{A_CODE}") == expect(200, 200, 200, 200, 200)
    assert {role: _upload(clients[role], api=False) for role in ROLES} == expect(303, 303, 403, 403, 403)
    assert {role: _upload(clients[role], api=True) for role in ROLES} == expect(202, 202, 403, 403, 403)
    assert get("/submissions") == expect(200, 200, 200, 200, 200)
    assert get(f"/submissions/{ref}") == expect(404, 200, 404, 404, 404)
    assert get(f"/api/v1/submissions/{ref}") == expect(404, 200, 404, 404, 404)
    assert get(f"/submissions/{ref}/pages/0") == expect(404, 200, 200, 403, 200)
    assert get(f"/submissions/{ref}/pages/9") == expect(404, 404, 404, 403, 404)
    assert get("/review") == expect(303, 303, 200, 200, 200)
    assert get("/api/v1/review/submissions") == expect(401, 401, 200, 200, 200)
    assert get(f"/review/{ref}") == expect(303, 303, 200, 403, 200)
    assert get(f"/api/v1/review/submissions/{ref}") == expect(401, 401, 200, 403, 200)
    assert get("/api/v1/review/export.jsonl") == expect(401, 401, 200, 200, 200)
    assert decide(f"/review/{ref}/findings/0", data={"decision": "accepted"}) == expect(303, 303, 303, 403, 303)
    assert decide(f"/api/v1/review/submissions/{ref}/findings/0", json={"decision": "accepted"}) == expect(
        401, 401, 200, 403, 200
    )
    assert get("/submissions/no-such-reference") == expect(404, 404, 404, 404, 404)
    assert clients["admin"].get("/review/no-such-reference").status_code == 404
