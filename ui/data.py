"""Cached loaders for the processed artefacts (``data/processed``, or ``$DIGIDIV_DATA/processed``).

Pages read artefacts only through these functions. Each loader returns ``None`` when the artefact does not
exist yet (a stage not built, a source missing), and the page shows its "not available" state instead.

Why cached: every widget change reruns the whole page script, and every page reads the same handful of tables;
re-reading Parquet and re-parsing the GeoJSON on each rerun would dominate the response time. The cache key
includes the file's modification time, so a rebuild (``python -m analysis build``) is picked up without
restarting the server, and ``st.cache_data`` (not ``cache_resource``) hands each caller its own copy, so a
page that modifies a frame cannot corrupt another session's view.

``built()`` hands the tables most views need around as one bundle (``Built``), loaded once per build and
shared read-only (the views in ``ui.views`` never modify their inputs); its ``key`` (data directory and build
version) is what the caches in ``ui.cached`` hash, never the frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import config
from ui import heap


def processed_dir() -> Path:
    return config.processed_dir()


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def data_version() -> int:
    """Changes whenever the build is rerun: the build report is the last file the build writes."""
    return _mtime(processed_dir() / "build_report.json") or 0


@st.cache_data(show_spinner=False, max_entries=64)
def _read_parquet(path: str, mtime: int) -> pd.DataFrame:
    return pd.read_parquet(path)


@st.cache_data(show_spinner=False, max_entries=16)
def _read_json(path: str, mtime: int):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def table(name: str) -> pd.DataFrame | None:
    """The processed table ``name`` (from its Parquet file), or ``None`` when it was not built."""
    path = processed_dir() / f"{name}.parquet"
    mtime = _mtime(path)
    if mtime is None:
        return None
    if name.startswith("boundaries_"):
        return None  # GeoParquet: pages use the web GeoJSON (``web_geojson``) instead
    return _read_parquet(str(path), mtime)


def build_report() -> dict | None:
    path = processed_dir() / "build_report.json"
    mtime = _mtime(path)
    return None if mtime is None else _read_json(str(path), mtime)


def datapackage() -> dict | None:
    path = processed_dir() / "datapackage.json"
    mtime = _mtime(path)
    return None if mtime is None else _read_json(str(path), mtime)


@st.cache_data(show_spinner=False, max_entries=4)
def _slim_geojson(path: str, mtime: int) -> dict:
    """Keep only what the map needs: ``id`` (kode_kemendagri) and the geometry.

    Every property dropped here is bytes not sent to the browser on each map render; names and values
    travel in the trace's hover text instead.
    """
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    features = []
    for f in doc["features"]:
        props = f.get("properties") or {}
        code = props.get("kode_kemendagri") or f.get("id")
        features.append({"type": "Feature", "id": code, "properties": {}, "geometry": f["geometry"]})
    return {"type": "FeatureCollection", "features": features}


def web_geojson(name: str = "boundaries_kelurahan") -> dict | None:
    """The simplified web GeoJSON written by the boundaries stage, slimmed to id + geometry."""
    path = processed_dir() / f"{name}.geojson"
    mtime = _mtime(path)
    return None if mtime is None else _slim_geojson(str(path), mtime)


def file_path(name: str) -> Path | None:
    """Any file in the processed directory (for downloads), or ``None``."""
    path = processed_dir() / name
    return path if path.is_file() else None


@st.cache_resource(show_spinner=False)
def manifest_titles() -> dict[str, str]:
    """Source id -> title from ``data/sources.toml`` (read once per server: the manifest ships with the code)."""
    from analysis import sources

    return {sid: s.title for sid, s in sources.load_manifest().items()}


@st.cache_resource(show_spinner=False)
def manifest() -> dict:
    from analysis import sources

    return sources.load_manifest()


# Built field -> processed table name.
BUILT_TABLES = {
    "register": "wilayah_register",
    "indicators": "indicators",
    "estimates": "estimates",
    "sae": "sae_estimates",
    "gaps": "gaps",
    "covariates": "kelurahan_covariates",
    "decomposition": "gap_decomposition",
    "bps": "bps_indicators",
    "published": "published_figures",
    "register_indicators": "register_indicators",
    "indirect": "indirect_internet",
    "kota_context": "kota_context",
}


@dataclass(frozen=True)
class Built:
    """The build's tables the views share, each ``None`` when it was not built (see ``docs/ARTEFACTS.md``)."""

    register: pd.DataFrame | None = None
    indicators: pd.DataFrame | None = None
    estimates: pd.DataFrame | None = None
    sae: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None
    covariates: pd.DataFrame | None = None
    decomposition: pd.DataFrame | None = None
    bps: pd.DataFrame | None = None
    published: pd.DataFrame | None = None
    register_indicators: pd.DataFrame | None = None  # real: Dukcapil 2019 / Satu Data 2024 (issue 11)
    indirect: pd.DataFrame | None = None  # modelled from published rates
    kota_context: pd.DataFrame | None = None  # real: Podes 2024, poverty, JakWifi
    root: str = ""
    version: int = 0

    @property
    def key(self) -> tuple[str, int]:
        """What identifies this build: cheap to hash, changes with every rebuild."""
        return (self.root, self.version)


def built() -> Built:
    """The current build's bundle (loaded once per build version and data directory).

    Every run of every page starts here (``dashboard.py``), so this is also where the process's long-lived
    heap is frozen once its modules are imported (``ui.heap``: keeps Streamlit's collection after each run
    cheap)."""
    heap.after_imports()
    key = (str(processed_dir()), data_version())
    try:
        return _BUILT[key]  # a dict lookup: twice per run of every page (``dashboard.py`` and the page)
    except KeyError:
        pass
    bundle = _built(*key)
    if len(_BUILT) >= 4:
        _BUILT.clear()
    _BUILT[key] = bundle
    return bundle


_BUILT: dict = {}  # (data directory, build version) -> Built, per process, in front of ``_built``'s cache


def forget_built() -> None:
    """Forget the bundles this process loaded (as a new server process would): tests."""
    _BUILT.clear()


@st.cache_resource(show_spinner=False, max_entries=4)
def _built(root: str, version: int) -> Built:
    return Built(**{name: table(t) for name, t in BUILT_TABLES.items()}, root=root, version=version)
