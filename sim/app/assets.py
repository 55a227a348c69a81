"""Offline front-end assets: fill Solara's asset cache so ``feedsim app`` works without internet.

The page's JavaScript and CSS normally come from a CDN through Solara's asset proxy. A
classroom behind a firewall cannot reach the CDN, and the page stays blank. Solara serves
anything already in its proxy cache, so :func:`ensure_assets` puts every npm package the page
loads there: for each spec in :data:`REQUIRED_ASSETS` it fetches the package's tarball and
unpacks it (without the tarball's top folder) into ``<cache>/<spec>``.

Where the tarballs come from (the *source*):

- the npm registry, by default: ``npm pack`` when npm is installed (it honours npm's own
  registry setting), else a plain HTTPS download from ``https://registry.npmjs.org/``;
- another registry: an ``http(s)://`` URL (a mirror such as Verdaccio or Artifactory);
- a local folder of tarballs (``npm pack`` output, copied in by hand): each tarball's
  ``package.json`` says which package and version it holds.

Give the source as an argument or in the ``FEEDSIM_ASSETS_SOURCE`` environment variable.
The cache is Solara's ``SOLARA_ASSETS_PROXY_CACHE_DIR``, by default
``<environment prefix>/share/solara/cdn``. A package whose folder already holds its
``package.json`` and the file the page loads is left alone, so a second call costs a few
file checks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
SOURCE_ENV = "FEEDSIM_ASSETS_SOURCE"
CACHE_ENV = "SOLARA_ASSETS_PROXY_CACHE_DIR"
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Asset:
    """One npm package the page loads.

    Attributes:
        spec: ``name@version`` as the page's URLs spell it (a version or a major version).
        probe: A file inside the package the page requests; present when the package is.
    """

    spec: str
    probe: str

    @property
    def name(self) -> str:
        """The package name (``@scope/name`` or ``name``)."""
        return self.spec.rsplit("@", 1)[0]

    @property
    def version(self) -> str:
        """The version or version prefix after the last ``@``."""
        return self.spec.rsplit("@", 1)[1]


REQUIRED_ASSETS: tuple[Asset, ...] = (
    Asset("@widgetti/solara-vuetify-app@10.1.1", "dist/fonts.css"),
    Asset("requirejs@2.3.6", "require.js"),
    Asset("font-awesome@4.5.0", "css/font-awesome.min.css"),
    Asset("@widgetti/vue-grid-layout@2.3.13-alpha.2", "dist/vue-grid-layout.umd.js"),
    Asset("vega@5", "build/vega.min.js"),
    Asset("vega-lite@5", "build/vega-lite.min.js"),
    Asset("vega-embed@6", "build/vega-embed.min.js"),
)
"""Every package the page loads from Solara's CDN (the Vuetify app, requirejs, Font Awesome,
the grid layout, and vega for Altair charts)."""


class AssetError(Exception):
    """An asset could not be fetched or unpacked; the message is one line."""


def default_cache_dir() -> Path:
    """Solara's asset proxy cache, as the Solara server resolves it.

    ``SOLARA_ASSETS_PROXY_CACHE_DIR`` when set, else Solara's default
    ``<prefix>/share/solara/cdn`` (``solara.server.settings.assets.proxy_cache_dir``).
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def is_present(asset: Asset, cache_dir: Path) -> bool:
    """True when the package is unpacked in the cache (its package.json and its probe file)."""
    folder = Path(cache_dir) / asset.spec
    return (folder / "package.json").is_file() and (folder / asset.probe).is_file()


