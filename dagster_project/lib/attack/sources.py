"""Where ATT&CK and external knowledge come from: DCV_ATTACK_SOURCE / DCV_KNOWLEDGE_SOURCE, else pinned defaults.

ATT&CK bundles, when DCV_ATTACK_SOURCE is unset: every release in DCV_SHARED up to PINNED_VERSION (what `make
demo`, `make run` and `make ui` all load), else the official STIX 2.1 bundle of PINNED_VERSION (and the older
releases the knowledge sources name), downloaded once into DCV_HOME/attack and verified against the sha256 that
mitreattack-python publishes for that release. A bundle named by URL is downloaded once into
DCV_HOME/cache/attack and read from there afterwards, so a later load works offline.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from mitreattack import release_info

from dagster_project.lib.settings import Settings

PINNED_VERSION = "18.1"
DOMAIN = "enterprise-attack"
OFFICIAL_URL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/{domain}/{domain}-{version}.json"
CTID_AWS_URL = ("https://center-for-threat-informed-defense.github.io/mappings-explorer/data/aws/attack-16.1/"
                "aws-12.12.2024/enterprise/aws-12.12.2024_attack-16.1-enterprise.json")


class SourceError(RuntimeError):
    """A source that cannot be read, stated with the variable to set."""


def split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def is_url(ref: str) -> bool:
    return ref.startswith(("https://", "http://"))


def fetch(ref: str, variable: str, cache_dir: Path | None = None) -> bytes:
    """The bytes of a local path or URL; errors name the source and the variable that chose it. With
    `cache_dir`, a URL is downloaded once into it and read from there afterwards (delete the file to fetch
    it again)."""
    if is_url(ref):
        cached = cache_dir / cache_name(ref) if cache_dir is not None else None
        if cached is not None and cached.is_file():
            return cached.read_bytes()
        try:
            with urllib.request.urlopen(ref, timeout=60) as response:  # noqa: S310 (http/https only, is_url)
                data = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SourceError(f"cannot download {ref} ({exc}); without network set {variable} to a local "
                              "file (.json or .json.gz)") from None
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f".{cached.name}.partial")
            partial.write_bytes(data)
            partial.replace(cached)  # atomic: a reader sees no file or the whole download
        return data
    path = Path(ref).expanduser()
    if not path.is_file():
        raise SourceError(f"{ref}: no such file (from {variable})")
    return path.read_bytes()


def cache_name(url: str) -> str:
    """A URL's file name in the cache: its own name, prefixed by a digest of the whole URL (two releases may
    share a name)."""
    name = Path(urllib.parse.urlsplit(url).path).name or "download"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"


def attack_cache(cfg: Settings) -> Path:
    """Where ATT&CK bundles named by URL are kept after their first download."""
    return cfg.home / "cache" / "attack"


def official_sha256(version: str, spec: str = "2.1") -> str | None:
    table = release_info.STIX21 if spec == "2.1" else release_info.STIX20
    return table.get("enterprise", {}).get(version)


def pinned_bundle(cfg: Settings, version: str = PINNED_VERSION) -> str:
    """The official bundle cached under DCV_HOME/attack, downloaded and verified on first use."""
    url = OFFICIAL_URL.format(domain=DOMAIN, version=version)
    path = cfg.home / "attack" / f"{DOMAIN}-{version}.json"
    expected = official_sha256(version)
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == expected:
        return str(path)
    try:
        data = fetch(url, "DCV_ATTACK_SOURCE")
    except SourceError as exc:
        raise SourceError(f"ATT&CK {version} is not cached in {path.parent} and {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if expected and digest != expected:
        raise SourceError(f"{url}: sha256 {digest} does not match the official ATT&CK {version} release "
                          f"({expected}); set DCV_ATTACK_SOURCE to a trusted copy")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def attack_sources(cfg: Settings) -> list[str]:
    """What the attack_bundles asset loads, whichever command runs it (demo, run, the UI, the schedule):
    DCV_ATTACK_SOURCE (comma-separated paths/URLs), else every release in DCV_SHARED up to the pinned one
    (`shared_bundles`), else the pinned official release, preceded by the official releases the knowledge
    sources are written against (CTID's AWS file names ATT&CK 16.1): an indicator reaches the active version
    through the version it names, and is otherwise only listed as unmapped."""
    if cfg.attack_source:
        return split(cfg.attack_source)
    return shared_bundles(cfg, every_version=True) or (
        [pinned_bundle(cfg, v) for v in knowledge_attack_versions(cfg)] + [pinned_bundle(cfg)])


def knowledge_attack_versions(cfg: Settings) -> list[str]:
    """ATT&CK versions older than the pinned one that the knowledge sources' names carry
    ('..._attack-16.1-enterprise.json' -> '16.1'), oldest first."""
    named = {m for ref in knowledge_sources(cfg, cfg.knowledge_source)
             for m in re.findall(r"attack-(\d+\.\d+)", Path(ref).name)}
    return sorted((v for v in named if _numbers(v) < _numbers(PINNED_VERSION)), key=_numbers)


def local_attack_sources(cfg: Settings, *, every_version: bool = False) -> list[str]:
    """For offline commands (demo, eval, bench, tests): DCV_ATTACK_SOURCE, else the 18.1 bundle in DCV_SHARED
    (with `every_version`, every bundle there up to 18.1, oldest first: what attack_sources loads), else the
    pinned official release."""
    if cfg.attack_source:
        return split(cfg.attack_source)
    return shared_bundles(cfg, every_version=every_version) or attack_sources(cfg)


def shared_bundles(cfg: Settings, *, every_version: bool = False) -> list[str]:
    """The pinned release's bundle in DCV_SHARED (with `every_version`, every release there up to it, oldest
    first); none when DCV_SHARED does not hold the pinned release.

    Every version, because the CTID mappings are written against 16.1: an indicator is carried to the active
    version through the version it names, and with 16.1 not loaded CTID's 290 finding-type and Config-rule
    indicators are only listed in review_state_unmapped ('ATT&CK 16.1 is not loaded')."""
    shared = cfg.shared_dir / "attack" / f"{DOMAIN}-{PINNED_VERSION}.json.gz"
    if not shared.is_file():
        return []
    if not every_version:
        return [str(shared)]
    older = [p for p in shared.parent.glob(f"{DOMAIN}-*.json.gz") if _version(p) < _version(shared)]
    return [str(p) for p in sorted(older, key=_version)] + [str(shared)]


def _version(path: Path) -> tuple[int, ...]:
    """enterprise-attack-16.1.json.gz -> (16, 1)."""
    return _numbers(path.name.removeprefix(f"{DOMAIN}-").split(".json")[0])


def _numbers(version: str) -> tuple[int, ...]:
    """'16.1' -> (16, 1); (0,) for anything else."""
    parts = version.split(".")
    return tuple(int(x) for x in parts) if all(x.isdigit() for x in parts) else (0,)


def knowledge_sources(cfg: Settings, env_value: str | None) -> list[str]:
    """DCV_KNOWLEDGE_SOURCE (comma-separated), else the CTID AWS, Azure and GCP files in DCV_SHARED (else the AWS
    file's official URL) and, when present, the TrailDiscover folder (CloudTrail events -> techniques, incidents)
    and the Stratus Red Team folder (attack techniques -> the CloudTrail events their detonations produced) in
    DCV_SHARED."""
    if env_value:
        return split(env_value)
    local = sorted(p for provider in ("aws", "azure", "gcp")
                   for p in (cfg.shared_dir / "ctid" / "mappings-explorer").glob(f"{provider}-*.json"))
    traildiscover = cfg.shared_dir / "traildiscover"
    stratus = cfg.shared_dir / "stratus-red-team"
    return (([str(p) for p in local] or [CTID_AWS_URL])
            + ([str(traildiscover)] if (traildiscover / "events").is_dir() else [])
            + ([str(stratus)] if (stratus / "docs" / "attack-techniques" / "AWS").is_dir() else []))
