"""Fuzzing from the app's own OpenAPI (schemathesis, bounded), on both backends: no input (path,
query, header or body; a junk Authorization or If-Match header, an unknown query parameter)
makes the service answer 5xx, and every 4xx is an RFC 9457 problem.

The schemathesis pytest plugin does not work with this pytest version, so each operation's
strategy is run with hypothesis directly, and requests go through the apps' test clients: each
generated request is sent to the app on SQLite and to the app on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.api.fuzz_support import EXAMPLES, PARTS, SENT, targets
from tests.support import TEST_MASTER_KEY

from kam_api.settings import Settings
from kam_store.checkpoint import SigningKey

#: Header values as a client may send them: any latin-1 text (what HTTP carries), long digits.
HEADER_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300),
    st.integers(min_value=0).map(lambda n: '"' + str(n) * 300 + '"'),
)
#: Sometimes a junk Authorization or If-Match header, or a parameter no operation declares.
JUNK = st.fixed_dictionaries(
    {},
    optional={
        "authorization": HEADER_TEXT.map(lambda text: "Bearer " + text),
        "if_match": HEADER_TEXT,
        "param": st.tuples(st.text(min_size=1, max_size=20), st.text(max_size=50)),
    },
)


def fuzz_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=1,
        pg_pool_size=4,
        master_key=TEST_MASTER_KEY,
        # With no key the ledger's checkpoint answers 503 by design (not an input error).
        ledger_key=SigningKey.generate("kam-ledger.dev/log").to_base64(),
    )


@pytest.mark.parametrize("part", range(PARTS), ids=lambda part: f"part{part}")
def test_no_generated_request_gets_a_5xx_and_every_4xx_is_a_problem(
    part: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with targets(request, tmp_path, fuzz_settings) as apps:
        for target in apps:
            # Some real data, so generated requests sometimes reach existing aggregates.
            target.client.post(
                "/accounts",
                json={"name": "Seed Co", "industry": "x", "region": "y"},
                headers=target.auth,
            )
        schema = schemathesis.openapi.from_asgi("/openapi.json", apps[0].app)
        every = [result.ok() for result in schema.get_all_operations()]
        assert len(every) >= 40
        operations = every[part::PARTS]
        failures: list[str] = []
        calls = [0]

        for operation in operations:

            @given(case=operation.as_strategy(), junk=JUNK)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case, junk: dict[str, Any]) -> None:
                for target in apps:
                    kwargs = case.as_transport_kwargs(
                        base_url="http://testserver", headers=target.auth
                    )
                    kwargs = {k: v for k, v in kwargs.items() if k in SENT}
                    headers = dict(kwargs.get("headers") or {})
                    if "authorization" in junk:
                        headers["Authorization"] = junk["authorization"].encode("latin-1")
                    if "if_match" in junk:
                        headers["If-Match"] = junk["if_match"].encode("latin-1")
                    kwargs["headers"] = headers
                    if "param" in junk:
                        name, value = junk["param"]
                        kwargs["params"] = {**dict(kwargs.get("params") or {}), name: value}
                    response = target.client.request(**kwargs)
                    kind = response.headers.get("content-type", "")
                    if response.status_code >= 500:
                        failures.append(
                            f"[{target.backend}] {case.method} {case.formatted_path} -> "
                            f"{response.status_code}: {response.text[:200]} (sent "
                            f"{str(kwargs.get('params'))[:200]}, {str(case.body)[:300]}, "
                            f"{junk!r:.300})"
                        )
                    elif response.status_code >= 400 and not kind.startswith(
                        "application/problem+json"
                    ):
                        failures.append(
                            f"[{target.backend}] {case.method} {case.formatted_path} -> "
                            f"{response.status_code} as {kind}"
                        )
                calls[0] += 1

            check()
    assert calls[0] >= len(operations)
    assert not failures, "\n".join(failures[:20])
