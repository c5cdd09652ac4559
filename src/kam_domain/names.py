"""How names and other identifiers are written: one Unicode form, no invisible characters.

A name (an account's, a stakeholder's, a team member's, a manager's) is compared, shown in
lists and matched against users. Two spellings that look the same must be the same name, so
a name is kept in NFC form, and characters that change how it looks without being seen are
refused: bidirectional controls (a right-to-left override renders "Acme" reversed in a list)
and zero-width characters ("Acme" with a zero-width space inside would pass the unique-name
rule as a new name); so are control characters. Free text (notes, rationales) may still carry them.
"""

from __future__ import annotations

import re
import unicodedata

#: Bidirectional controls (ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI) and zero-width
#: or invisible characters (ZWSP, ZWNJ, ZWJ, word joiner and invisible operators, BOM,
#: Mongolian vowel separator, soft hyphen).
HIDDEN_CHARACTERS = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
HIDDEN_MESSAGE = "must not contain bidirectional controls or zero-width characters"
#: Control characters (C0, DEL, C1): no name holds one, and PostgreSQL text cannot hold a NUL.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def normal_name(value: str) -> str:
    """The name in NFC form; ``ValueError`` if it holds a hidden or a control character (see
    the module)."""
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    if HIDDEN_CHARACTERS.search(value):
        raise ValueError(HIDDEN_MESSAGE)
    return unicodedata.normalize("NFC", value)
