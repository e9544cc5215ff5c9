"""What PostgreSQL cannot store: a NUL character in text or jsonb (valid JSON spells it \\u0000).

A record holding one is rejected by itself, naming where the character sits, before anything is written (one
record must not roll back a day's load); an excerpt of rejected input is stored with it escaped.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"
JSON_NUL = b"\\u0000"  # how json/orjson write it: a text without it has no NUL to find


def nul_path(value: Any, path: str = "") -> str | None:
    """Where a NUL character sits in a JSON-like value ('api_object.AlarmDescription', 'Rules[2]'), or None."""
    if isinstance(value, str):
        return (path or "(the value)") if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return f"a key of {path or 'the object'}"
            found = nul_path(item, here)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = nul_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


def nul_reason(where: str) -> str:
    return f"a string holds a NUL character (\\u0000), which PostgreSQL cannot store: at {where}"


def escape_nul(text: str | None) -> str | None:
    """Text as PostgreSQL can store it: each NUL written as the four characters `\\x00`."""
    return None if text is None else text.replace(NUL, "\\x00")
