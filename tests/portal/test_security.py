"""The portal's security contract: CSRF on every POST, lockout, 401/403/404, sessions, headers, the audit log."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from portal.helpers import PASSWORD, csrf_of, login, make_portal, session_csrf, upload
from starlette.routing import Route

from jianfu_portal.app import CSP


@pytest.fixture
def app(tmp_path, clock):
    return make_portal(tmp_path, clock=clock)


def _post_routes(app) -> list[str]:
    return sorted(
        r.path.replace("{wave}", "2026-11")
        for r in app.routes
        if isinstance(r, Route) and "POST" in (r.methods or set())
    )


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(app):
    routes = _post_routes(app)
    # The forms and API all post; a new POST route is checked here automatically.
    assert {"/login", "/logout", "/upload", "/api/uploads", "/waves/2026-11/reanalyse"} <= set(routes)
    anonymous = TestClient(app)
    anonymous.get("/login")  # the pre-login cookie is set: only the token is missing or wrong
    for token in (None, "forged"):
        data = {"username": "城关镇", "password": PASSWORD} | ({"csrf_token": token} if token else {})
        assert anonymous.post("/login", data=data).status_code == 403
    # A token from one browser's login page does not work with another browser's cookie.
    other = TestClient(app)
    other.get("/login")
    stolen = csrf_of(anonymous.get("/login").text)
    assert (
        other.post("/login", data={"username": "城关镇", "password": PASSWORD, "csrf_token": stolen}).status_code == 403
    )

    for name in ("城关镇", "研究员"):  # an office and a researcher: every route is reachable by one of them
        client = TestClient(app)
        assert login(client, name).status_code == 303
        for path in routes:
            if path == "/login":
                continue
            for headers, data in (({}, {}), ({"X-CSRF-Token": "forged"}, {"csrf_token": "forged"})):
                r = client.post(path, headers=headers, data=data, files=[("files", ("a.csv", b"x,y\n1,2\n"))])
                assert r.status_code in (403,), (name, path, r.status_code, r.text[:200])
        # Still logged in, nothing received.
        assert client.get("/api/me").status_code == 200
    assert app.state.portal.uploads.list() == []


def test_login_with_the_right_token_works_and_opens_a_strict_httponly_session(app):
    client = TestClient(app)
    r = login(client, "城关镇")
    assert r.status_code == 303 and r.headers["location"] == "/upload"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("jianfu_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.get("/api/me").json()["office"] == "城关镇"


def test_behind_https_cookies_are_secure_host_prefixed_and_hsts_is_sent(tmp_path):
    client = TestClient(make_portal(tmp_path, secure_cookies=True), base_url="https://portal.example")
    r = login(client, "城关镇")
    cookie = next(c for c in r.headers.get_list("set-cookie") if "jianfu_session=" in c)
    assert cookie.startswith("__Host-jianfu_session=") and "Secure" in cookie
    assert client.get("/upload").headers["strict-transport-security"].startswith("max-age=")


def test_five_failures_lock_the_name_for_fifteen_minutes_with_429(app, clock):
    client = TestClient(app)
    codes = [login(client, "城关镇", f"wrong-password-{k}").status_code for k in range(5)]
    assert codes == [401] * 5
    locked = login(client, "城关镇")  # even the right password
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 900
    assert "锁定" in locked.text
    # The lock is per name (as typed, case and width folded), not per client: another browser is locked too,
    # another office is not.
    assert login(TestClient(app), " 城关镇").status_code == 429
    assert login(TestClient(app), "东城街道").status_code == 303
    clock.advance(14 * 60)
    assert login(client, "城关镇").status_code == 429
    clock.advance(61)
    assert login(client, "城关镇").status_code == 303


def test_failures_spread_beyond_the_window_do_not_lock(app, clock):
    client = TestClient(app)
    for _ in range(4):
        assert login(client, "城关镇", "nope-nope-nope").status_code == 401
    clock.advance(16 * 60)
    assert login(client, "城关镇", "nope-nope-nope").status_code == 401
    assert login(client, "城关镇").status_code == 303


def test_unauthenticated_api_is_401_and_pages_redirect_to_login(app):
    client = TestClient(app)
    for method, path in (
        ("get", "/api/uploads"),
        ("get", "/api/uploads/0123456789ab"),
        ("get", "/api/me"),
        ("get", "/api/waves"),
    ):
        assert getattr(client, method)(path).status_code == 401
    r = client.post("/api/uploads", files=[("files", ("a.csv", b"a\n1\n"))], headers={"X-CSRF-Token": "x"})
    assert r.status_code == 401
    r = client.get("/uploads", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/uploads")
    # A forged or altered session cookie is no session.
    client.cookies.set("jianfu_session", "forged.cookie.value")
    assert client.get("/api/uploads").status_code == 401


def test_an_office_sees_only_its_own_uploads_and_404_for_others(app, small_surveys):
    a, b, researcher = TestClient(app), TestClient(app), TestClient(app)
    login(a, "城关镇"), login(b, "东城街道"), login(researcher, "研究员")
    [item] = upload(a, [("a.csv", small_surveys["csv"].read_bytes())]).json()
    assert a.get(f"/api/uploads/{item['id']}").status_code == 200
    assert b.get(f"/api/uploads/{item['id']}").status_code == 404
    assert b.get(f"/uploads/{item['id']}").status_code == 404
    assert b.get("/api/uploads").json() == []
    assert b.get("/api/uploads", params={"office": "城关镇"}).json() == []  # the filter is for researchers only
    assert item["sha256"] not in b.get("/uploads").text
    # Not even the result page of A's upload batch.
    token = csrf_of(a.get("/upload").text)
    batch = a.post(
        "/upload",
        data={"csrf_token": token},
        files=[("files", ("b.xlsx", small_surveys["wjx-text"].read_bytes()))],
        follow_redirects=False,
    )
    assert b.get(batch.headers["location"]).status_code == 404
    assert a.get(batch.headers["location"]).status_code == 200
    # The researcher sees every office; offices may not open the researchers' pages.
    assert {u["office"] for u in researcher.get("/api/uploads").json()} == {"城关镇"}
    assert researcher.get(f"/api/uploads/{item['id']}").status_code == 200
    assert b.get("/waves").status_code == 403 and b.get("/api/waves").status_code == 403


def test_researchers_do_not_upload(app, small_surveys):
    client = TestClient(app)
    login(client, "研究员")
    assert upload(client, [("a.csv", small_surveys["csv"].read_bytes())]).status_code == 403


def test_security_headers_on_every_page(app):
    client = TestClient(app)
    for path in ("/login", "/static/portal.css", "/nowhere"):
        h = client.get(path).headers
        assert h["content-security-policy"] == CSP and "frame-ancestors 'none'" in CSP
        assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    # No inline script or style anywhere in the pages the CSP would have to allow.
    login(client, "城关镇")
    for path in ("/login", "/upload", "/uploads"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html and " style=" not in html
        assert " on" + "click=" not in html


def test_idle_sessions_end_and_logout_ends_the_session_for_good(app, clock):
    client = TestClient(app)
    login(client, "城关镇")
    cookie = client.cookies.get("jianfu_session")
    clock.advance(29 * 60)
    assert client.get("/api/me").status_code == 200  # activity restarts the idle clock
    clock.advance(29 * 60)
    assert client.get("/api/me").status_code == 200
    clock.advance(31 * 60)
    assert client.get("/api/me").status_code == 401
    login(client, "城关镇")
    cookie = client.cookies.get("jianfu_session")
    token = session_csrf(client)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replay = TestClient(app)
    replay.cookies.set("jianfu_session", cookie)
    assert replay.get("/api/me").status_code == 401


def test_a_password_change_or_removed_account_ends_its_sessions(app):
    client = TestClient(app)
    login(client, "城关镇")
    app.state.portal.accounts.set_password("城关镇", "another-long-password")
    assert client.get("/api/me").status_code == 401
    assert login(client, "城关镇").status_code == 401
    assert login(client, "城关镇", "another-long-password").status_code == 303
    app.state.portal.accounts.remove("城关镇")
    assert client.get("/api/me").status_code == 401


def test_login_redirects_only_to_local_pages(app):
    for target, expected in (
        ("/uploads", "/uploads"),
        ("//evil.example/x", "/upload"),
        ("https://evil.example", "/upload"),
        ("/\\evil.example", "/upload"),
    ):
        client = TestClient(app)
        token = csrf_of(client.get("/login").text)
        r = client.post(
            "/login",
            data={"username": "城关镇", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == expected


def test_the_audit_log_has_every_event_and_no_password_or_answer(app, small_surveys, one_bad_cell):
    client = TestClient(app)
    secret = "Pa55-in-the-name-field"
    login(client, secret, secret)  # a clerk who typed the password into the name field
    login(client, "城关镇", "wrong-but-long-1")
    login(client, "城关镇")
    path, _ = one_bad_cell
    upload(client, [("一处错误.csv", path.read_bytes())])
    upload(client, [("again.csv", path.read_bytes())])  # the same content again
    client.get("/template")
    client.post("/api/uploads", files=[("files", ("x.csv", b"a\n1\n"))], headers={"X-CSRF-Token": "forged"})
    token = session_csrf(client)
    client.post("/logout", data={"csrf_token": token})
    researcher = TestClient(app)
    login(researcher, "研究员")
    researcher.post("/api/waves/2026-11/reanalyse", headers={"X-CSRF-Token": session_csrf(researcher)})

    log = app.state.portal.audit
    events = [(e["event"], e["who"]) for e in log.entries()]
    assert events == [
        ("login.failed", None),  # an unknown name is not written down: it may be a password
        ("login.failed", "城关镇"),
        ("login", "城关镇"),
        ("upload", "城关镇"),
        ("upload.duplicate", "城关镇"),
        ("download.template", "城关镇"),
        ("csrf.failed", "城关镇"),
        ("logout", "城关镇"),
        ("login", "研究员"),
        ("reanalyse", "研究员"),
    ]
    entries = log.entries()
    uploaded = [e for e in entries if e["event"].startswith("upload")]
    assert len({e["sha256"] for e in uploaded}) == 1 and len(uploaded[0]["sha256"]) == 64
    assert all(e["at"] and e["ip"] for e in entries)
    text = log.path.read_text(encoding="utf-8")
    assert secret not in text and PASSWORD not in text and "wrong-but-long-1" not in text
    assert "很很同意" not in text  # the invalid answer of the upload
    assert log.verify()
    # Editing a line breaks the chain.
    lines = text.splitlines()
    lines[2] = lines[2].replace('"login"', '"logout"')
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not log.verify()
