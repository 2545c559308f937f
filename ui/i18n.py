"""Page copy: every sentence a page shows comes from ``locales/<lang>.toml``, never from code.

Keys are dotted paths into the TOML tables (``overview.title``); values are ``str.format`` templates with
named fields (``{value}``). A missing key raises ``KeyError`` (tests check both catalogues hold the same keys
and that every key used in code exists), so a page never shows a raw key to a user.

Pure: no streamlit import.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    with open(LOCALES_DIR / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


def translate(lang: str, key: str, **fields) -> str:
    template = catalog(lang)[key]
    return template.format(**fields) if fields else template


def translator(lang: str):
    """``tr(key, **fields)`` bound to ``lang``: what pages, cached builders and tests pass around as ``t``."""
    return lambda key, **fields: translate(lang, key, **fields)


def has(lang: str, key: str) -> bool:
    return key in catalog(lang)
