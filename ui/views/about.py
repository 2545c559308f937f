"""The methodology and data pages: indicator definitions, the survey design in numbers, the sources, and the
catalogue of downloadable tables with their provenance. Pure, no Streamlit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis import formatting as fmt
from ui.views.common import Translate

# --- methodology -------------------------------------------------------------------------------------------


def indicator_definitions(indicators: pd.DataFrame, lang: str, t: Translate) -> pd.DataFrame:
    """The definitions table: each indicator's label, universe and definition in the page's language (the
    locale's ``indicators.<id>.universe`` / ``.description``; the registry's own English words for an indicator
    the locale does not know yet: a test requires both keys for every registered indicator)."""
    label = "label_id" if lang == "id" else "label_en"

    def text(row, field: str, column: str) -> str:
        try:
            return t(f"indicators.{row['indicator_id']}.{field}")
        except KeyError:
            return "" if pd.isna(row.get(column)) else str(row.get(column))

    out = pd.DataFrame({"indicator_id": indicators["indicator_id"], t("common.indicator"): indicators[label]})
    out[t("method.col_universe")] = [text(r, "universe", "denominator") for _, r in indicators.iterrows()]
    if "description" in indicators:
        out[t("method.col_definition")] = [text(r, "description", "description") for _, r in indicators.iterrows()]
    return out.reset_index(drop=True)


def design_summary(households: pd.DataFrame | None, persons: pd.DataFrame | None, lang: str) -> dict | None:
    """Counts that describe the survey design: households, persons, strata, PSUs, kelurahan covered."""
    if households is None or households.empty:
        return None
    return {
        "households": fmt.format_int(len(households), lang),
        "persons": fmt.format_int(0 if persons is None else len(persons), lang),
        "strata": fmt.format_int(households["stratum"].nunique(), lang),
        "psus": fmt.format_int(households["psu"].nunique(), lang),
        "kelurahan": fmt.format_int(households["kode_kemendagri"].nunique(), lang),
    }


def sources_table(manifest: dict, report: dict | None, t: Translate) -> pd.DataFrame:
    """Every public source: title, publisher, licence, citation and whether this build had it."""
    missing = set((report or {}).get("missing_sources") or [])
    rows = []
    for sid, s in manifest.items():
        rows.append(
            {
                t("data.col_source"): s.title,
                t("data.col_publisher"): s.publisher,
                t("data.col_licence"): s.licence,
                t("data.col_citation"): s.citation,
                t("data.col_status"): t("data.source_missing") if sid in missing else t("data.source_used"),
            }
        )
    return pd.DataFrame(rows)


# --- data catalogue ----------------------------------------------------------------------------------------


def table_key(name: str) -> str:
    """The locale key stem of a catalogue entry: ``tables.<key>.title`` / ``.description``
    (``demo_survey/design.csv`` -> ``demo_survey_design_csv``)."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def table_text(name: str, field: str, fallback: str, t: Translate) -> str:
    """A table's title or description in the page's language, from the locale; the table's own (English) words
    only for a table the locale does not know yet (a test requires a key for every built table)."""
    try:
        return t(f"tables.{table_key(name)}.{field}")
    except KeyError:
        return fallback


def data_catalogue(package: dict, processed, lang: str, t: Translate) -> list[dict]:
    """One entry per table in ``datapackage.json`` (its CSV, Parquet and GeoJSON resources together) and one
    per extra file (e.g. the synthetic demo export): heading, description, provenance (sources with licence
    and citation) and ``files``: ``(label, path, mime, escape_csv)`` for each file that exists."""
    processed = Path(processed)
    sources = {s["id"]: s for s in package.get("sources", [])}
    mimes = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "geojson": "application/geo+json", "json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    entries: dict[str, dict] = {}
    for res in package.get("resources", []):
        path = res.get("path", "")
        if not path:
            continue
        nested = "/" in path
        name = path if nested else Path(path).stem
        fmt_ = res.get("format") or Path(path).suffix.lstrip(".")
        if name not in entries:
            heading = f"{table_text(name, 'title', res.get('title', name), t)} (`{name}`)"
            if res.get("synthetic"):
                heading = f"{heading} · {t('data.synthetic_tag')}"
            lines = []
            for src in res.get("sources", []):
                info = sources.get(src.get("id"), {})
                lines.append(t("data.provenance_line", title=info.get("title") or src.get("title", ""), licence=info.get("licence") or "–", citation=info.get("citation") or "–"))
            if res.get("synthetic"):
                lines.append(t("data.synthetic_line"))
            description = table_text(name, "description", res.get("description", ""), t)
            if res.get("rows") is not None:
                description += " " + t("data.rows", n=fmt.format_int(res["rows"], lang))
            entries[name] = {
                "name": name.replace("/", "_").replace(".", "_"),
                "heading": heading,
                "description": description,
                "provenance": "\n".join(f"- {line}" for line in lines) if lines else t("data.no_sources"),
                "files": [],
            }
        file_path = processed / path
        if file_path.is_file():
            label = Path(path).name if nested else fmt_.upper().replace("GEOJSON", "GeoJSON").replace("PARQUET", "Parquet")
            # Only the project's own tables are re-written with formula escaping; other files go out as built.
            entries[name]["files"].append((label, str(file_path), mimes.get(fmt_, "application/octet-stream"), fmt_ == "csv" and not nested))
    return list(entries.values())
