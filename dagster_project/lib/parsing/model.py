"""What a parser returns, and the small builder every parser uses to collect signals and doubts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")

# How sure a signal is (the brief's scale): explicit source+name, seed lookup, prefix, text/regex, nothing.
EXACT = 0.9
SEED = 0.8
SERVICE = 0.7
PREFIX = 0.6
AMBIGUOUS = 0.5
CONDITION_ONLY = 0.4
TEXT = 0.3


@dataclass(frozen=True, order=True)
class Signal:
    signal_type: str
    value: str
    qualifier: str = "exact"


@dataclass
class ParsedLogic:
    parse_confidence: float
    monitored_entities: dict[str, Any] = field(default_factory=dict)
    trigger_conditions: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    severity: str | None = None
    reason: str | None = None
    signals: list[Signal] = field(default_factory=list)


class Builder:
    """Collects signals with their confidence, entities, and the reasons that cap confidence.

    parse_confidence = the best signal's confidence, lowered to the tightest cap any doubt imposed: a rule
    whose event name is exact but which also leans on a regex is only as trustworthy as its weakest part.
    """

    def __init__(self) -> None:
        self._signals: dict[Signal, float] = {}
        self._cap = 1.0
        # dicts as ordered sets: a pattern listing 100k names stays linear (a list's `in` made it quadratic)
        self._reasons: dict[str, None] = {}
        self._entities: dict[str, dict[str, None]] = {}

    @property
    def entities(self) -> dict[str, list[str]]:
        return {kind: list(values) for kind, values in self._entities.items()}

    def signal(self, signal_type: str, value: str, qualifier: str = "exact", confidence: float = EXACT) -> None:
        value = str(value).strip()
        if not value:
            return
        sig = Signal(signal_type, value, qualifier)
        self._signals[sig] = max(confidence, self._signals.get(sig, 0.0))

    def entity(self, kind: str, value: str) -> None:
        values = self._entities.setdefault(kind, {})
        if value:
            values[value] = None

    def doubt(self, reason: str, cap: float) -> None:
        """Record why the parse is less certain; confidence will not exceed `cap`."""
        self._reasons[reason] = None
        self._cap = min(self._cap, cap)

    def note(self, reason: str) -> None:
        """A remark that does not change confidence (e.g. a rule without targets)."""
        self._reasons[reason] = None

    @property
    def signals(self) -> list[Signal]:
        return sorted(self._signals)

    def confidence(self) -> float:
        best = max(self._signals.values(), default=0.0)
        if best == 0.0:
            self._reasons["no detectable signal"] = None
        return round(min(best, self._cap), 2)

    def build(self, trigger_conditions: dict[str, Any], actions: list[str] | None = None,
              severity: str | None = None, confidence: float | None = None) -> ParsedLogic:
        conf = self.confidence() if confidence is None else confidence
        return ParsedLogic(
            parse_confidence=conf,
            monitored_entities={k: v for k, v in self.entities.items() if v},
            trigger_conditions=trigger_conditions,
            actions=list(actions or []),
            severity=normalise_severity(severity),
            reason="; ".join(self._reasons) or None,
            signals=self.signals,
        )


class Recorder:
    """Takes a Builder's calls and replays them into another. A parsing step over a string that repeats across
    accounts (the same CIS filter pattern or event pattern in 1,000 accounts) runs once, is cached with the
    calls it made, and is replayed into each configuration's builder: the output is the same, the work is not
    repeated (half of a first load's parse time went to re-reading identical patterns)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def signal(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("signal", args, kwargs))

    def entity(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("entity", args, kwargs))

    def doubt(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("doubt", args, kwargs))

    def note(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("note", args, kwargs))

    def replay(self, b: Builder) -> None:
        for name, args, kwargs in self.calls:
            getattr(b, name)(*args, **kwargs)


def normalise_severity(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    aliases = {"informational": "info", "information": "info", "moderate": "medium"}
    text = aliases.get(text, text)
    return text if text in SEVERITIES else None


def failed(reason: str, trigger_conditions: dict[str, Any] | None = None) -> ParsedLogic:
    return ParsedLogic(parse_confidence=0.0, trigger_conditions=trigger_conditions or {}, reason=reason)
