"""datapackage.json is a valid Data Package under the Frictionless reference validator."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_frictionless_validates_the_built_package(built):
    """`frictionless validate data/processed/datapackage.json`: every resource, CSV and Parquet read and
    checked against its schema; GeoJSON, XLSX and JSON declared as plain data resources."""
    from frictionless import validate

    report = validate(str(built.processed / "datapackage.json"))
    errors = [(t.name, e.type, e.message) for t in report.tasks for e in t.errors] + [
        (None, e.type, e.message) for e in report.errors]
    assert report.valid, errors[:10]


def test_package_profiles(built):
    dp = json.loads((built.processed / "datapackage.json").read_text())
    assert dp["profile"] == "data-package"
    table_files = {f"{t}.{fmt}" for t in built.tables for fmt in ("csv", "parquet")}
    for r in dp["resources"]:
        if r["path"] in table_files:  # every table keeps its schema, in both formats
            assert r["profile"] == "tabular-data-resource" and r["schema"]["fields"], r["name"]
        else:  # GeoJSON, XLSX, JSON and the demo export files: plain data resources
            assert r["profile"] == ("tabular-data-resource" if "schema" in r else "data-resource"), r["name"]
    assert {r["format"] for r in dp["resources"] if r["profile"] == "data-resource"} >= {"geojson", "xlsx", "json"}


def test_one_licence_statement_everywhere(built):
    """Code MIT; the project's tables (synthetic included) CC BY 4.0; sources keep theirs: said alike in the
    datapackage, the synthetic source's manifest entry, the README and the Data page in both languages."""
    from pathlib import Path

    from analysis import sources
    from ui import i18n

    dp = json.loads((built.processed / "datapackage.json").read_text())
    assert [lic["name"] for lic in dp["licenses"]] == ["CC-BY-4.0"]
    synthetic = sources.load_manifest()["synthetic_demo_survey"]
    assert synthetic.licence.startswith("CC BY 4.0")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "code is MIT" in readme and "CC BY 4.0" in readme
    for lang in ("en", "id"):
        note = i18n.translate(lang, "data.licence_note")
        assert "CC BY 4.0" in note and "MIT" in note
    for text in (readme, i18n.translate("en", "data.licence_note")):
        assert "synthetic data: MIT" not in text.lower() and "generated data)" not in text
