"""Offline front-end assets: Solara's asset cache filled from a registry or a folder of tarballs."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.app.assets import (
    REQUIRED_ASSETS, Asset, AssetError, default_cache_dir, ensure_assets, is_present, missing_assets,
)
from sim.cli import app

FAKE = (Asset("@scope/widget-app@1.2.3", "dist/app.js"), Asset("lib@5", "build/lib.min.js"))


def make_tarball(folder: Path, name: str, version: str, files: dict[str, str], top: str = "package") -> Path:
    """An npm-style tarball: every file under one top folder, with a package.json."""
    files = {"package.json": json.dumps({"name": name, "version": version}), **files}
    path = folder / f"{name.strip('@').replace('/', '-')}-{version}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tarballs(tmp_path) -> Path:
    folder = tmp_path / "tarballs"
    folder.mkdir()
    make_tarball(folder, "@scope/widget-app", "1.2.3", {"dist/app.js": "app()", "dist/app.css": "a{}"})
    make_tarball(folder, "lib", "4.9.0", {"build/lib.min.js": "old"})
    make_tarball(folder, "lib", "5.2.0", {"build/lib.min.js": "five-two"})
    make_tarball(folder, "lib", "5.10.1", {"build/lib.min.js": "five-ten"}, top="lib")  # any top folder
    make_tarball(folder, "lib", "6.0.0", {"build/lib.min.js": "six"})
    (folder / "notes.txt").write_text("not a tarball")
    return folder


def test_fills_a_cache_from_a_folder_and_is_idempotent(tarballs, tmp_path):
    cache = tmp_path / "cdn"
    assert ensure_assets(source=tarballs, cache_dir=cache, assets=FAKE) == cache
    app_dir = cache / "@scope" / "widget-app@1.2.3"
    assert (app_dir / "dist" / "app.js").read_text() == "app()"
    assert json.loads((app_dir / "package.json").read_text())["version"] == "1.2.3"
    assert (cache / "lib@5" / "build" / "lib.min.js").read_text() == "five-ten"  # the newest 5.x
    assert not list(cache.rglob("package/*")), "the tarball's top folder must be stripped"
    (app_dir / "marker").write_text("kept")  # gone if the package were unpacked again
    start = time.perf_counter()
    ensure_assets(source=tarballs, cache_dir=cache, assets=FAKE)
    assert time.perf_counter() - start < 0.5
    assert (app_dir / "marker").is_file(), "a complete package is left alone"
    assert sorted(p.name for p in cache.iterdir()) == ["@scope", "lib@5"], "no temporary folders left"


def test_replaces_an_incomplete_package(tarballs, tmp_path):
    """Solara's online proxy caches single files; without package.json the folder is refilled."""
    cache = tmp_path / "cdn"
    partial = cache / "lib@5" / "build"
    partial.mkdir(parents=True)
    (partial / "lib.min.js").write_text("half")
    ensure_assets(source=tarballs, cache_dir=cache, assets=FAKE)
    assert (partial / "lib.min.js").read_text() == "five-ten"
    assert (cache / "lib@5" / "package.json").is_file()


def test_missing_tarball_names_the_package(tarballs, tmp_path):
    with pytest.raises(AssetError, match=r"^nothing@7: no tarball of it in "):
        ensure_assets(source=tarballs, cache_dir=tmp_path / "cdn", assets=(Asset("nothing@7", "x.js"),))


def test_bad_source_is_one_clear_line(tmp_path):
    with pytest.raises(AssetError, match="neither an http"):
        ensure_assets(source=tmp_path / "absent", cache_dir=tmp_path / "cdn", assets=FAKE)


def test_unreachable_registry_is_one_clear_line(tmp_path, monkeypatch):
    """Port 9 (discard) on localhost refuses at once: no network is needed to see the message."""
    monkeypatch.setattr("sim.app.assets.shutil.which", lambda name: None)  # the plain-HTTPS path
    with pytest.raises(AssetError) as caught:
        ensure_assets(source="http://127.0.0.1:9/", cache_dir=tmp_path / "cdn", assets=FAKE)
    message = str(caught.value)
    assert "\n" not in message and "cannot reach" in message and "@scope/widget-app@1.2.3" in message
    assert not (tmp_path / "cdn" / "@scope").exists()


def test_source_from_the_environment(tarballs, tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDSIM_ASSETS_SOURCE", str(tarballs))
    ensure_assets(cache_dir=tmp_path / "cdn", assets=FAKE)
    assert all(is_present(asset, tmp_path / "cdn") for asset in FAKE)


def test_cli_assets_bad_source_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["assets", "--source", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert len([ln for ln in result.output.splitlines() if ln.strip()]) == 1


def test_default_cache_is_solaras(monkeypatch, tmp_path):
    from solara.server import settings

    monkeypatch.delenv("SOLARA_ASSETS_PROXY_CACHE_DIR", raising=False)
    assert default_cache_dir() == Path(settings.assets.proxy_cache_dir)
    monkeypatch.setenv("SOLARA_ASSETS_PROXY_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path


def test_the_real_cache_is_complete_after_ensure_assets():
    """Every package the page loads is in this environment's cache (fetched if missing)."""
    cache = ensure_assets()
    assert not missing_assets(cache), f"missing in {cache}: {[a.spec for a in missing_assets(cache)]}"
    for asset in REQUIRED_ASSETS:
        assert (cache / asset.spec / asset.probe).stat().st_size > 0
    assert os.access(cache / "requirejs@2.3.6" / "require.js", os.R_OK)
