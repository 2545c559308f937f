"""Page copy: both catalogues hold the same keys and every key the code asks for exists."""

import re
from pathlib import Path

import pytest

from ui import i18n

ROOT = Path(__file__).resolve().parents[2]
LITERAL_KEY = re.compile(r"\b(?:tr|t|state\.tr)\(\s*\"([a-z_]+(?:\.[A-Za-z0-9_+\-]+)+)\"")
CALLS_TR = re.compile(r"\b(?:tr|t|state\.tr)\(")


def modules_that_translate() -> list[Path]:
    """Every project module (not the tests, not the venv) that calls a translator: wherever a new view lives."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).parts
        if rel[0] in (".venv", "tests", "bench", "data") or rel[0].startswith("."):
            continue
        if CALLS_TR.search(path.read_text(encoding="utf-8")):
            found.append(path)
    return found


CODE = modules_that_translate()


def test_same_keys_in_both_languages():
    assert set(i18n.catalog("id")) == set(i18n.catalog("en"))


def test_same_placeholders_in_both_languages():
    field = re.compile(r"(?<!\{)\{([a-z_]+)\}")
    for key, text in i18n.catalog("en").items():
        assert set(field.findall(text)) == set(field.findall(i18n.catalog("id")[key])), key


def test_every_literal_key_in_the_code_exists():
    used = set()
    for path in CODE:
        used |= set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100  # the scan works
    scanned = {p.relative_to(ROOT).as_posix() for p in CODE}
    assert {"ui/sidebar.py", "ui/views/profile.py", "ui/views/upload.py"} <= scanned  # it reaches the view package
    missing = sorted(k for k in used if k not in i18n.catalog("id"))
    assert not missing


def test_dynamic_key_families_exist():
    cat = i18n.catalog("en")
    for mode in ("direct", "sae", "gap"):
        assert f"map.mode_{mode}" in cat and f"map.legend_note_{mode}" in cat
    for section in ("definitions", "design", "estimation", "suppression", "sae", "models", "gaps", "planning"):
        assert f"method.{section}_title" in cat and f"method.{section}_body" in cat
    for var in ("income_quintile", "education", "age_group", "sex"):
        assert f"domain_vars.{var}" in cat
    assert "nav.upload" in cat  # the slot for the Upload page
    for level in ("kelurahan", "kota", "city"):
        assert f"profile.breakdown_level_{level}" in cat
    for direction in ("richer", "poorer", "none"):
        assert f"overview.concentration_{direction}" in cat


def test_indonesian_uses_decimal_comma_wording_and_unknown_language_fails():
    assert i18n.translate("id", "common.ci95") == "SK 95%"
    with pytest.raises(KeyError):
        i18n.translate("en", "no.such.key")
    with pytest.raises(ValueError):
        i18n.catalog("fr")


def test_no_caption_starts_as_a_markdown_list_item():
    """A note that begins with "* " or "- " renders as a bullet in st.caption/st.markdown and loses its symbol."""
    for lang in ("en", "id"):
        for key, text in i18n.catalog(lang).items():
            assert not re.match(r"^\s*[*+-]\s", text), (lang, key)
