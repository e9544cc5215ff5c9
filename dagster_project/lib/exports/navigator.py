"""ATT&CK Navigator layers (format 4.5) from coverage rows, validated by mitreattack-python's navlayers.

A layer colours each technique by its coverage score (0-100), with the rationale as the comment and the
covering detections as metadata, so a reader can see *why* a cell is green.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

LAYER_FORMAT = "4.5"
NAVIGATOR_VERSION = "5.1.0"
MAX_METADATA_DETECTIONS = 25  # keep layers readable (and small) for techniques covered by hundreds of rules

# coverage: 0 red (in scope, not covered), partial yellow, 100 green (covered)
COVERAGE_GRADIENT = {"colors": ["#ff6666ff", "#ffe766ff", "#8ec843ff"], "minValue": 0, "maxValue": 100}
COVERAGE_LEGEND = (
    {"label": "in scope, not covered", "color": "#ff6666ff"},
    {"label": "partly covered", "color": "#ffe766ff"},
    {"label": "covered", "color": "#8ec843ff"},
)


@dataclass(frozen=True)
class TechniqueScore:
    technique_id: str  # T1078 or T1078.004
    score: float | None  # 0..100; None = no score (the cell is annotated, not coloured)
    comment: str = ""
    detections: tuple[str, ...] = field(default_factory=tuple)
    tactic: str | None = None  # x_mitre shortname, e.g. 'initial-access'; None = every tactic of the technique
    show_subtechniques: bool = False  # on a parent: Navigator opens its sub-techniques
    metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # more (name, value) after detections


def build_layer(name: str, description: str, attack_version: str, scores: Iterable[TechniqueScore],
                platforms: Iterable[str] = ("IaaS", "SaaS", "Identity Provider", "Office Suite"),
                gradient: dict | None = None, legend: Iterable[dict] | None = None) -> dict:
    """A layer dict in Navigator format 4.5; raises ValueError if navlayers rejects it. Without gradient and
    legend, the coverage ones (0 red, partial yellow, 100 green)."""
    techniques = []
    for s in scores:
        entry = {"techniqueID": s.technique_id}
        if s.score is not None:
            entry["score"] = round(max(0.0, min(100.0, float(s.score))), 1)
        entry |= {
            "comment": s.comment,
            "enabled": True,
            "showSubtechniques": s.show_subtechniques,
            "metadata": [{"name": "detection", "value": d} for d in s.detections[:MAX_METADATA_DETECTIONS]],
        }
        if len(s.detections) > MAX_METADATA_DETECTIONS:
            entry["metadata"].append({"name": "more", "value": f"{len(s.detections) - MAX_METADATA_DETECTIONS}"})
        entry["metadata"] += [{"name": key, "value": value} for key, value in s.metadata]
        if s.tactic:
            entry["tactic"] = s.tactic
        techniques.append(entry)
    layer = {
        "name": name,
        "versions": {"attack": attack_version.split(".")[0], "navigator": NAVIGATOR_VERSION, "layer": LAYER_FORMAT},
        "domain": "enterprise-attack",
        "description": description,
        "filters": {"platforms": list(platforms)},
        "sorting": 3,  # by score, descending
        "layout": {"layout": "side", "showID": True, "showName": True},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": dict(gradient or COVERAGE_GRADIENT),
        "legendItems": [dict(item) for item in (COVERAGE_LEGEND if legend is None else legend)],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }
    validate(layer)
    return layer


def validate(layer: dict) -> None:
    """Round-trip through navlayers in strict mode: unknown fields, bad types or a bad version raise."""
    from mitreattack.navlayers import Layer

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # navlayers prints complaints
        warnings.simplefilter("ignore")
        try:
            parsed = Layer(strict=True)
            parsed.from_dict(layer)
            again = parsed.to_dict()
        except Exception as exc:  # navlayers raises its own hierarchy plus KeyError/TypeError
            raise ValueError(f"not a valid Navigator {LAYER_FORMAT} layer: {exc}") from exc
    if not again:  # strict mode reports some errors by leaving the layer empty instead of raising
        raise ValueError(f"not a valid Navigator {LAYER_FORMAT} layer: navlayers rejected it")
    if again.get("versions", {}).get("layer") != LAYER_FORMAT:
        raise ValueError(f"layer format must be {LAYER_FORMAT}, got {again.get('versions')}")
    if len(again.get("techniques", [])) != len(layer["techniques"]):
        raise ValueError("navlayers dropped techniques: check technique ids and fields")
