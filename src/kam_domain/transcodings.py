"""JSON transcodings for dates, enums and the value dataclasses of ``values.py``.

Each registered name is stored data: renaming a class needs a transcoding under the old name.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from kam_domain.values import TRANSCODABLE_TYPES


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """An enum member stored as its value, tagged with the enum's class name."""

    def __init__(self, enum_type: type[Enum]) -> None:
        self.type = enum_type
        self.name = enum_type.__name__

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


class DataclassAsDict(Transcoding):
    """A dataclass stored as a dict of its fields (nested values are transcoded too)."""

    def __init__(self, dataclass_type: type) -> None:
        self.type = dataclass_type
        self.name = dataclass_type.__name__
        self.field_names = [f.name for f in dataclasses.fields(dataclass_type)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.field_names}

    def decode(self, data: dict[str, Any]) -> Any:
        known = {k: v for k, v in data.items() if k in self.field_names}
        return self.type(**known)


def register_kam_transcodings(transcoder: JSONTranscoder) -> None:
    """Registers dates and every ``@transcodable`` enum and dataclass."""
    transcoder.register(DateAsISO())
    for cls in TRANSCODABLE_TYPES:
        if issubclass(cls, Enum):
            transcoder.register(EnumAsValue(cls))
        elif dataclasses.is_dataclass(cls):
            transcoder.register(DataclassAsDict(cls))
        else:  # pragma: no cover - guarded by the decorator's callers
            raise TypeError(f"cannot transcode {cls!r}")
