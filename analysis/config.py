"""Paths and settings: the one place that says where things live.

Every path can be redirected with an environment variable so tests and benchmarks run on temporary
directories without touching the working tree:

- ``DIGIDIV_DATA``: the data directory holding ``raw/`` and ``processed/`` (default ``<repo>/data``).
- ``DIGIDIV_MIRROR``: the offline mirror of public sources (default ``<repo>/../shared/data`` when it
  exists). Set it to an empty string to build as if no mirror existed (the embedded default).
- ``DIGIDIV_OFFLINE``: when set to ``1``, ``fetch`` never tries the network.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "data" / "sources.toml"
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"


def data_dir() -> Path:
    return Path(os.environ.get("DIGIDIV_DATA") or ROOT / "data")


def raw_dir() -> Path:
    return data_dir() / "raw"


def processed_dir() -> Path:
    return data_dir() / "processed"


def mirror_dir() -> Path | None:
    """The offline mirror directory, or None when there is none."""
    env = os.environ.get("DIGIDIV_MIRROR")
    if env is not None:
        if env.strip() == "":
            return None
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    default = ROOT.parent / "shared" / "data"
    return default if default.is_dir() else None


def offline() -> bool:
    return os.environ.get("DIGIDIV_OFFLINE", "") == "1"
