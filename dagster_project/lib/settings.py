"""Where things live and how the project is configured — computed once, from the environment.

Every public name here is documented in README.md (DESIGN.md §8 fixes the names).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
MIGRATIONS_DIR = PROJECT_ROOT / "schema" / "migrations"



def coverage_min_confidence() -> float:
    """The confidence from which coverage counts a mapping (the dbt var), for what reads coverage outside dbt."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return float(project["vars"]["coverage_min_confidence"])


WAREHOUSE_DB = "dcv"
DAGSTER_DB = "dagster"
DEFAULT_PG_PORT = 54329

# Roles created by the first migration. The connecting user is granted membership so it can SET ROLE.
INGEST_ROLE = "dcv_ingest"
TRANSFORM_ROLE = "dcv_transform"
BI_ROLE = "bi_reader"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None  # None = embedded server under home/pgdata
    pg_port: int | None  # None: DEFAULT_PG_PORT, or the next free one if another program holds it
    attack_source: str | None
    knowledge_source: str | None  # external mapping files (CTID); None = the CTID AWS file in shared_dir
    shared_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.home / "dagster")

    @property
    def snapshot_dir(self) -> Path:
        return self.home / "snapshots"

    @property
    def snapshot_uri(self) -> str | None:
        """DCV_SNAPSHOT_URI=s3://bucket/prefix: each scan's compressed snapshot goes to that S3 prefix (dagster-aws
        S3Resource, boto3's own credentials and AWS_ENDPOINT_URL_S3). None (unset): files under snapshot_dir."""
        value = (os.environ.get("DCV_SNAPSHOT_URI") or "").strip()
        if not value:
            return None
        bucket, prefix = split_s3_uri(value, "DCV_SNAPSHOT_URI")
        return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    @property
    def export_dir(self) -> Path:
        """Where AWS CLI-shaped export files are read from (docs/export-layout.md); DCV_EXPORT_DIR overrides."""
        return Path(os.environ.get("DCV_EXPORT_DIR") or self.home / "exports")

    @property
    def rule_repos(self) -> list[tuple[str, Path]]:
        """DCV_RULE_REPOS='sigma=/path,elastic=/path': detection-as-code folders to collect."""
        repos = []
        for item in filter(None, (os.environ.get("DCV_RULE_REPOS") or "").split(",")):
            kind, _, path = item.partition("=")
            if kind.strip() not in ("sigma", "elastic") or not path:
                raise ValueError(f"DCV_RULE_REPOS entry {item!r} must look like sigma=/path or elastic=/path")
            repos.append((kind.strip(), Path(path.strip()).expanduser()))
        return repos

    @property
    def replay_scenario_folders(self) -> list[Path]:
        """Folders of replay scenarios (docs/replay.md): DCV_REPLAY_SCENARIOS (comma-separated), else Stratus Red
        Team and TrailDiscover in shared_dir when present, plus $DCV_HOME/scenarios (your own) when it exists."""
        listed = _csv("DCV_REPLAY_SCENARIOS")
        if listed:
            return [Path(p).expanduser() for p in listed]
        folders = [self.shared_dir / "stratus-red-team", self.shared_dir / "traildiscover", self.home / "scenarios"]
        return [f for f in folders if f.is_dir()]

    @property
    def read_workers(self) -> int:
        """Processes reading and hashing export files while the load streams them (DCV_EXPORT_WORKERS; 1 =
        in the loading process). Default: one per CPU."""
        return max(1, int(os.environ.get("DCV_EXPORT_WORKERS") or os.cpu_count() or 1))

    @property
    def aws_scan(self) -> dict | None:
        """Live AWS collection, on when DCV_AWS_ROLE_NAME is set (the role assumed in each account)."""
        role = os.environ.get("DCV_AWS_ROLE_NAME")
        if not role:
            return None
        return {"role_name": role, "regions": _csv("DCV_AWS_REGIONS") or None,
                "accounts": _csv("DCV_AWS_ACCOUNTS") or None,
                "max_workers": int(os.environ.get("DCV_SCAN_WORKERS") or 8)}

    @property
    def embedded(self) -> bool:
        return self.database_url is None


# S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def split_s3_uri(uri: str, variable: str) -> tuple[str, str]:
    """'s3://bucket/some/prefix/' -> ('bucket', 'some/prefix'); anything else is a one-line ValueError naming
    `variable`."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not _BUCKET.fullmatch(bucket) or "//" in prefix.strip("/") \
            or any(c.isspace() for c in prefix):
        raise ValueError(f"{variable}={uri!r} is not an S3 location: use s3://bucket/prefix (bucket: 3-63 "
                         "lowercase letters, digits, dots or hyphens), or unset it for $DCV_HOME/snapshots")
    return bucket, prefix.strip("/")


def _csv(name: str) -> list[str]:
    return [v.strip() for v in (os.environ.get(name) or "").split(",") if v.strip()]


def check_database_url(url: str, variable: str = "DCV_DATABASE_URL") -> str:
    """The URL if libpq can read it; otherwise a one-line ValueError naming `variable` and what is wrong, never
    the value itself (it holds a password)."""
    from psycopg import conninfo

    usage = "use postgresql://user:password@host:5432/dcv, with '@', ':' or '/' in the password written %40, %3A, %2F"
    if "://" in url:
        scheme, _, rest = url.partition("://")
        if scheme not in ("postgresql", "postgres"):
            raise ValueError(f"{variable} is not a PostgreSQL URL (it starts with {scheme[:20]!r}): {usage}")
        authority, _, path = rest.split("?", 1)[0].partition("/")
        if authority.count("@") > 1 or "@" in path:
            raise ValueError(f"{variable} has an '@' where libpq does not expect one (an '@' or '/' in the "
                             f"password?): {usage}")
    try:
        params = conninfo.conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 -- psycopg's message quotes the value, which may hold the password
        raise ValueError(f"{variable} is not a PostgreSQL URL or connection string: {usage}") from None
    port = str(params.get("port") or "")
    if port and not all(p.isdigit() for p in port.split(",")):
        raise ValueError(f"{variable} has a port that is not a number: {usage}")
    return url


def external_url_from_env(env: os._Environ[str] | dict[str, str]) -> str | None:
    """DCV_DATABASE_URL wins; otherwise the standard libpq PG* variables mean "an external server"."""
    if env.get("DCV_DATABASE_URL"):
        return check_database_url(env["DCV_DATABASE_URL"])
    if env.get("PGHOST") or env.get("PGDATABASE"):
        # An empty conninfo makes libpq read PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE itself.
        return "postgresql://"
    return None


def load(env: os._Environ[str] | dict[str, str] = os.environ) -> Settings:
    home = Path(env.get("DCV_HOME") or PROJECT_ROOT / ".dcv").expanduser().resolve()
    port_text = env.get("DCV_PG_PORT")
    if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"DCV_PG_PORT={port_text!r} is not a TCP port number (1-65535)")
    return Settings(
        home=home,
        database_url=external_url_from_env(env),
        pg_port=int(port_text) if port_text else None,
        attack_source=env.get("DCV_ATTACK_SOURCE") or None,
        knowledge_source=env.get("DCV_KNOWLEDGE_SOURCE") or None,
        shared_dir=Path(env.get("DCV_SHARED") or PROJECT_ROOT.parent / "shared").resolve(),
    )
