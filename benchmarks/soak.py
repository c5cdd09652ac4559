"""Soak: does one `kam serve` on PostgreSQL hold its memory under steady mixed load?

``soak_rss_growth``: the server's resident memory (RSS) at the end of the run divided by its
RSS a third of the way in (30 and 10 minutes by default). Caches fill during the first third;
after that a process whose every cache is bounded levels off, and the figure stays near 1.

The load (wrk, 2 threads, 4 connections, for the whole run) cycles through a fixed mix: API
reads (account, portfolio, KPIs, health, search), writes (new accounts, competitors noted,
stakeholders identified: personal data, so person keys), web pages (portfolio, account,
timeline, my work) and the handover report of one long-lived account, as JSON and as a page.

Not part of ``make bench`` (it takes the whole run): ``make soak``; ``KAM_SOAK_MINUTES``
(default 30) shortens it while developing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_api import (  # noqa: E402
    KAM,
    free_port,
    grow_rich_account,
    load_portfolio,
    wait_up,
)
from common import fresh_schema  # noqa: E402
from kam_api.auth import Role  # noqa: E402
from kam_api.bootstrap import open_services  # noqa: E402
from kam_api.settings import Settings  # noqa: E402

TARGETS = {"soak_rss_growth": ("<=", 1.2)}
MINUTES = float(os.environ.get("KAM_SOAK_MINUTES", "30"))
ACCOUNTS = 300
RICH_EVENTS = 1000
PASSWORD = "soak-password-1234"
#: The server's command (``KAM_SOAK_SERVER``: another, such as one under tracemalloc, to find
#: what grows); ``serve --port N`` is appended.
SERVER = os.environ.get("KAM_SOAK_SERVER", KAM).split()

#: The load's mix, cycled through: (method, path, JSON body); ``{a}`` is an account of the
#: portfolio, ``{rich}`` the long-lived account, ``{n}`` the request's number in its wrk
#: thread and ``{t}`` that thread's (so every name written is new).
MIX: list[tuple[str, str, str | None]] = [
    ("GET", "/accounts/{a}", None),
    ("GET", "/portfolio?limit=50", None),
    ("GET", "/accounts/{a}/kpis", None),
    (
        "POST",
        "/accounts/{a}/competitors",
        '{"name":"Globex","threat":"medium","notes":"seen {n}"}',
    ),
    ("GET", "/app/portfolio", None),
    ("GET", "/accounts/{a}/health", None),
    (
        "POST",
        "/accounts",
        '{"name":"Soak {t}-{n}","industry":"Retail","region":"EMEA","service_profile":"standard"}',
    ),
    ("GET", "/app/accounts/{a}", None),
    ("GET", "/search?q=Portfolio", None),
    (
        "POST",
        "/accounts/{a}/stakeholders",
        '{"name":"Person {t}-{n}","email":"p{t}-{n}@example.com","buying_role":"champion",'
        '"influence":3}',
    ),
    ("GET", "/app/accounts/{a}/timeline", None),
    ("GET", "/accounts/{rich}/handover-report", None),
    ("GET", "/app/my-work", None),
    ("GET", "/portfolio?limit=50&sort=name", None),
    ("GET", "/app/accounts/{rich}/handover", None),
]

LUA = """
local accounts = {%(accounts)s}
local rich = "%(rich)s"
local headers = {["Authorization"] = "Bearer %(token)s", ["Cookie"] = "kam_session=%(cookie)s",
                 ["Content-Type"] = "application/json"}
local counter = 0
local t = 0
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
end

function init(args)
  t = wrk.thread:get("id") or 0
end

local mix = {
%(mix)s
}

