"""The whole build: determinism, row accounting, datapackage, no personal data, and the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.build import run_build


def _files(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_rebuild_is_byte_identical(built, raw_dir, tmp_path):
    again = run_build(raw=raw_dir, processed=tmp_path / "again")
    first, second = _files(built.processed), _files(again.processed)
    assert first.keys() == second.keys()
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == []


def test_build_report_accounts_for_every_row(built):
    report = json.loads((built.processed / "build_report.json").read_text())
    assert report["missing_sources"] == []
    names = {t["table"] for t in report["tables"]}
    for expected in ("wilayah_register", "boundaries_kelurahan", "kelurahan_covariates", "bps_indicators", "published_figures"):
        assert expected in names
    for t in report["tables"]:
        assert t["rows_in"] == t["rows_used"] + t["rows_rejected"], t
        rejects = built.processed / "rejects" / f"{t['table']}.rejects.csv"
        if t["rows_rejected"]:
            df = pd.read_csv(rejects)
            assert len(df) == t["rows_rejected"] and df["reason"].notna().all()
        else:
            assert not rejects.exists()


def test_datapackage_lists_every_table_with_sources(built):
    dp = json.loads((built.processed / "datapackage.json").read_text())
    paths = {r["path"] for r in dp["resources"]}
    for t in built.tables.values():
        assert f"{t.name}.csv" in paths and f"{t.name}.parquet" in paths
        assert (built.processed / f"{t.name}.csv").exists()
    for r in dp["resources"]:
        assert (built.processed / r["path"]).exists(), r["path"]
    manifest_ids = {s["id"] for s in dp["sources"]}
    assert {"boundaries_kelurahan", "crosswalk_bps_kemendagri", "dukcapil_2019"} <= manifest_ids
    codebook = pd.read_csv(built.processed / "codebook.csv")
    assert codebook["description"].notna().all()


def test_embedded_default_without_any_source(tmp_path, monkeypatch):
    """No mirror, no network: the build still runs on the embedded default and says what is missing."""
    from analysis import sources

    monkeypatch.setenv("DIGIDIV_MIRROR", "")
    raw = tmp_path / "raw"
    results = sources.fetch(raw=raw, mirror="default", allow_network=False)
    assert {r.status for r in results} == {"missing"}
    ctx = run_build(raw=raw, processed=tmp_path / "processed")
    report = json.loads((tmp_path / "processed" / "build_report.json").read_text())
    assert "boundaries_kelurahan" in report["missing_sources"]
    assert any("missing" in n["message"] for n in report["notes"])
    register = ctx.tables["wilayah_register"].data
    assert len(register) == 267 and (register["register_source"] == "crosswalk_embedded").all()
    assert register["kode_bps"].notna().all()
    assert "published_figures" in ctx.tables
    # the map, its GeoJSON download and the estimates it colours are all there
    assert len(ctx.tables["boundaries_kelurahan"].data) == 267
    assert (tmp_path / "processed" / "boundaries_kelurahan.geojson").is_file()
    assert "estimates" in ctx.tables
    # every missing source says what it would add and how to get it
    details = {m["id"]: m for m in report["missing"]}
    assert set(details) == set(report["missing_sources"])
    assert details["dukcapil_2019"]["adds"] and "python -m analysis build --fetch" in details["dukcapil_2019"]["commands"]


MIRROR_ORACLES = ("boundaries/dki_kelurahan.geojson", "boundaries/dki_kecamatan.geojson",
                  "boundaries/dki_kabkota.geojson", "codes/dki_bps_kemendagri_crosswalk.csv")


def test_build_from_upstream_bytes_alone(tmp_path, monkeypatch, mirror, built):
    """The mirror without the collectors' converted files: fetch + build give the same processed boundaries
    and registers as the session build."""
    import shutil

    from analysis.cli import main

    bare = tmp_path / "mirror"
    shutil.copytree(mirror, bare, ignore=lambda d, names: [
        n for n in names if (Path(d) / n).relative_to(mirror).as_posix() in MIRROR_ORACLES])
    assert not any((bare / p).exists() for p in MIRROR_ORACLES)
    monkeypatch.setenv("DIGIDIV_MIRROR", str(bare))
    monkeypatch.setenv("DIGIDIV_OFFLINE", "1")
    out = tmp_path / "processed"
    assert main(["build", "--fetch", "--raw", str(tmp_path / "raw"), "--out", str(out)]) == 0
    report = json.loads((out / "build_report.json").read_text())
    assert report["missing_sources"] == []
    for name in ("boundaries_kelurahan", "boundaries_kecamatan", "boundaries_kabkota", "wilayah_register"):
        for ext in ("parquet", "csv") + (("geojson",) if name.startswith("boundaries") else ()):
            assert (out / f"{name}.{ext}").read_bytes() == (built.processed / f"{name}.{ext}").read_bytes(), name
