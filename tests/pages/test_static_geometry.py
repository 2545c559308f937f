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


def test_the_map_spec_points_at_a_static_values_file_holding_every_row(empty_data, fresh_caches, monkeypatch, tmp_path):
    """The map's rows (value, status, tooltip of every kelurahan) travel as a static file, not in the spec that
    Streamlit re-serialises on every run; the file holds exactly the rows, and ``values_from_layer`` (PNG, tests)
    reads them back. The shared parsed spec is not changed by reading it back."""
    monkeypatch.setattr(cached, "STATIC_DIR", tmp_path / "static")
    (tmp_path / "static").mkdir()
    rows = [{"kode": "31.71.01.1001", "status": "ok", "value": 0.8, "tooltip": {"Nilai": "80%"}},
            {"kode": "31.71.01.1002", "status": "none", "value": None, "tooltip": {"<&\"": "ünïcode"}}]
    spec = {"width": "container", "layer": [{"data": {"values": rows}, "transform": [{"lookup": "kode"}], "layer": [{"mark": "geoshape"}]}]}
    small = cached.values_to_static(json.loads(json.dumps(spec)))
    url = small["layer"][0]["data"]["url"]
    assert url.startswith("app/static/mapvalues-") and small["layer"][0]["data"]["format"] == {"type": "json"}
    assert '"values"' not in json.dumps(small)  # the spec carries no rows
    path = tmp_path / "static" / url.removeprefix("app/static/")
    payload = path.read_bytes()
    assert url == f"app/static/mapvalues-{hashlib.sha256(payload).hexdigest()[:16]}.json" and json.loads(payload) == rows
    before = json.dumps(small, sort_keys=True)
    assert cached.values_from_layer(small)["data"] == {"values": rows}
    assert json.dumps(small, sort_keys=True) == before  # reading back builds a new dict
    cached.clear_memos()  # another process (no copy in memory) reads the file
    assert cached.values_from_layer(small)["data"] == {"values": rows}
    assert cached.values_to_static(json.loads(json.dumps(spec)))["layer"][0]["data"]["url"] == url  # deterministic


def test_the_map_page_sends_a_small_spec_whose_file_holds_all_267_rows(dashboard_data, make_app, monkeypatch, tmp_path):
    """On the full build: the map page's chart spec is a few KB, names its static values file, and the file
    holds one row per kelurahan with the value the map frame computed; a second session gets the same spec."""
    monkeypatch.setattr(cached, "STATIC_DIR", tmp_path / "static")
    at = make_app(dashboard_data)
    at.switch_page("pages/peta.py").run()
    (chart,) = [c for c in at.get("vega_lite_chart")]
    assert len(chart.proto.spec) < 12_000, len(chart.proto.spec)  # was ~45 KB with the rows inline
    spec = json.loads(chart.proto.spec)
    url = spec["layer"][0]["data"]["url"]
    rows = json.loads((tmp_path / "static" / url.removeprefix("app/static/")).read_text(encoding="utf-8"))
    assert len(rows) == 267 and len({r["kode"] for r in rows}) == 267
    assert sum(r["status"] != "none" for r in rows) > 200  # the default layer (small-area) covers most kelurahan
    again = make_app(dashboard_data)  # another session, same view: the same spec, the same file
    again.switch_page("pages/peta.py").run()
    assert [c.proto.spec for c in again.get("vega_lite_chart")] == [chart.proto.spec]
