"""Shared validation: text and envelopes refuse control characters (they cannot be stored in
PostgreSQL text, and no person types them)."""

from __future__ import annotations

import pytest

from kam_domain.base import require_text
from kam_domain.errors import InvalidValueError
from kam_domain.values import Envelope


@pytest.mark.parametrize("bad", ["nul\x00here", "bell\x07", "escape\x1b[0m"])
def test_text_with_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(InvalidValueError):
        require_text("name", bad)


def test_tabs_and_newlines_are_text() -> None:
    assert require_text("notes", " line one\n\tline two ") == "line one\n\tline two"


@pytest.mark.parametrize("field", ["actor", "reason", "correlation_id"])
def test_an_envelope_refuses_control_characters(field: str) -> None:
    values = {"actor": "ann", "reason": "why", "correlation_id": "req-1", field: "x\x00y"}
    with pytest.raises(InvalidValueError):
        Envelope(**values)  # type: ignore[arg-type]