request = function()
  counter = counter + 1
  local a = accounts[(counter * 7 + t) %% #accounts + 1]
  return mix[(counter %% #mix) + 1](a, counter)
end

function done(summary, latency, requests)
  io.write(string.format("SOAK requests=%%d errors=%%d non2xx=%%d p50_ms=%%.2f\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(50) / 1000))
end
"""


def lua_text(template: str) -> str:
    """A MIX path or body as a Lua expression (placeholders become the variables)."""
    quoted = template.replace("\\", "\\\\").replace('"', '\\"')
    for name, variable in (("{a}", "a"), ("{rich}", "rich"), ("{n}", "n"), ("{t}", "t")):
        quoted = quoted.replace(name, f'" .. {variable} .. "')
    return f'"{quoted}"'


def lua_script(accounts: list[str], rich: str, token: str, cookie: str) -> str:
    mix = ",\n".join(
        f'  function(a, n) return wrk.format("{method}", {lua_text(path)}, headers'
        + (f", {lua_text(body)}" if body else "")
        + ") end"
        for method, path, body in MIX
    )
    return LUA % {
        "accounts": ", ".join(f'"{a}"' for a in accounts),
        "rich": rich,
        "token": token,
        "cookie": cookie,
        "mix": mix,
    }


def check_mix(base: str, account: str, rich: str, token: str, cookie: str) -> None:
    """Each request of the mix once: all must answer 2xx (the load measures work done)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, cookies={"kam_session": cookie}) as client:
        for method, path, body in MIX:
            values = {"{a}": account, "{rich}": rich, "{n}": "0", "{t}": "check"}
            for name, value in values.items():
                path = path.replace(name, value)
                body = body.replace(name, value) if body else body
            answer = client.request(method, path, content=body, timeout=60)
            assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"


def rss_mib(pid: int) -> float:
    """The process's resident set size now, in MiB (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    return kib / 1024


def sign_in(base: str, name: str) -> str:
    """A web session cookie for ``name`` (the sign-in form, as a browser sends it)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf, "no CSRF token on the sign-in form"
        answer = client.post(
            "/sign-in",
            data={"username": name, "password": PASSWORD, "csrf_token": csrf.group(1)},
        )
        assert answer.status_code == 303, answer.text
        cookie = client.cookies.get("kam_session")
        assert cookie, "no session cookie after sign-in"
        return str(cookie)


def run() -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("the soak needs wrk (apt-get install wrk)")
    with fresh_schema("soak") as (_schema, url):
        with open_services(Settings(database_url=url), check_people=False) as services:
            accounts = load_portfolio(services.app, ACCOUNTS)
            rich = grow_rich_account(services.app, RICH_EVENTS)
            services.projector.setup()
            services.projector.catch_up()
            token = services.users.add("soak", Role.DIRECTOR)
            services.users.set_password("soak", PASSWORD, actor="soak")
        env = {**os.environ, "KAM_DATABASE_URL": url}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*SERVER, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_up(base)
            cookie = sign_in(base, "soak")
            check_mix(base, accounts[0], rich, token, cookie)
            return soak(server.pid, base, lua_script(accounts, rich, token, cookie))
        finally:
            server.terminate()
            server.wait(timeout=20)


def soak(pid: int, base: str, script: str) -> dict[str, float]:
    seconds = max(30, round(MINUTES * 60))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    load = subprocess.Popen(
        ["wrk", "-t2", "-c4", f"-d{seconds}s", "--timeout", "30s", "-s", lua.name, base],
        stdout=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(load.stdout or []), daemon=True)
    reader.start()
    started = time.monotonic()
    samples: list[tuple[float, float]] = []
    print(f"   {seconds / 60:.0f} minutes of load; RSS at start {rss_mib(pid):.0f} MiB", flush=True)
    while load.poll() is None:
        time.sleep(5)
        samples.append((time.monotonic() - started, rss_mib(pid)))
        if len(samples) % 12 == 0:
            print(f"   {samples[-1][0] / 60:5.1f} min  RSS {samples[-1][1]:6.1f} MiB", flush=True)
    reader.join(timeout=10)
    Path(lua.name).unlink(missing_ok=True)
    summary = next((line for line in output if line.startswith("SOAK ")), "")
    print(f"   wrk: {summary.strip() or ''.join(output)[-500:]}", flush=True)
    figures = dict(re.findall(r"(\w+)=([\d.]+)", summary))
    third = seconds / 3
    at_third = next(rss for at, rss in samples if at >= third)
    at_end = samples[-1][1]
    print(
        f"   RSS {at_third:.1f} MiB at {third / 60:.1f} min, {at_end:.1f} MiB at the end",
        flush=True,
    )
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    Path("var/bench/soak_rss.json").write_text(json.dumps(samples) + "\n")
    return {
        "soak_rss_growth": at_end / at_third,
        "soak_requests_per_s": float(figures.get("requests", 0)) / seconds,
        "soak_non2xx": float(figures.get("non2xx", 0)),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    from run_all import record

    raise SystemExit(record({"soak.py": (run, TARGETS)}))
