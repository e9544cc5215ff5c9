"""Which source describes a scan day: a dated export folder, today's undated export or live AWS, or the
snapshots an earlier load wrote — never today's state filed under another day (docs/export-layout.md, "Days").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from dagster_project.lib.detections.snapshots import SnapshotReader
from dagster_project.lib.settings import Settings
from dagster_project.lib.sources.exports import NotThatDay, dated_days, export_dir_for_day


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class DayPlan:
    """What a day's load reads. At most one of export_dir / export_snapshots, and of aws_live / aws_snapshots."""

    day: date
    export_dir: Path | str | None = None  # the export folder describing the day
    export_snapshots: bool = False  # the day's export scans, re-derived from the snapshot store
    aws_live: bool = False
    aws_snapshots: bool = False  # the day's live-AWS scans, re-derived from the snapshot store

    def describe(self) -> str:
        parts = []
        if self.export_dir is not None:
            parts.append(f"export {self.export_dir}")
        if self.export_snapshots:
            parts.append("export snapshots")
        if self.aws_live:
            parts.append("live AWS")
        if self.aws_snapshots:
            parts.append("live-AWS snapshots")
        return ", ".join(parts) or "no export or AWS source"


def snapshot_location(cfg: Settings) -> Path | str:
    """Where loads keep their snapshots: DCV_SNAPSHOT_URI (s3://bucket/prefix), else $DCV_HOME/snapshots."""
    return cfg.snapshot_uri or cfg.snapshot_dir


def export_configured(export_dir: Path | str) -> bool:
    return str(export_dir).startswith("s3://") or Path(export_dir).is_dir()


def plan_day(cfg: Settings, day: date, today: date | None = None) -> DayPlan:
    """The sources to read for `day` (today: UTC now). Raises NotThatDay (one line) when a configured source
    cannot describe the day and no snapshot of that day can stand in for it.

    - export (DCV_EXPORT_DIR, when it exists): its <day>/ folder, or the undated directory for today only;
      otherwise the export snapshots of that day, if an earlier load wrote them;
    - live AWS (DCV_AWS_ROLE_NAME): today only; otherwise that day's AWS snapshots;
    - no export directory at all: a past day still re-derives from its export snapshots when there are some.
    Sigma/Elastic rule folders (DCV_RULE_REPOS) are read as they are, for any day: they are rule text, not an
    account's state."""
    today = today or utc_today()
    location = snapshot_location(cfg)
    snapshots = SnapshotReader(location)
    export_dir, export_snapshots, aws_live, aws_snapshots = None, False, False, False
    if export_configured(cfg.export_dir):
        try:
            export_dir = export_dir_for_day(cfg.export_dir, day, today)
        except NotThatDay as refused:
            if not snapshots.has_day("export", day):
                raise NotThatDay(f"{refused}; nor does {location} hold export snapshots of {day}") from None
            export_snapshots = True
    elif day != today and snapshots.has_day("export", day):
        export_snapshots = True
    if cfg.aws_scan:
        if day == today:
            aws_live = True
        elif snapshots.has_day("aws", day):
            aws_snapshots = True
        else:
            raise NotThatDay(f"live AWS collection (DCV_AWS_ROLE_NAME) sees the accounts as they are today, {today} "
                             f"(UTC), not {day}, and {location} holds no AWS snapshot of {day}")
    return DayPlan(day, export_dir, export_snapshots, aws_live, aws_snapshots)


def plan_days(cfg: Settings, days: list[date], today: date | None = None) -> list[DayPlan]:
    """Every day's plan, before anything is written: one day that cannot be described stops them all."""
    return [plan_day(cfg, day, today) for day in days]


def first_local_day(cfg: Settings) -> date | None:
    """The earliest scan day the local sources hold: a dated export folder or a day of the local snapshot store.
    Read when the definitions load, so it never reaches the network (an s3:// export or store is not listed)."""
    folders = [] if str(cfg.export_dir).startswith("s3://") else [Path(cfg.export_dir)]
    if cfg.snapshot_dir.is_dir():
        folders += [source for source in cfg.snapshot_dir.iterdir() if source.is_dir()]
    return min((day for folder in folders if folder.is_dir() for day in dated_days(folder)), default=None)
