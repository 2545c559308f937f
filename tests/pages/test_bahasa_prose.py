"""Bahasa Indonesia mode shows Indonesian: every page, run with ``lang=id`` on the full build, is scanned for
English prose (issue 14.6).

What a page shows as text is collected (titles, headings, markdown, captions, alerts, expander labels, the
cells and headers of its tables) and the common English function words in it are counted. Allowed and removed
before counting: the sources' own words (the title, publisher, licence and citation of every source in
``datapackage.json``, shown verbatim in labelled provenance lines), code spans and identifiers (``snake_case``,
file names), URLs. What is left must be (almost) free of English: proper nouns ("Satu Data Jakarta") have no
function words, so a handful is the slack for the rare borrowed term.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from analysis import sources
from tests.pages import kampung_support as ks
from ui import cached, i18n
from ui.views import about, overview
from ui.views import upload as upload_view

PAGES = ["ringkasan", "peta", "profil", "bandingkan", "model", "data", "metodologi", "unggah"]
TENGAH = "31.75.04.1002"
FUNCTION_WORDS = frozenset(
    "the and of with for is are from this each not which that to by be was were or an its their has have at as on "
    "only when who what where than these those there into been does it".split()
)
MAX_ENGLISH_WORDS = 5  # per page: slack for a borrowed term; the Data page alone had about 180 before issue 14.6


class _ShownText(HTMLParser):
    """The text a reader sees in HTML (the overview's ``st.html`` blocks, Markdown that holds HTML): the
    elements' text, unescaped, and an image's ``alt`` (what a screen reader reads for a chart); not a
    ``<style>``, not other attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        if tag == "img":
            self.parts += [v for k, v in attrs if k == "alt" and v]

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.parts.append(data)


def shown_text(markdown: str) -> str:
    if "<" not in markdown:
        return markdown
    parser = _ShownText()
    parser.feed(markdown)
    parser.close()
    return " ".join(parser.parts)


def page_texts(at) -> list[str]:
    """Every piece of text a page shows: prose, alerts, tables, the labels and help of widgets (not the options
    of a widget, not charts)."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        texts += [shown_text(str(e.value)) for e in getattr(at, kind)]
    for e in at.get("html"):  # the overview's blocks, and the text of the chart files their images show
        body = str(e.proto.body)
        texts.append(shown_text(body))
        texts += [shown_text((cached.STATIC_DIR / src.removeprefix(cached.STATIC_URL)).read_text(encoding="utf-8"))
                  for src in re.findall(r'<img class="svg-chart-img" src="([^"]+)"', body)]
    texts += [str(e.label) for e in at.expander]
    texts += [str(m.label) for m in at.metric]
    for kind in ("selectbox", "radio", "slider", "select_slider", "multiselect", "text_input", "checkbox", "toggle", "button", "download_button"):
        texts += [str(getattr(w.proto, field, "") or "") for w in at.get(kind) for field in ("label", "help")]
    for kind in ("dataframe", "table"):
        for e in getattr(at, kind):
            df = e.value
            if isinstance(df, pd.DataFrame):
                texts += [str(c) for c in df.columns]
                texts += [str(v) for v in df.astype(str).to_numpy().ravel()]
    return texts


def verbatim_source_words(processed) -> list[str]:
    """The sources' own words, shown verbatim under a label in the page's language ("Sumber:", "Lisensi:",
    "Kutipan:", or a column so named): every source's title, publisher, licence and citation (the manifest and
    ``datapackage.json``) and the citation of every typed published figure. Longest first, so that a title
    inside a citation goes too."""
    package = json.loads((processed / "datapackage.json").read_text(encoding="utf-8"))
    words = set()
    for src in package.get("sources", []):
        words |= {str(src.get(k) or "") for k in ("title", "publisher", "licence", "citation")}
    for res in package.get("resources", []):
        words |= {str(s.get("title") or "") for s in res.get("sources", [])}
    for src in sources.load_manifest().values():
        words |= {str(getattr(src, k, "") or "") for k in ("title", "publisher", "licence", "citation")}
    published = processed / "published_figures.parquet"
    if published.is_file():
        words |= set(pd.read_parquet(published, columns=["citation"])["citation"].dropna().astype(str))
    return sorted((w for w in words if len(w) > 3), key=len, reverse=True)


CODE_SPAN = re.compile(r"`[^`]*`")
URL = re.compile(r"https?://\S+")
IDENTIFIER = re.compile(r"\b\w*_\w*\b|\b[\w-]+\.(?:csv|json|parquet|geojson|xlsx|py)\b")
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def english_words(texts: list[str], verbatim: list[str]) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        for v in verbatim:
            text = text.replace(v, " ")
        text = IDENTIFIER.sub(" ", URL.sub(" ", CODE_SPAN.sub(" ", text)))
        # ALL-CAPS words are acronyms and names ("CC BY 4.0"), not prose
        counts.update(w.lower() for w in WORD.findall(text) if w.lower() in FUNCTION_WORDS and not (w.isupper() and len(w) > 1))
    return counts


def scan(make_app, dashboard_data, lang: str) -> dict[str, Counter]:
    processed = dashboard_data / "processed"
    verbatim = verbatim_source_words(processed)
    demo = processed / "demo_survey"  # the published demo export, test submissions and duplicates included
    export = {name: (demo / name).read_bytes() for name in (ks.MAIN_NAME, ks.ROSTER_NAME)}
    at = make_app(dashboard_data, lang=lang, kel=TENGAH)
    found = {}
    for slug in PAGES:
        if slug == "unggah":
            at.session_state["_upload_files_for_test"] = export  # a real upload: rejects, tables, notes
        at.switch_page(f"pages/{slug}.py").run()
        assert not at.exception, (slug, [e.value for e in at.exception])
        found[slug] = english_words(page_texts(at), verbatim)
    return found


def test_bahasa_pages_show_no_english_prose(make_app, dashboard_data):
    found = scan(make_app, dashboard_data, "id")
    too_english = {slug: dict(c.most_common(8)) | {"total": sum(c.values())} for slug, c in found.items() if sum(c.values()) > MAX_ENGLISH_WORDS}
    assert not too_english, too_english


def test_the_scan_sees_english_in_english_mode(make_app, dashboard_data):
    """The same scan on the English pages finds plenty: it reads what the pages show."""
    found = scan(make_app, dashboard_data, "en")
    for slug in ("data", "metodologi", "unggah"):
        assert sum(found[slug].values()) > 50, slug


@pytest.mark.parametrize("text, expected", [
    ("Sumber: BPS. Lisensi: MIT. Kutipan: `the_table.csv`", 0),
    ("The share of households with access", 3),
])
def test_english_words_counts_function_words_outside_code(text, expected):
    assert sum(english_words([text], []).values()) == expected


def built_tables(processed) -> dict[str, set[str]]:
    """Every table the build lists in ``datapackage.json`` (a catalogue entry: its CSV, Parquet and GeoJSON
    together; a nested file on its own) -> the titles its resources carry."""
    package = json.loads((processed / "datapackage.json").read_text(encoding="utf-8"))
    tables: dict[str, set[str]] = {}
    for res in package["resources"]:
        path = res["path"]
        tables.setdefault(path if "/" in path else path.rsplit(".", 1)[0], set()).add(res.get("title", ""))
    return tables


def test_every_built_table_has_its_title_and_description_in_both_languages(dashboard_data):
    tables = built_tables(dashboard_data / "processed")
    assert len(tables) > 25 and "estimates" in tables and "demo_survey/design.csv" in tables
    missing = sorted(f"tables.{about.table_key(name)}.{field} ({lang})" for name in tables for lang in i18n.LANGUAGES
                     for field in ("title", "description") if not i18n.has(lang, f"tables.{about.table_key(name)}.{field}"))
    assert not missing, "add these keys to locales/en.toml and locales/id.toml: " + ", ".join(missing)
    # the English key is the table's own title (analysis/tables.py): a renamed table must be renamed here too
    stale = {name: i18n.translate("en", f"tables.{about.table_key(name)}.title") for name, titles in tables.items()
             if i18n.translate("en", f"tables.{about.table_key(name)}.title") not in titles}
    assert not stale, stale


def test_catalogue_uses_the_page_language_and_falls_back_to_the_tables_own_title(tmp_path):
    package = {"resources": [{"path": "estimates.csv", "format": "csv", "title": "Direct survey estimates", "description": "English words."},
                             {"path": "new_table.csv", "format": "csv", "title": "A table without a key", "description": "Its own words."}]}
    entries = {e["name"]: e for e in about.data_catalogue(package, tmp_path, "id", i18n.translator("id"))}
    assert entries["estimates"]["heading"].startswith(i18n.translate("id", "tables.estimates.title"))
    assert entries["estimates"]["description"] == i18n.translate("id", "tables.estimates.description")
    assert entries["new_table"]["heading"].startswith("A table without a key") and entries["new_table"]["description"] == "Its own words."


def test_every_published_unit_has_its_words_in_both_languages(dashboard_data):
    units = set(pd.read_parquet(dashboard_data / "processed" / "published_figures.parquet")["unit"].dropna()) - {"%"}
    assert units
    missing = sorted(u for u in units for lang in i18n.LANGUAGES if not i18n.has(lang, f"units.{overview.unit_key(u)}"))
    assert not missing, missing


def ingest_reject_reasons() -> set[str]:
    """Every literal reason ``analysis/survey/ingest.py`` gives a rejected row (``reject_h(mask, "reason")``)."""
    source = (Path(__file__).resolve().parents[2] / "analysis" / "survey" / "ingest.py").read_text(encoding="utf-8")
    return set(re.findall(r"^\s*reject_[hp]\(.*,\s*\"([^\"]+)\"\)\s*$", source, flags=re.MULTILINE))


def test_every_reject_reason_of_the_ingest_has_its_words_in_both_languages():
    reasons = ingest_reject_reasons()
    assert {"missing _uuid", "test submission", "duplicate _uuid", "age missing or out of range"} <= reasons  # the scan works
    for lang in i18n.LANGUAGES:
        tr = i18n.translator(lang)
        untranslated = sorted(r for r in reasons if upload_view.reject_reason(r, tr) == tr("upload.rejects.other", code=r))
        assert not untranslated, (lang, untranslated)
        assert all(i18n.has(lang, f"upload.rejects.{key}") for key in upload_view.REJECT_REASONS.values())
        # a member of a rejected household carries its household's reason; a numeric answer names its column
        assert upload_view.reject_reason("household rejected: test submission", tr) == tr("upload.rejects.household_rejected", reason=tr("upload.rejects.test_submission"))
        assert upload_view.reject_reason("hh_size out of range", tr) == tr("upload.rejects.out_of_range", column="hh_size")
        assert upload_view.reject_reason("a new reason", tr) == tr("upload.rejects.other", code="a new reason")


def test_upload_summary_names_rejects_in_the_page_language():
    from types import SimpleNamespace

    report = {"households": {"rows_in": 3, "rows_out": 1}, "persons": {"rows_in": 5, "rows_out": 2},
              "rejects": {"households": {"no consent": 1, "test submission": 1}, "persons": {"household rejected: no consent": 3}}}
    shown = upload_view.summary_table(SimpleNamespace(report=report), "id", i18n.translator("id"))
    text = " ".join(shown.iloc[:, 0])
    assert "tidak ada persetujuan" in text and "kiriman uji coba" in text and "consent" not in text


def test_every_registered_indicator_has_its_definition_in_both_languages():
    from analysis.stats import indicators as ind

    missing = sorted(f"indicators.{i.indicator_id}.{field} ({lang})" for i in ind.REGISTRY for lang in i18n.LANGUAGES
                     for field in ("universe", "description") if not i18n.has(lang, f"indicators.{i.indicator_id}.{field}"))
    assert not missing, "add these keys to locales/en.toml and locales/id.toml: " + ", ".join(missing)
    # the English keys are the registry's own words: a redefined indicator must be redefined here too
    stale = [i.indicator_id for i in ind.REGISTRY
             if (i18n.translate("en", f"indicators.{i.indicator_id}.universe"), i18n.translate("en", f"indicators.{i.indicator_id}.description")) != (i.denominator, i.description)]
    assert not stale, stale
    shown = about.indicator_definitions(ind.registry_frame(), "id", i18n.translator("id"))
    assert shown[i18n.translate("id", "method.col_universe")].iloc[0] == i18n.translate("id", f"indicators.{ind.REGISTRY[0].indicator_id}.universe")
