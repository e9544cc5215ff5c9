"""The ATT&CK bundles every command loads are the same, and a bundle named by URL is fetched once: `make ui`
loads what `make demo` loads, and a second load works offline."""

import http.server
import threading
from pathlib import Path

import pytest

from dagster_project.lib import settings
from dagster_project.lib.attack import sources


def _cfg(tmp_path: Path, attack_source: str | None = None) -> settings.Settings:
    return settings.Settings(home=tmp_path / "home", database_url=None, pg_port=None, attack_source=attack_source,
                             knowledge_source=None, shared_dir=tmp_path / "shared")


def test_unset_the_asset_loads_every_shared_bundle_as_the_demo_does(tmp_path):
    attack = tmp_path / "shared" / "attack"
    attack.mkdir(parents=True)
    for version in ("16.1", "17.1", "18.1"):
        (attack / f"enterprise-attack-{version}.json.gz").write_bytes(b"")
    cfg = _cfg(tmp_path)
    assert sources.attack_sources(cfg) == sources.local_attack_sources(cfg, every_version=True)
    assert [Path(p).name for p in sources.attack_sources(cfg)] == [
        f"enterprise-attack-{v}.json.gz" for v in ("16.1", "17.1", "18.1")]


def test_an_explicit_source_wins(tmp_path):
    assert sources.attack_sources(_cfg(tmp_path, "a.json,b.json")) == ["a.json", "b.json"]


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "enterprise-attack-18.1.json").write_text('{"type": "bundle"}')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}/enterprise-attack-18.1.json"
    httpd.shutdown()


def test_a_url_is_downloaded_once_and_read_offline_afterwards(tmp_path, server):
    httpd, url = server
    cache = sources.attack_cache(_cfg(tmp_path))
    assert sources.fetch(url, "DCV_ATTACK_SOURCE", cache) == b'{"type": "bundle"}'
    assert [p.name for p in cache.iterdir()] == [sources.cache_name(url)]
    httpd.shutdown()
    httpd.server_close()  # offline from here on
    assert sources.fetch(url, "DCV_ATTACK_SOURCE", cache) == b'{"type": "bundle"}'
    with pytest.raises(sources.SourceError, match="cannot download"):
        sources.fetch(url, "DCV_ATTACK_SOURCE")  # without the cache, the download is attempted and fails
