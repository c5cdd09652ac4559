"""Personal data: which stored fields are a person's, and what is shown once they are erased."""

from __future__ import annotations

#: Shown in place of a person's erased data (their name, contact details, notes, and the free
#: text recorded on their relationship), on every read path.
ERASED = "(erased)"
