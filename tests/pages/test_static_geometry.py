"""The map's geometry as a static file (issue 16): written at startup from the geometry the map draws,
content-addressed, deterministic, and the same shapes the inline spec would carry."""

from __future__ import annotations

import csv
import hashlib
import json

from analysis import config, vega_charts
from ui import cached


def _embedded_codes() -> list[str]:
    # The project's own flattening of BPS's bridging table, in Kemendagri order (analysis/embedded/README.md):
    # the 267 kelurahan of DKI Jakarta.
    with open(config.EMBEDDED_DIR / "dki_bps_kemendagri_crosswalk.csv", encoding="utf-8") as fh:
        return sorted(row["kemendagri_code"] for row in csv.DictReader(fh) if row["level"] == "desa_kelurahan")


def test_with_no_build_the_file_is_written_from_the_embedded_map_and_named_by_its_hash(empty_data, fresh_caches, monkeypatch, tmp_path):
    monkeypatch.setenv("DIGIDIV_DATA", str(empty_data))
    monkeypatch.setattr(cached, "STATIC_DIR", tmp_path / "static")
    cached.clear_geometry()
    from ui import data

    built = data.built()
    url = cached.map_geometry_url(built)
    assert url.startswith("app/static/kelurahan-") and url.endswith(".json")
    path = tmp_path / "static" / url.removeprefix("app/static/")
    payload = path.read_bytes()
    assert url == f"app/static/kelurahan-{hashlib.sha256(payload).hexdigest()[:16]}.json"
    geometry = json.loads(payload)
    codes = _embedded_codes()
    assert len(codes) == 267 and sorted(f["id"] for f in geometry["features"]) == codes
    with open(config.EMBEDDED_DIR / "boundaries" / "boundaries_kelurahan.geojson", encoding="utf-8") as fh:
        assert geometry == vega_charts.map_geometry(json.load(fh), cached.KEPULAUAN_SERIBU)  # the shapes as drawn
    assert int(path.stat().st_mtime) == cached.GEOMETRY_MTIME  # Last-Modified far in the past, one ETag for all
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind

    path.unlink()
    cached.clear_geometry()  # a new server process (or a new build) writes it again
    assert cached.map_geometry_url(data.built()) == url and path.read_bytes() == payload  # deterministic: same name, same bytes
