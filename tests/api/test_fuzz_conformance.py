"""Fuzzing from the app's own OpenAPI (schemathesis, bounded), with all its response checks:
no server error, every status, content type, header and body as documented, and every
schema-valid request accepted (2xx, or 401/403/404/409: a refusal of who or of the state).

What the schema cannot say, and so a schema-valid request may still be refused for, is listed
in ``STATE_DEPENDENT`` with why; any other refusal of a schema-valid request fails the test.

The schemathesis pytest plugin does not work with this pytest version, so each operation's
strategy is run with hypothesis directly, and requests go through the apps' test clients: each
generated request is sent to the app on SQLite and to the app on PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.openapi.checks import RejectedPositiveData
from tests.api.fuzz_support import EXAMPLES, PARTS, SENT, Target, targets

from kam_api.settings import Settings
from kam_store.checkpoint import SigningKey

#: Refusals of schema-valid requests the schema cannot prevent: (status, problem type slug,
#: what the detail or a field's message says, why the schema cannot say it).
STATE_DEPENDENT: list[tuple[int, str, re.Pattern[str], str]] = [
    (412, "precondition-failed", re.compile(r"is at version"),
     "If-Match must name the aggregate's current version"),
    (422, "validation", re.compile(r"must add up to 100"),
     "the focus weights' sum relates three fields (described, not expressible)"),
    (422, "validation", re.compile(r"must differ from the baseline"),
     "an objective's target relates to its baseline (described, not expressible)"),
    (400, "bad-min-position", re.compile(r"beyond the end of the event log"),
     "min_position must be a position the log has reached"),
    (400, "bad-cursor", re.compile(r"cursor is not valid"),
     "a cursor is opaque: only one the API handed out is valid"),
    (400, "bad-range", re.compile(r"must be before"),
     "'from' before 'to' relates two parameters"),
    (422, "outside-tree", re.compile(r"not an entry of the tree|verified tree|is after to"),
     "ledger positions must be in the tree the log has grown to, 'from' not after 'to'"),
    (422, "validation", re.compile(r"is not a user of the service"),
     "people named must be active users of the service (kam_domain.people)"),
    (422, "validation", re.compile(r"before 1990-01-01|in the future|years after today"),
     "dates are bounded by today (the clock) and the 1990 floor, which `format: date` cannot "
     "carry; the fields' descriptions say so"),
    (422, "validation", re.compile(r"is the reporting currency"),
     "the reporting currency is a setting"),
    (422, "validation", re.compile(r"Input should be a valid integer"),
     "strict integer fields refuse 2.0, which JSON Schema cannot tell from 2"),
    (422, "idempotency-key-reused", re.compile(r"was used for a different request"),
     "an Idempotency-Key belongs to the one request first sent with it (the fuzzer repeats "
     "keys across requests)"),
]  # fmt: skip


def excused(response: Any, case: schemathesis.Case) -> bool:
    """Whether a refusal of a schema-valid request is one the schema cannot prevent: each
    field the problem lists (else its detail) is ``STATE_DEPENDENT`` or a ``trailing_newline``."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    body: dict[str, Any] = response.json()
    slug = str(body.get("type", "")).rsplit("/", 1)[-1]

    def state_dependent(said: str) -> bool:
        return any(
            response.status_code == status and slug == kind and words.search(said)
            for status, kind, words, _why in STATE_DEPENDENT
        )

    errors: list[dict[str, Any]] = body.get("errors", [])
    if not errors:
        return state_dependent(str(body.get("detail", "")))
    return all(state_dependent(str(e.get("msg", ""))) or trailing_newline(e, case) for e in errors)


def trailing_newline(error: dict[str, Any], case: schemathesis.Case) -> bool:
    """A generator artefact, not the API's: schemathesis checks ``pattern`` with Python's
    ``re``, whose ``$`` also matches before a final newline, so it sends ``"a@b\n"`` for
    ``^...$``; JSON Schema's (ECMA 262) ``$`` and the API's validation do not take it."""
    sent = case.body.get(error["loc"][-1]) if isinstance(case.body, dict) else None
    return error.get("type") == "string_pattern_mismatch" and str(sent).endswith("\n")


def failures_of(error: BaseException) -> list[BaseException]:
    grouped = getattr(error, "exceptions", None)
    return list(grouped) if grouped else [error]


def conformance_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        pg_pool_size=8,
        embedded_projector=True,  # on PostgreSQL too: min_position is reached
        projector_poll_interval=0.05,
        read_wait_seconds=1,
        # With no key the ledger's checkpoint answers 503 by design (not an input error).
        ledger_key=SigningKey.generate("kam-ledger.dev/log").to_base64(),
    )


def existing_aggregates(target: Target) -> dict[str, str]:
    """Real aggregates in the target's store: every other generated request is sent to them
    (the rest name ids of nothing), so the domain's own checks are reached too."""
    client, auth = target.client, target.auth
    seed = client.post(
        "/accounts", json={"name": "Seed Co", "industry": "x", "region": "y"}, headers=auth
    ).json()["id"]
    return {
        "account_id": seed,
        "plan_id": client.post(
            f"/accounts/{seed}/plans", json={"period": "2026"}, headers=auth
        ).json()["id"],
        "stakeholder_id": client.post(
            f"/accounts/{seed}/stakeholders",
            json={"name": "Pat", "buying_role": "user", "influence": 2},
            headers=auth,
        ).json()["id"],
    }


@pytest.mark.parametrize("part", range(PARTS), ids=lambda part: f"part{part}")
def test_generated_requests_get_documented_answers_and_valid_ones_are_accepted(
    part: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with targets(request, tmp_path, conformance_settings) as apps:
        existing = {target.backend: existing_aggregates(target) for target in apps}
        schema = schemathesis.openapi.from_asgi("/openapi.json", apps[0].app)
        every = [result.ok() for result in schema.get_all_operations()]
        assert len(every) >= 40
        operations = every[part::PARTS]
        failures: list[str] = []
        calls = [0]

        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                generated = dict(case.path_parameters or {})
                for target in apps:
                    if generated and calls[0] % 2:
                        ids = existing[target.backend]
                        case.path_parameters.update(
                            {name: ids[name] for name in ids.keys() & generated.keys()}
                        )
                    kwargs = case.as_transport_kwargs(
                        base_url="http://testserver", headers=target.auth
                    )
                    response = target.client.request(
                        **{k: v for k, v in kwargs.items() if k in SENT}
                    )
                    try:
                        case.validate_response(response, headers=target.auth)
                    except BaseException as error:  # a FailureGroup of the checks that failed
                        for failure in failures_of(error):
                            if isinstance(failure, RejectedPositiveData) and excused(
                                response, case
                            ):
                                continue
                            title = str(failure).splitlines()[0] if str(failure) else repr(failure)
                            failures.append(
                                f"[{target.backend}] {case.method} {case.formatted_path} -> "
                                f"{response.status_code}: {type(failure).__name__}: {title}: "
                                f"{response.text[:600]} (sent {case.body!r:.300})"
                            )
                calls[0] += 1

            check()
    assert calls[0] >= len(operations)
    assert not failures, "\n".join(failures[:30])
