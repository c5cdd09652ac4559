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
        self.fields = dataclasses.fields(dataclass_type)
        self.field_names = [f.name for f in self.fields]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.field_names}

    def decode(self, data: dict[str, Any]) -> Any:
        # Stored values are history: rebuild them as they were written, without re-running
        # today's validation (a rule added later must not make old events unreadable).
        obj: Any = object.__new__(self.type)
        for f in self.fields:
            if f.name in data:
                value = data[f.name]
            elif f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                raise ValueError(f"stored {self.name} has no {f.name!r}")
            object.__setattr__(obj, f.name, value)
        return obj


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
