"""Durations as pipelines write them (``90``, ``"5m"``, ``"1h30m"``) turned into seconds."""

from __future__ import annotations

import re
from functools import lru_cache

_PART = re.compile(r"(\d+)([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def to_seconds(value: int | str) -> int | str:
    """Seconds in a schema-valid duration; ValueError for anything else. A template (a value known only
    at run time, such as another task's output) stays as it is, for the operator to render."""
    if isinstance(value, str) and "{{" in value:
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int):
        return value
    return _text_seconds(value) if isinstance(value, str) else _seconds(value)


def _seconds(value: str) -> int:
    parts = _PART.findall(value)  # anything but text raises TypeError here
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a duration: {value!r}")
    return sum(int(n) * _UNIT[u] for n, u in parts)


# A written duration's seconds once per distinct text: every task of every pipeline repeats the same few
# ("30m", "1h"), and the compiler asks for several per task.
_text_seconds = lru_cache(maxsize=1024)(_seconds)
