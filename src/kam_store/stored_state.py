"""Reading when an event was recorded straight from its stored bytes, without decoding it.

The library's JSON transcoder writes a domain event's state with its timestamp first, so a
plain (not encrypted, not compressed) state starts with ``RECORDED_AT_PREFIX`` and the
instant. An as-of search reads only that; a state of another layout is decoded instead.
"""

from __future__ import annotations

import re
from datetime import datetime

#: A plain stored state's bytes before its recorded instant (see ``RECORDED_AT``).
RECORDED_AT_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'

#: Where a stored event's state says when it was recorded (read without decoding the rest;
#: an encrypted or compressed state falls back to a full decode).
RECORDED_AT = re.compile(rb'^\{"timestamp":\{"_type_":"datetime_iso","_data_":"([^"]+)"\}')

#: What ``datetime.isoformat`` writes for an aware instant, digits as 9 and "+" as "-" (with
#: or without microseconds; "Z" too, which ``fromisoformat`` reads).
ISOFORMAT_SHAPES = tuple(
    f"9999-99-99T99:99:99{fraction}{offset}"
    for fraction in ("", ".999999")
    for offset in ("-99:99", "Z")
)

#: What the PostgreSQL recorder's ``version_at`` answers when a stored state it probed does
#: not have the plain layout: the search is then done in Python, decoding such states.
UNREADABLE_STATE = -1


def recorded_at(state: bytes) -> datetime | None:
    """The instant a plain stored state says it was recorded, or None for another layout."""
    match = RECORDED_AT.search(state[:200])
    return None if match is None else datetime.fromisoformat(match.group(1).decode())
