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
