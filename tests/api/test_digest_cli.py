"""``kam digest``, on both backends: it prints the digests, and with ``--send`` e-mails one
message per manager with an address and something to report to a local SMTP server (aiosmtpd,
started by the test); an unreachable server is a one-line error."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient
from tests.api.conftest import COLLEAGUES, USERS
from tests.api.test_digest_api import TODAY, small_history
from tests.support import TEST_MASTER_KEY, api_app
from typer.testing import CliRunner

from kam_api.auth import Role, UserStore
from kam_api.cli import cli
from kam_api.settings import Settings


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A local SMTP server and what it received."""
    handler = Inbox()
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield handler, port
    finally:
        server.stop()


def password_check(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    """Lets in kam with the password s3cret, no one else."""
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"kam", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def guarded_inbox() -> Iterator[tuple[Inbox, int]]:
    """A local SMTP server that takes mail only after a login."""
    handler = Inbox()
    port = free_port()
    server = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=password_check,
        auth_required=True,
        auth_require_tls=False,
    )
    server.start()
    try:
        yield handler, port
    finally:
        server.stop()


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    """Given: the digest test's small history, as of 1 September 2026; mia, tom and max have
    e-mail addresses (max has nothing to report), ann (who has) has none."""
    settings = Settings(
        database_url=database_url,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=10,
        pg_pool_size=4,
        master_key=TEST_MASTER_KEY,
        today=TODAY,
    )
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        users: UserStore = client.app.state.users  # type: ignore[attr-defined]
        for name in COLLEAGUES:
            users.add(name, Role.MANAGER)
        auth = {
            name: {"Authorization": f"Bearer {users.add(name, role)}"}
            for name, role in USERS.items()
        }
        small_history(client, auth)
        for name in ("mia", "tom", "max"):
            users.set_email(name, f"{name}@example.com", actor="root")
    return {
        "KAM_DATABASE_URL": database_url,
        "KAM_PG_POOL_SIZE": "2",
        "KAM_MASTER_KEY": TEST_MASTER_KEY,
        "KAM_TODAY": TODAY.isoformat(),
        "KAM_SMTP_FROM": "kam@example.com",
    }


def smtp(port: int) -> dict[str, str]:
    return {"KAM_SMTP_HOST": "127.0.0.1", "KAM_SMTP_PORT": str(port)}


def test_kam_digest_send_mails_each_manager_with_an_address_and_something_to_report(
    env: dict[str, str], inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox

    sent = CliRunner().invoke(cli, ["digest", "--send"], env={**env, **smtp(port)})

    assert sent.exit_code == 0, sent.output
    assert sorted(r for _, rcpt, _ in received.messages for r in rcpt) == [
        "mia@example.com",
        "tom@example.com",
    ]
    assert "mia: sent to mia@example.com" in sent.stdout
    assert "ann: no e-mail address, not sent" in sent.stdout
    assert "max: nothing to report, not sent" in sent.stdout
    mail_from, _, message = next(m for m in received.messages if m[1] == ["mia@example.com"])
    assert mail_from == "kam@example.com" and message["From"] == "kam@example.com"
    assert message["To"] == "mia <mia@example.com>"
    assert message["Subject"] == "KAM digest for mia, 2026-09-01: 7 items"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and page is not None
    assert "## Overdue actions (2)" in text.get_content()
    assert r"Grace \<i\>Hopper\</i\> (decision maker)" in text.get_content()
    html = page.get_content()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "Plant workshop &lt;b&gt;now&lt;/b&gt;" in html
    toms = next(m[2] for m in received.messages if m[1] == ["tom@example.com"])
    assert toms["Subject"] == "KAM digest for tom, 2026-09-01: 1 item"


def test_kam_digest_prints_the_digests_and_sends_nothing(
    env: dict[str, str], inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    runner = CliRunner()

    everyone = runner.invoke(cli, ["digest"], env={**env, **smtp(port)})
    one = runner.invoke(cli, ["digest", "--manager", "mia", "-f", "html"], env=env)
    unknown = runner.invoke(cli, ["digest", "--manager", "nobody"], env=env)

    assert everyone.exit_code == 0, everyone.output
    headings = [line for line in everyone.stdout.splitlines() if line.startswith("# ")]
    assert headings == ["# KAM digest for ann", "# KAM digest for mia", "# KAM digest for tom"]
    assert "max: nothing to report" in everyone.stderr
    assert one.exit_code == 0 and one.stdout.startswith("<!DOCTYPE html>")
    assert "KAM digest for mia" in one.stdout and "KAM digest for ann" not in one.stdout
    assert unknown.exit_code == 1 and "no active manager named 'nobody'" in unknown.stderr
    assert received.messages == []


def test_a_digest_with_nothing_to_report_is_not_sent(
    env: dict[str, str], inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox

    result = CliRunner().invoke(
        cli, ["digest", "--send", "--manager", "max"], env={**env, **smtp(port)}
    )

    assert result.exit_code == 0, result.output
    assert "max: nothing to report, not sent" in result.stdout
    assert "no digest to send" in result.stdout
    assert received.messages == []


def test_an_unreachable_smtp_server_is_a_one_line_error(env: dict[str, str]) -> None:
    runner = CliRunner()

    unreachable = runner.invoke(cli, ["digest", "--send"], env={**env, **smtp(free_port())})
    unset = runner.invoke(cli, ["digest", "--send"], env=env)
    both = runner.invoke(
        cli,
        ["digest", "--send"],
        env={**env, **smtp(free_port()), "KAM_SMTP_SSL": "true", "KAM_SMTP_STARTTLS": "true"},
    )

    assert unreachable.exit_code == 1
    assert unreachable.exception is None or isinstance(unreachable.exception, SystemExit)
    [line] = unreachable.stderr.splitlines()
    assert line.startswith("kam digest: cannot reach the SMTP server 127.0.0.1:")
    assert "Traceback" not in unreachable.output and "sent to" not in unreachable.stdout
    assert unset.exit_code == 2 and "KAM_SMTP_HOST" in unset.stderr
    assert both.exit_code == 2 and "not both" in both.stderr


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_kam_digest_logs_in_when_the_server_asks_and_says_so_when_it_refuses(
    env: dict[str, str], guarded_inbox: tuple[Inbox, int]
) -> None:
    received, port = guarded_inbox
    runner = CliRunner()
    login = {"KAM_SMTP_USERNAME": "kam", "KAM_SMTP_PASSWORD": "s3cret"}

    refused = runner.invoke(
        cli, ["digest", "--send"], env={**env, **smtp(port), **login, "KAM_SMTP_PASSWORD": "no"}
    )
    anonymous = runner.invoke(
        cli, ["digest", "--send", "--manager", "mia"], env={**env, **smtp(port)}
    )
    sent = runner.invoke(
        cli, ["digest", "--send", "--manager", "mia"], env={**env, **smtp(port), **login}
    )

    assert refused.exit_code == 1 and anonymous.exit_code == 1
    for failed in (refused, anonymous):
        [line] = failed.stderr.splitlines()
        assert line.startswith(f"kam digest: SMTP server 127.0.0.1:{port}: ")
        assert line.endswith("(0 sent)") and "s3cret" not in failed.output
    assert sent.exit_code == 0, sent.output
    assert [rcpt for _, rcpt, _ in received.messages] == [["mia@example.com"]]
