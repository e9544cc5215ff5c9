"""`condition` signals: the non-API constraints that tell root usage from any login, failures from success."""

from __future__ import annotations

from dagster_project.lib.parsing.model import Builder

CONDITION = 0.6
# Fields that name the log source, not a condition on the event
SKIP_FIELDS = {"event.dataset", "data_stream.dataset", "event.module"}
MAX_VALUE = 120  # long literals (policy JSON fragments) say nothing a mapper can join on


def condition_text(field: str, cmp: str, value: str | None) -> str:
    if cmp in ("not exists", "exists", "is null", "is not null"):
        return f"{field} {cmp.upper()}"
    if cmp == "is":
        return f"{field} IS {str(value).upper()}"
    if cmp in ("==", ":"):
        cmp = "="
    return f"{field}{cmp}{value}"


def add_condition(b: Builder, field: str, cmp: str, value: str | None) -> None:
    if field in SKIP_FIELDS or (value is not None and len(str(value)) > MAX_VALUE):
        return
    b.signal("condition", condition_text(field, cmp, value), confidence=CONDITION)
