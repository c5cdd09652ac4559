"""Signing in to the web app: passwords, the session cookie, CSRF, expiry, sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from kam_api.auth import Role, User, UserStore
from kam_api.settings import Settings
from kam_api.web.sessions import COOKIE, SessionStore
from tests.web.support import csrf_of, password_of, signed_in


def _sign_in(web: TestClient, name: str, password: str, next_url: str = "/app") -> object:
    form = web.get("/sign-in")
    return web.post(
        "/sign-in",
        data={
            "username": name,
            "password": password,
            "csrf_token": csrf_of(form.text),
            "next": next_url,
        },
    )


def test_a_page_sends_a_stranger_to_sign_in_and_back(web: TestClient) -> None:
    assert web.get("/").headers["location"] == "/app"
    answer = web.get("/app/portfolio?tier=key")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/app/portfolio%3Ftier%3Dkey"
    answer = _sign_in(web, "dora", password_of("dora"), "/app/portfolio?tier=key")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/app/portfolio?tier=key"  # type: ignore[attr-defined]


def test_the_session_cookie_is_http_only_and_same_site(web: TestClient) -> None:
    answer = _sign_in(web, "mia", password_of("mia"))
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the next test


def test_the_session_cookie_is_secure_behind_https(web_settings: Settings) -> None:
    from tests.support import api_app
    from tests.web.conftest import add_users

    settings = web_settings.model_copy(update={"public_url": "https://kam.example.com"})
    with TestClient(api_app(settings), follow_redirects=False) as client:
        add_users(client)
        answer = _sign_in(client, "mia", password_of("mia"))
        assert "Secure" in answer.headers["set-cookie"]  # type: ignore[attr-defined]


def test_each_role_lands_on_its_start_page(as_user: Callable[[str], TestClient]) -> None:
    assert as_user("mia").get("/app").headers["location"] == "/app/my-work"
    assert as_user("dora").get("/app").headers["location"] == "/app/portfolio"
    assert as_user("vic").get("/app").headers["location"] == "/app/portfolio"
    assert as_user("audrey").get("/app").headers["location"] == "/app/portfolio"


def test_a_wrong_password_is_refused_in_words_and_starts_no_session(web: TestClient) -> None:
    for name, password in [("mia", "wrong-password"), ("nobody", "whatever-it-is"), ("mia", "")]:
        answer = _sign_in(web, name, password)
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "The user name or password is not right." in answer.text  # type: ignore[attr-defined]
        assert COOKIE not in answer.headers.get("set-cookie", "")  # type: ignore[attr-defined]


def test_a_user_without_a_password_cannot_sign_in(web: TestClient) -> None:
    answer = _sign_in(web, "ann", "any password at all")  # a colleague: no password
    assert answer.status_code == 401  # type: ignore[attr-defined]


def test_the_sign_in_form_needs_its_csrf_token(web: TestClient) -> None:
    web.get("/sign-in")
    answer = web.post(
        "/sign-in",
        data={"username": "mia", "password": password_of("mia"), "csrf_token": "forged"},
    )
    assert answer.status_code == 403
    assert "expired" in answer.text
    assert COOKIE not in answer.headers.get("set-cookie", "")


def test_sign_in_never_sends_the_browser_to_another_site(web: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        web.cookies.clear()
        answer = _sign_in(web, "dora", password_of("dora"), target)
        assert answer.headers["location"] == "/app"  # type: ignore[attr-defined]


def test_signing_out_needs_the_csrf_token_and_ends_the_session(
    as_user: Callable[[str], TestClient],
) -> None:
    mia = as_user("mia")
    refused = mia.post("/sign-out", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "expired" in refused.text and refused.headers["content-type"].startswith("text/html")
    home = mia.get("/app")
    assert home.headers["location"] == "/app/my-work"  # still signed in
    page = mia.get("/sign-in?next=/app")  # a signed-in user: straight on
    assert page.status_code == 303
    answer = mia.post("/sign-out", data={"csrf_token": _csrf(mia)})
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
    assert mia.get("/app").headers["location"].startswith("/sign-in")


def _csrf(client: TestClient) -> str:
    """The signed-in client's CSRF token, from a page that shows the sign-out form."""
    page = client.get("/app/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    return csrf_of(page.text)


def test_a_revoked_user_is_signed_out_at_once(
    web: TestClient, as_user: Callable[[str], TestClient]
) -> None:
    max_ = as_user("max")
    users: UserStore = web.app.state.users  # type: ignore[attr-defined]
    users.revoke("max", actor="root")
    assert max_.get("/app").headers["location"].startswith("/sign-in")
    answer = _sign_in(web, "max", password_of("max"))
    assert answer.status_code == 401  # type: ignore[attr-defined]


def test_a_session_ends_when_idle_too_long_and_at_its_maximum_age(web: TestClient) -> None:
    settings: Settings = web.app.state.settings  # type: ignore[attr-defined]
    clock = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    sessions = SessionStore(web.app.state.views, settings, now=lambda: clock[0])  # type: ignore[attr-defined]
    token, _ = sessions.start(User("mia", Role.MANAGER))
    idle = timedelta(minutes=settings.session_idle_minutes)
    clock[0] += idle - timedelta(minutes=5)
    assert sessions.find(token) is not None  # used again: the idle time restarts
    clock[0] += idle - timedelta(minutes=5)
    assert sessions.find(token) is not None
    clock[0] += idle + timedelta(seconds=1)
    assert sessions.find(token) is None  # idle too long

    clock[0] = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    token, _ = sessions.start(User("mia", Role.MANAGER))
    end = clock[0] + timedelta(hours=settings.session_max_hours)
    while clock[0] + idle / 2 < end:
        clock[0] += idle / 2
        assert sessions.find(token) is not None
    clock[0] = end
    assert sessions.find(token) is None  # however busy, it ends at its maximum age


def test_a_new_password_replaces_the_old_one(web: TestClient) -> None:
    users: UserStore = web.app.state.users  # type: ignore[attr-defined]
    users.set_password("mia", "a brand new passphrase", actor="root")
    assert _sign_in(web, "mia", password_of("mia")).status_code == 401  # type: ignore[attr-defined]
    assert _sign_in(web, "mia", "a brand new passphrase").status_code == 303  # type: ignore[attr-defined]
    assert [c.change for c in users.log("mia")].count("password-set") == 2


def test_bearer_tokens_keep_working_for_the_api(web: TestClient) -> None:
    users: UserStore = web.app.state.users  # type: ignore[attr-defined]
    token = users.rotate("dora", actor="root")
    answer = web.get("/portfolio", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    # A session cookie is not an API credential.
    dora = signed_in(web, "dora")
    assert dora.get("/portfolio").status_code == 401


def test_pages_carry_a_content_security_policy(as_user: Callable[[str], TestClient]) -> None:
    page = as_user("dora").get("/app/nothing-here")
    assert page.status_code == 404
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"


def test_passwords_are_stored_as_argon2id_hashes_of_the_recommended_profile() -> None:
    from kam_api.auth import PASSWORD_HASHER

    stored = PASSWORD_HASHER.hash("a passphrase of some length")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "a passphrase" not in stored
    assert PASSWORD_HASHER.verify(stored, "a passphrase of some length")


def test_a_session_ended_by_another_process_ends_here_within_the_keep_window(
    web: TestClient,
) -> None:
    settings: Settings = web.app.state.settings  # type: ignore[attr-defined]
    views = web.app.state.views  # type: ignore[attr-defined]
    clock = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    here = SessionStore(views, settings, now=lambda: clock[0])
    elsewhere = SessionStore(views, settings, now=lambda: clock[0])
    token, _ = here.start(User("mia", Role.MANAGER))
    assert here.find(token) is not None  # now kept in memory here
    elsewhere.end(token)  # signed out through another process
    assert elsewhere.find(token) is None
    assert here.find(token) is not None  # still kept here...
    clock[0] += timedelta(seconds=settings.session_cache_seconds)
    assert here.find(token) is None  # ...but no longer than the keep window

    token, _ = here.start(User("mia", Role.MANAGER))
    assert here.find(token) is not None
    here.end(token)  # signed out here: at once
    assert here.find(token) is None
    token, _ = here.start(User("max", Role.MANAGER))
    assert here.find(token) is not None
    here.forget_user("max")
    elsewhere.end_all("max")
    assert here.find(token) is None


def test_nothing_is_kept_with_a_keep_window_of_zero(web: TestClient) -> None:
    settings: Settings = web.app.state.settings  # type: ignore[attr-defined]
    views = web.app.state.views  # type: ignore[attr-defined]
    here = SessionStore(views, settings.model_copy(update={"session_cache_seconds": 0}))
    elsewhere = SessionStore(views, settings)
    token, _ = here.start(User("mia", Role.MANAGER))
    assert here.find(token) is not None
    elsewhere.end(token)
    assert here.find(token) is None
