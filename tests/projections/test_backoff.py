"""The projectors' wait between attempts: doubling, capped, back to the first after a success."""

from __future__ import annotations

import pytest

from kam_projections.backoff import BACKOFF_CAP_SECONDS, Backoff


def test_waits_double_up_to_the_cap_and_start_again_after_a_success() -> None:
    backoff = Backoff(first=0.2)
    waits = [backoff.next() for _ in range(8)]
    assert waits == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert max(waits) == BACKOFF_CAP_SECONDS
    backoff.reset()
    assert backoff.next() == 0.2


def test_many_stale_connections_in_a_row_never_wait_more_than_the_cap() -> None:
    backoff = Backoff()
    assert sum(backoff.next() for _ in range(20)) <= 0.1 + 0.2 + 0.4 + 0.8 + 16 * 1.0


@pytest.mark.parametrize("first", [0.0, -1.0, 2.0])
def test_the_first_wait_is_positive_and_within_the_cap(first: float) -> None:
    with pytest.raises(ValueError, match="first wait"):
        Backoff(first=first)