def missing_assets(cache_dir: str | Path | None = None) -> list[Asset]:
    """The required packages not (completely) in the cache."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return [a for a in REQUIRED_ASSETS if not is_present(a, cache)]


def ensure_assets(
    verbose: bool = False,
    *,
    source: str | Path | None = None,
    cache_dir: str | Path | None = None,
    assets: tuple[Asset, ...] = REQUIRED_ASSETS,
) -> Path:
    """Fill Solara's asset cache with every package the page needs; fetch only what is missing.

    Args:
        verbose: Print one line per package fetched.
        source: A registry URL or a folder of tarballs; default ``$FEEDSIM_ASSETS_SOURCE``,
            else the npm registry.
        cache_dir: The cache to fill; default :func:`default_cache_dir`.
        assets: The packages to ensure.

    Returns:
        The cache folder.

    Raises:
        AssetError: A package could not be fetched (registry unreachable, not in the folder)
            or unpacked. Packages unpacked before the failure stay; none is left half-written.
    """
    fetch = _fetcher(source if source is not None else os.environ.get(SOURCE_ENV) or None)  # checks the source
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    todo = [a for a in assets if not is_present(a, cache)]
    if not todo:
        return cache
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssetError(f"asset cache: cannot create {cache} ({exc.strerror or exc})") from None
    with tempfile.TemporaryDirectory(prefix="feedsim-assets-") as work:
        for asset in todo:
            tarball = fetch(asset, Path(work))
            try:
                unpack(tarball, cache / asset.spec, asset.probe)
            except OSError as exc:
                raise AssetError(f"{asset.spec}: cannot write {cache / asset.spec} ({exc.strerror or exc})") from None
            if not is_present(asset, cache):
                raise AssetError(f"{asset.spec}: the tarball has no {asset.probe}")
            if verbose:
                print(f"assets: {asset.spec} -> {cache / asset.spec}")
    return cache


def unpack(tarball: Path, target: Path, probe: str | None = None) -> None:
    """Unpack an npm tarball into ``target`` without its top folder (``tar --strip-components=1``).

    The files go to a temporary sibling first and are moved into place at once, so a reader
    never sees half a package; an incomplete folder already there (e.g. single files Solara's
    proxy cached while online; complete = its package.json and ``probe``) is replaced.
    """

    def complete() -> bool:
        return (target / "package.json").is_file() and (probe is None or (target / probe).is_file())

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            with tarfile.open(tarball, "r:*") as tar:
                tar.extractall(tmp, filter=_strip_top_folder)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise AssetError(f"{tarball.name}: not a readable npm tarball ({exc})") from None
        if complete():
            return  # another process completed it meanwhile
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not complete():  # not completed by another process either
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _relative(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def _strip_top_folder(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    parts = _relative(member.name).split("/", 1)
    if len(parts) < 2 or not parts[1]:
        return None
    return tarfile.data_filter(member.replace(name=parts[1], deep=False), dest)


# -- sources ------------------------------------------------------------------------------------


def _fetcher(source: str | Path | None):
    """``fetch(asset, work_dir) -> tarball path`` for the source."""
    if source is None:
        return _npm_pack(None) if shutil.which("npm") else _download(DEFAULT_REGISTRY)
    text = str(source)
    if re.match(r"https?://", text):
        return _npm_pack(text) if shutil.which("npm") else _download(text)
    folder = Path(text).expanduser()
    if folder.is_dir():
        return _from_folder(folder)
    raise AssetError(f"assets source: {text} is neither an http(s) registry URL nor a folder of tarballs")


def _npm_pack(registry: str | None):
    def fetch(asset: Asset, work: Path) -> Path:
        cmd = ["npm", "pack", asset.spec, "--json", "--fetch-retries=1", "--fetch-timeout=20000", "--loglevel=error"]
        if registry:
            cmd.append(f"--registry={registry}")
        where = registry or "npm's registry"
        try:
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise AssetError(f"{asset.spec}: npm pack timed out; is {where} reachable?") from None
        if done.returncode != 0:
            raise AssetError(f"{asset.spec}: npm pack failed from {where}: {_npm_reason(done.stdout, done.stderr)}")
        try:
            return work / json.loads(done.stdout)[0]["filename"]
        except (ValueError, LookupError, TypeError):
            raise AssetError(f"{asset.spec}: npm pack gave unexpected output") from None

    return fetch


def _npm_reason(stdout: str, stderr: str) -> str:
    """npm's own one-line summary of a failure (its --json error, else the telling stderr line)."""
    try:
        summary = json.loads(stdout)["error"]["summary"]
        if summary:
            return " ".join(str(summary).split())
    except (ValueError, LookupError, TypeError):
        pass
    lines = [ln.removeprefix("npm error").removeprefix("npm ERR!").strip() for ln in stderr.splitlines()]
    useful = [ln for ln in lines if ln and not ln.startswith(("A complete log", "/"))]
    for ln in useful:
        if re.search(r"E[A-Z0-9]{3,}|404|network|getaddrinfo|timed out", ln):
            return ln
    return useful[0] if useful else "no message"


def _download(registry: str):
    base = registry if registry.endswith("/") else registry + "/"

    def fetch(asset: Asset, work: Path) -> Path:
        packument = json.loads(_get(base + urllib.parse.quote(asset.name, safe="@"), asset))
        versions = packument.get("versions", {})
        version = pick_version(asset.version, versions, packument.get("dist-tags", {}))
        if version is None:
            raise AssetError(f"{asset.spec}: no matching version at {base}")
        url = versions[version]["dist"]["tarball"]
        path = work / f"{asset.name.strip('@').replace('/', '-')}-{version}.tgz"
        path.write_bytes(_get(url, asset))
        return path

    return fetch


def _get(url: str, asset: Asset) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise AssetError(f"{asset.spec}: {url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AssetError(f"{asset.spec}: cannot reach {url} ({reason}); is the registry reachable?") from None


def _from_folder(folder: Path):
    def fetch(asset: Asset, work: Path) -> Path:
        found = {}
        for tarball in sorted([*folder.glob("*.tgz"), *folder.glob("*.tar.gz")]):
            meta = _package_json(tarball)
            if meta.get("name") == asset.name and isinstance(meta.get("version"), str):
                found[meta["version"]] = tarball
        version = pick_version(asset.version, found)
        if version is None:
            raise AssetError(f"{asset.spec}: no tarball of it in {folder}")
        return found[version]

    return fetch


def _package_json(tarball: Path) -> dict:
    """The top-level package.json of an npm tarball ({} when unreadable)."""
    try:
        with tarfile.open(tarball, "r:*") as tar:
            for member in tar:
                parts = _relative(member.name).split("/")
                if len(parts) == 2 and parts[1] == "package.json" and member.isfile():
                    return json.loads(tar.extractfile(member).read())
    except (tarfile.TarError, OSError, EOFError, ValueError):
        pass
    return {}


def pick_version(wanted: str, versions, dist_tags: dict | None = None) -> str | None:
    """The version a spec means: itself when published, else the highest release matching a
    prefix (``"5"`` -> the newest 5.x.y; ``"5.2"`` -> the newest 5.2.y), else a dist-tag.

    >>> pick_version("5", ["4.9.0", "5.1.0", "5.30.0", "6.0.0", "5.31.0-rc.1"])
    '5.30.0'
    >>> pick_version("2.3.13-alpha.2", ["2.3.12", "2.3.13-alpha.2"])
    '2.3.13-alpha.2'
    >>> pick_version("7", ["5.1.0"]) is None
    True
    """
    versions = list(versions)
    if wanted in versions:
        return wanted
    if dist_tags and wanted in dist_tags:
        return dist_tags[wanted]
    prefix = wanted.split(".")
    releases = [v for v in versions if re.fullmatch(r"\d+\.\d+\.\d+", v) and v.split(".")[: len(prefix)] == prefix]
    return max(releases, key=lambda v: tuple(int(p) for p in v.split(".")), default=None)
