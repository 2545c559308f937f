"""Boundaries ETL: the real DKI layers from the mirror, the web simplification, and malformed layers.

Malformed inputs are made here, in pytest tmp dirs, from the real kelurahan file (never committed).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from analysis import sources
from analysis.build import BuildContext, run_build
from analysis.errors import InputError
from analysis.etl import boundaries
from analysis.etl.boundaries import DKI_SPECS, LayerSpec, normalise_code, read_layer
from analysis.etl.geometry import rebuild_coverage, simplify_for_web, to_geojson_bytes
from analysis.tables import write_table

UTM48S = "EPSG:32748"
LEVELS = {"kelurahan": 267, "kecamatan": 44, "kabkota": 6}


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage(tmp_path_factory, raw_dir):
    """The registers and boundaries stages on the mirror, written to a tmp processed dir."""
    processed = tmp_path_factory.mktemp("boundaries_processed")
    return run_build(raw=raw_dir, processed=processed, stages=["analysis.etl.registers", "analysis.etl.boundaries"])


@pytest.fixture(scope="module")
def kel_raw(mirror) -> gpd.GeoDataFrame:
    """The collectors' converted kelurahan GeoJSON: a test oracle and the seed of the malformed layers below."""
    return gpd.read_file(mirror / "boundaries" / "dki_kelurahan.geojson")


@pytest.fixture
def pusat(kel_raw) -> gpd.GeoDataFrame:
    """The 44 kelurahan of Jakarta Pusat (Kemendagri 31.71), source columns, as a small real fixture."""
    return kel_raw[kel_raw["kode_kab_kemendagri"] == "31.71"].reset_index(drop=True).copy()


SPEC44 = LayerSpec("kelurahan", {"kode_kemendagri": "kode_kemendagri", "kelurahan": "name"}, expected_count=44,
                   expected_bounds=boundaries.DKI_BOUNDS)


def write(gdf: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    gdf.to_file(path, **kwargs)
    return path


def raises(code: str, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        read_layer(*args, **kwargs)
    assert info.value.code == code, f"expected {code}, got {info.value.code}: {info.value}"
    return info.value


# --- the real DKI layers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("level,count", LEVELS.items())
def test_dki_layers_counts_crs_validity(stage, level, count):
    table = stage.tables[f"boundaries_{level}"]
    gdf = table.data
    assert table.geometry and len(gdf) == count and table.rows_in == count and table.rows_rejected == 0
    assert gdf.crs.to_epsg() == 4326
    assert gdf["kode_kemendagri"].is_unique and gdf["kode_kemendagri"].is_monotonic_increasing
    assert gdf.is_valid.all() and not gdf.is_empty.any()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 106.3 < minx < maxx < 107.0 and -6.4 < miny < maxy < -5.1
    gp = gpd.read_parquet(stage.processed / f"boundaries_{level}.parquet")
    assert len(gp) == count and gp.crs.to_epsg() == 4326


def test_kelurahan_codes_and_parent_names_come_from_register(stage):
    kel = stage.tables["boundaries_kelurahan"].data
    reg = stage.tables["wilayah_register"].data.set_index("kode_kemendagri")
    assert set(kel["kode_kemendagri"]) == set(reg.index)
    for col in ("kecamatan", "kab_kota", "kode_kec_kemendagri", "kode_kab_kemendagri"):
        assert (kel[col].to_numpy() == reg.loc[kel["kode_kemendagri"], col].astype("string").to_numpy()).all(), col
    assert kel.set_index("kode_kemendagri").loc["31.71.01.1001", "kelurahan"] == "Gambir"
    assert "crosswalk_bps_kemendagri" in stage.tables["boundaries_kelurahan"].sources
    kab = stage.tables["boundaries_kabkota"].data.set_index("kode_kemendagri")
    assert kab.loc["31.71", "name"] == reg[reg["kode_kab_kemendagri"] == "31.71"]["kab_kota"].iloc[0]


def test_web_geojson_size_precision_and_every_feature(stage):
    path = stage.processed / "boundaries_kelurahan.geojson"
    payload = path.read_bytes()
    assert len(payload) <= 150_000
    doc = json.loads(payload)
    codes = [f["properties"]["kode_kemendagri"] for f in doc["features"]]
    assert len(codes) == 267 and set(codes) == set(stage.tables["boundaries_kelurahan"].data["kode_kemendagri"])
    assert set(doc["features"][0]["properties"]) == {"kode_kemendagri", "kelurahan", "kecamatan", "kab_kota"}
    coords = re.findall(r"-?\d+\.\d+", json.dumps([f["geometry"]["coordinates"] for f in doc["features"]]))
    assert len(coords) > 5000 and max(len(n.split(".")[1]) for n in coords) <= 5
    geoms = [shapely.geometry.shape(f["geometry"]) for f in doc["features"]]
    assert all(g.is_valid and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms)
    for level, count in LEVELS.items():
        other = json.loads((stage.processed / f"boundaries_{level}.geojson").read_bytes())
        assert len(other["features"]) == count
    resources = {r["path"]: r for r in json.loads((stage.processed / "datapackage.json").read_text())["resources"]}
    res = resources["boundaries_kelurahan.geojson"]
    assert res["format"] == "geojson" and res["mediatype"] == "application/geo+json"
    assert res["sources"][0]["id"] == "boundaries_kelurahan" and res["bytes"] == len(payload)


def _shared_borders(geoms: np.ndarray, slack: float = 0.0) -> dict[tuple[int, int], float]:
    """Length (m) of a's boundary lying within ``slack`` metres of b's boundary, per pair a < b.

    The source polygons are not edge-matched (they were simplified one by one upstream), so their shared
    borders are found with a slack of a few metres; the web copy must share them exactly (slack 0).
    """
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=slack) if slack else tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    other = shapely.buffer(shapely.boundary(geoms[b]), slack) if slack else shapely.boundary(geoms[b])
    lengths = shapely.length(shapely.intersection(shapely.boundary(geoms[a]), other))
    return {(int(i), int(j)): float(x) for i, j, x in zip(a, b, lengths)}


def test_web_geojson_keeps_topology(stage, kel_raw):
    web = gpd.read_file(stage.processed / "boundaries_kelurahan.geojson").to_crs(UTM48S)
    raw = kel_raw.sort_values("kode_kemendagri").reset_index(drop=True).to_crs(UTM48S)
    assert list(web["kode_kemendagri"]) == list(raw["kode_kemendagri"])
    geoms = web.geometry.values
    assert shapely.coverage_is_valid(gpd.read_file(stage.processed / "boundaries_kelurahan.geojson").geometry.values)
    union = shapely.union_all(geoms).area
    overlap = shapely.area(geoms).sum() - union
    assert abs(overlap) < 1.0, f"neighbours overlap by {overlap} m2"
    raw_union = shapely.union_all(raw.geometry.values).area
    assert abs(union - raw_union) / raw_union < 0.01, (union, raw_union)
    # every unit keeps roughly its own area (no kelurahan swallowed by a neighbour)
    rel = np.abs(shapely.area(geoms) - raw.area.to_numpy()) / raw.area.to_numpy()
    assert np.median(rel) < 0.03 and (rel < 0.5).all()
    # neighbours that share a real border in the source (> 300 m) still share one
    raw_pairs = {k: v for k, v in _shared_borders(raw.geometry.values, slack=15.0).items() if v > 300}
    web_pairs = _shared_borders(geoms)
    lost = [k for k in raw_pairs if web_pairs.get(k, 0.0) <= 0.0]
    assert len(raw_pairs) > 600 and not lost, lost[:5]


def test_build_is_deterministic(raw_dir, manifest, tmp_path):
    outputs = []
    for run in ("a", "b"):
        ctx = BuildContext(raw=raw_dir, processed=tmp_path / run, manifest=manifest)
        tables = boundaries.build(ctx)
        for t in tables:
            write_table(t, ctx.processed)
        outputs.append({p.name: p.read_bytes() for p in sorted(ctx.processed.iterdir()) if p.is_file()})
    assert set(outputs[0]) >= {"boundaries_kelurahan.geojson", "boundaries_kelurahan.parquet"}
    assert outputs[0] == outputs[1]


def test_missing_sources_give_the_embedded_map(tmp_path, manifest):
    """No SQL dumps in raw: the three layers come from the copies shipped in analysis/embedded, as shipped."""
    ctx = BuildContext(raw=tmp_path / "raw", processed=tmp_path / "processed", manifest=manifest)
    tables = {t.name: t for t in boundaries.build(ctx)}
    assert {n: len(t.data) for n, t in tables.items()} == {f"boundaries_{k}": v for k, v in LEVELS.items()}
    assert any("embedded simplified boundaries" in n["message"] for n in ctx.notes)
    for level in LEVELS:
        name = f"boundaries_{level}"
        shipped = (boundaries.EMBEDDED_BOUNDARIES / f"{name}.geojson").read_bytes()
        assert (tmp_path / "processed" / f"{name}.geojson").read_bytes() == shipped
        assert tables[name].sources[0] == "boundaries_embedded"
        data = tables[name].data
        assert all(data[c].notna().all() for c in ("kode_kec_kemendagri", "kode_kab_kemendagri") if c in data)


def test_partial_sources_build_what_they_can(tmp_path, raw_dir, manifest):
    """Only the kab/kota dump present: that level from upstream, the other two embedded, and said so."""
    import shutil

    raw = tmp_path / "raw"
    for f in manifest["boundaries_kabkota"].files:
        (raw / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw_dir / f.path, raw / f.path)
    ctx = BuildContext(raw=raw, processed=tmp_path / "processed", manifest=manifest)
    tables = {t.name: t for t in boundaries.build(ctx)}
    assert tables["boundaries_kabkota"].sources[0] == "boundaries_kabkota"
    assert tables["boundaries_kelurahan"].sources[0] == "boundaries_embedded"
    message = next(n["message"] for n in ctx.notes if "embedded simplified" in n["message"])
    assert "boundaries_kelurahan" in message and "boundaries_kecamatan" in message and "boundaries_kabkota" not in message


# --- the project's conversion of the upstream SQL against the collectors' conversion (oracle) ---------------


@pytest.mark.parametrize("level,count", LEVELS.items())
def test_sql_conversion_matches_the_oracle(stage, mirror, level, count):
    """Same units and codes; per unit area within 0.1 % and Hausdorff distance under 1 m (UTM 48S)."""
    ours = stage.tables[f"boundaries_{level}"].data.set_index("kode_kemendagri").sort_index().to_crs(UTM48S)
    oracle = gpd.read_file(mirror / "boundaries" / f"dki_{level}.geojson")
    oracle = oracle.set_index("kode_kemendagri").sort_index().to_crs(UTM48S)
    assert len(ours) == count and ours.index.tolist() == oracle.index.tolist()
    area = (ours.area - oracle.area).abs() / oracle.area
    hausdorff = np.array([a.hausdorff_distance(b) for a, b in zip(ours.geometry, oracle.geometry)])
    assert area.max() < 1e-3, area.idxmax()
    assert hausdorff.max() < 1.0, ours.index[hausdorff.argmax()]


def test_upstream_repairs_are_recorded(stage):
    """Upstream has one invalid kecamatan and one invalid kab/kota polygon (Kep. Seribu): both repaired, noted."""
    repaired = {(r["level"], r["kode_kemendagri"]) for r in stage.repairs}
    assert repaired == {("kecamatan", "31.01.01"), ("kabkota", "31.01")}
    assert all(r["problem"] and r["area_after_m2"] > 0 for r in stage.repairs)
    notes = [n["message"] for n in stage.notes if "repaired with make_valid" in n["message"]]
    assert any("31.01.01" in m for m in notes) and any(m.startswith("kabkota 31.01:") for m in notes)


def _dump(path: Path, rows: list[str]) -> Path:
    path.write_text("/* header */\nDELETE FROM wilayah_boundaries WHERE 1;\n"
                    "INSERT INTO wilayah_boundaries(kode,nama,lat,lng,path) VALUES\n" + "\n".join(rows) + "\n")
    return path


SQUARE = "[[[-6.20,106.80],[-6.20,106.81],[-6.21,106.81],[-6.21,106.80],[-6.20,106.80]]]"


def test_sql_rows_that_cannot_be_read_are_rejects_with_their_line(tmp_path):
    from analysis.etl.wilayah_sql import parse_dump

    path = _dump(tmp_path / "bad.sql", [
        f"\t('31.71.01.1001','Gambir',-6.2,106.8,'{SQUARE}'),",
        "\t('31.71.01.1002','Kebon Kelapa',-6.2,106.8,'[[[-6.2,106.8],[-6.2'),",  # truncated path
        "\tgarbage that is no row,",
        "\t('31.71.01.1003','Petojo Utara',-6.2,106.8,'[[[-6.2,106.8],[-6.2,106.9]]]'),",  # 2-point ring
        "\t('31.71.01.1004','Petojo Selatan',-6.2,106.8,'[-6.2,106.8]'),",  # not nested
        f"\t('31.71.01.1005','Cideng',-6.2,106.8,'{SQUARE}');",
    ])
    dump = parse_dump(path)
    assert dump.data["kode"].tolist() == ["31.71.01.1001", "31.71.01.1005"]
    assert dump.rejects[["line", "reason"]].values.tolist() == [
        [5, "bad_path"], [6, "unparseable_row"], [7, "bad_ring"], [8, "bad_path"]]
    assert dump.rows_in == 6
    # [lat, lng] swapped to lon/lat
    minx, miny, maxx, maxy = dump.data.geometry.iloc[0].bounds
    assert (minx, miny, maxx, maxy) == (106.8, -6.21, 106.81, -6.2)


def test_sql_file_without_insert_is_an_input_error(tmp_path):
    from analysis.etl.wilayah_sql import parse_dump

    path = tmp_path / "empty.sql"
    path.write_text("/* only a header */\n")
    with pytest.raises(InputError) as exc:
        parse_dump(path)
    assert exc.value.code == "no_insert"


def test_sql_layer_rejects_count_in_the_table(tmp_path):
    path = _dump(tmp_path / "kab.sql", [
        f"\t('31.71','Kota Administrasi Jakarta Pusat',-6.2,106.8,'{SQUARE}'),",
        "\t('31.72','Kota Administrasi Jakarta Utara',-6.2,106.8,'[[[oops]]]'),",
        f"\t('31.71','Duplicate',-6.2,106.8,'{SQUARE}');",
    ])
    spec_free = dataclasses.replace(boundaries.SQL_SPECS["kabkota"], expected_count=None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(boundaries.SQL_SPECS, "kabkota", spec_free)
        layer = boundaries.layer_from_sql([path], "kabkota")
    assert layer.rows_in == 3 and len(layer.data) == 1
    assert layer.rejects[["row", "reason"]].values.tolist() == [["kab.sql:5", "bad_path"], ["kab.sql:6", "duplicate_code"]]


def test_scale_layer_7509_desa_read_with_mapping_and_simplified(raw_dir, manifest, tmp_path):
    spec = LayerSpec("desa", {"kode_kemendagri": "kode_kemendagri", "nama": "name"}, expected_count=7509)
    layer = read_layer(sources.raw_path("desa_jabar_banten", manifest, raw_dir), spec)
    assert len(layer.data) == 7509 and layer.rejects.empty and layer.rows_in == 7509
    # simplification on one kota and its kabupaten neighbour (the full layer is the benchmark's job)
    part = layer.data[layer.data["kode_kemendagri"].str.match(r"^36\.(71|03)\.")].reset_index(drop=True)
    assert len(part) > 250
    web = simplify_for_web(part)
    assert len(web) == len(part) and list(web["kode_kemendagri"]) == list(part["kode_kemendagri"])
    assert web.is_valid.all() and not web.is_empty.any() and shapely.coverage_is_valid(web.geometry.values)
    payload = to_geojson_bytes(web)
    assert payload == to_geojson_bytes(simplify_for_web(part))
    assert len(json.loads(payload)["features"]) == len(part)


# --- generic geometry helpers on small made-up coverages ---------------------------------------------------


def test_rebuild_coverage_closes_sliver_gap_and_resolves_overlap():
    left = box(106.80, -6.20, 106.81, -6.19)
    right = box(106.81003, -6.20, 106.82, -6.19)  # a 3 m sliver gap from left
    top = box(106.80, -6.19001, 106.82, -6.18)  # overlaps both by ~1 m
    island = box(106.90, -6.20, 106.901, -6.199)  # stands alone
    out = rebuild_coverage([left, right, top, island], grid=1e-5, gap_width=1e-4)
    assert shapely.coverage_is_valid(out) and shapely.is_valid(out).all()
    union = shapely.union_all(out[:3])
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert abs(shapely.area(out).sum() - union.area - out[3].area) < 1e-12
    assert out[3].equals(island)


def test_simplify_for_web_keeps_every_feature_and_rounds():
    cells = [box(106.8 + i * 0.01, -6.2, 106.81 + i * 0.01, -6.19).buffer(0.0001234567, quad_segs=16) for i in range(3)]
    gdf = gpd.GeoDataFrame({"kode_kemendagri": ["a", "b", "c"]}, geometry=cells, crs="EPSG:4326")
    web = simplify_for_web(gdf, tolerance=0.001, decimals=5)
    assert len(web) == 3 and web.is_valid.all() and shapely.coverage_is_valid(web.geometry.values)
    xy = shapely.get_coordinates(web.geometry.values)
    assert np.allclose(xy, np.round(xy, 5), rtol=0, atol=1e-12)
    assert shapely.get_num_coordinates(web.geometry.values).sum() < shapely.get_num_coordinates(cells).sum()


def test_to_geojson_bytes_is_deterministic_and_nulls_missing():
    gdf = gpd.GeoDataFrame({"kode": ["x", "y"], "v": [1.5, np.nan]},
                           geometry=[box(106.8, -6.2, 106.81, -6.19), box(106.81, -6.2, 106.82, -6.19)], crs=4326)
    first = to_geojson_bytes(gdf)
    assert first == to_geojson_bytes(gdf.copy())
    doc = json.loads(first)
    assert doc["features"][1]["properties"] == {"kode": "y", "v": None}
    with pytest.raises(ValueError):
        to_geojson_bytes(gdf.to_crs(UTM48S))


def test_normalise_code():
    assert normalise_code("31.71.01.1001") == "31.71.01.1001"
    assert normalise_code(" 3171011001 ") == "31.71.01.1001"
    assert normalise_code("3171") == "31.71"
    assert normalise_code("31888888") is None and normalise_code("31.71.X") is None and normalise_code(None) is None


# --- malformed inputs: each gets a specific error code or a rejects reason ---------------------------------


def test_file_missing(tmp_path):
    raises("file_missing", tmp_path / "nope.geojson", SPEC44)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"")
    raises("empty_file", path, SPEC44)


def test_file_with_no_features(tmp_path):
    path = tmp_path / "nofeatures.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    raises("empty_file", path, SPEC44)


def test_truncated_geojson(tmp_path, pusat):
    full = write(pusat, tmp_path / "full.geojson").read_bytes()
    path = tmp_path / "truncated.geojson"
    path.write_bytes(full[: len(full) // 2])
    err = raises("corrupt_file", path, SPEC44)
    assert "truncated or corrupt" in str(err)


def test_corrupt_shapefile_without_shx(tmp_path, pusat):
    path = write(pusat, tmp_path / "pusat.shp")
    path.with_suffix(".shp").write_bytes(b"not a shapefile at all" * 10)
    raises("corrupt_file", path, LayerSpec("kelurahan", {"kode_kemen": "kode_kemendagri", "kelurahan": "name"}))


def test_missing_column(tmp_path, pusat):
    path = write(pusat.drop(columns="kelurahan"), tmp_path / "nocol.geojson")
    err = raises("missing_column", path, SPEC44)
    assert "'kelurahan'" in str(err)


def test_renamed_column(tmp_path, pusat):
    path = write(pusat.rename(columns={"kode_kemendagri": "kode_kemendagr"}), tmp_path / "renamed.geojson")
    err = raises("renamed_column", path, SPEC44)
    assert "'kode_kemendagri'" in str(err) and "'kode_kemendagr'" in str(err)


def test_duplicate_code_is_rejected_and_counted(tmp_path, pusat):
    dup = pd.concat([pusat, pusat.iloc[[3]]], ignore_index=True)
    layer = read_layer(write(dup, tmp_path / "dup.geojson"), SPEC44)
    assert layer.rows_in == 45 and len(layer.data) == 44
    assert list(layer.rejects["reason"]) == ["duplicate_code"] and layer.rejects["row"].iloc[0] == 44
    # a duplicate that replaces another unit leaves the layer one short
    short = pusat.copy()
    short.loc[5, "kode_kemendagri"] = short.loc[4, "kode_kemendagri"]
    err = raises("wrong_unit_count", write(short, tmp_path / "dup2.geojson"), SPEC44)
    assert "43 usable units, expected 44" in str(err) and "duplicate_code" in str(err)


def test_unknown_kelurahan_code(tmp_path, pusat):
    register = frozenset(pusat["kode_kemendagri"])
    bad = pusat.copy()
    bad.loc[0, "kode_kemendagri"] = "31.71.09.9999"
    path = write(bad, tmp_path / "unknown.geojson")
    open_spec = LayerSpec("kelurahan", SPEC44.columns)
    layer = read_layer(path, open_spec, register_codes=register)
    assert list(layer.rejects["reason"]) == ["unknown_code"]
    assert layer.rejects["kode_kemendagri"].iloc[0] == "31.71.09.9999" and len(layer.data) == 43
    err = raises("wrong_unit_count", path, SPEC44, register_codes=register)
    assert pusat.loc[0, "kode_kemendagri"] in str(err)


def test_bad_and_missing_codes_are_rejected(tmp_path, pusat):
    bad = pusat.copy()
    bad.loc[0, "kode_kemendagri"] = "31.71.X"
    bad.loc[1, "kode_kemendagri"] = None
    layer = read_layer(write(bad, tmp_path / "badcode.geojson"), LayerSpec("kelurahan", SPEC44.columns))
    assert sorted(layer.rejects["reason"]) == ["bad_code", "missing_code"]
    assert layer.rows_in == len(layer.data) + len(layer.rejects)


def test_self_intersecting_polygon_is_repaired_and_noted(tmp_path, pusat):
    bowtie = Polygon([(106.80, -6.17), (106.82, -6.15), (106.82, -6.17), (106.80, -6.15), (106.80, -6.17)])
    assert not bowtie.is_valid
    bad = pusat.copy()
    bad.loc[2, "geometry"] = bowtie
    layer = read_layer(write(bad, tmp_path / "bowtie.geojson"), SPEC44)
    code = pusat.loc[2, "kode_kemendagri"]
    assert layer.repaired == [code] and any("make_valid" in n for n in layer.notes)
    fixed = layer.data.set_index("kode_kemendagri").geometry[code]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and fixed.area == pytest.approx(bowtie.buffer(0).area * 2, rel=0.01)


def test_collapsed_polygon_is_rejected(tmp_path, pusat):
    flat = Polygon([(106.80, -6.17), (106.82, -6.17), (106.81, -6.17), (106.80, -6.17)])  # a spike, no area
    bad = pusat.copy()
    bad.loc[2, "geometry"] = flat
    layer = read_layer(write(bad, tmp_path / "flat.geojson"), LayerSpec("kelurahan", SPEC44.columns))
    assert list(layer.rejects["reason"]) == ["invalid_geometry"]


def test_empty_null_and_point_geometries_are_rejected(tmp_path, pusat):
    bad = pusat.copy()
    bad.loc[0, "geometry"] = Polygon()
    bad.loc[1, "geometry"] = None
    bad.loc[2, "geometry"] = Point(106.8, -6.17)
    layer = read_layer(write(bad, tmp_path / "empty_geom.geojson"), LayerSpec("kelurahan", SPEC44.columns))
    reasons = dict(zip(layer.rejects["row"], layer.rejects["reason"]))
    assert reasons == {0: "empty_geometry", 1: "empty_geometry", 2: "not_polygon"}
    with pytest.raises(InputError) as info:
        read_layer(tmp_path / "empty_geom.geojson", SPEC44)
    assert info.value.code == "wrong_unit_count"


def test_projected_crs_is_reprojected_and_noted(tmp_path, pusat):
    path = write(pusat.to_crs(UTM48S), tmp_path / "utm.gpkg")
    layer = read_layer(path, SPEC44)
    assert layer.data.crs.to_epsg() == 4326 and any("reprojected from EPSG:32748" in n for n in layer.notes)
    src = pusat.sort_values("kode_kemendagri").reset_index(drop=True)
    assert np.allclose(shapely.get_coordinates(layer.data.geometry.values), shapely.get_coordinates(src.geometry.values), atol=1e-7)


def test_utm_metres_labelled_as_lonlat(tmp_path, pusat):
    metres = pusat.to_crs(UTM48S).set_crs("EPSG:4326", allow_override=True)
    err = raises("implausible_coordinates", write(metres, tmp_path / "mislabelled.geojson"), SPEC44)
    assert "projected metres" in str(err)


def test_swapped_axes(tmp_path, pusat):
    swapped = pusat.copy()
    swapped["geometry"] = shapely.transform(pusat.geometry.values, lambda xy: xy[:, ::-1])
    raises("implausible_coordinates", write(swapped, tmp_path / "swapped.geojson"), SPEC44)


def test_layer_of_another_region(tmp_path, pusat):
    moved = pusat.copy()
    moved["geometry"] = pusat.geometry.translate(xoff=-3.0, yoff=4.0)  # Jambi, not Jakarta
    err = raises("outside_expected_area", write(moved, tmp_path / "moved.geojson"), SPEC44)
    assert "expected area" in str(err)


def test_shapefile_without_prj(tmp_path, pusat):
    path = write(pusat.rename(columns={"kode_kemendagri": "KODE", "kelurahan": "NAMA"}), tmp_path / "noprj.shp")
    path.with_suffix(".prj").unlink()
    spec = LayerSpec("kelurahan", {"KODE": "kode_kemendagri", "NAMA": "name"}, expected_count=44)
    err = raises("missing_crs", path, spec)
    assert ".prj" in str(err)
    assumed = LayerSpec("kelurahan", spec.columns, expected_count=44, assume_crs="EPSG:4326")
    layer = read_layer(path, assumed)
    assert len(layer.data) == 44 and any("assumed EPSG:4326" in n for n in layer.notes)


def test_real_shapefile_with_column_mapping(raw_dir, manifest, stage):
    """The Dukcapil 2019 shapefile: undotted codes, DBF names, 2 lake polygons with an 8-digit code."""
    spec = LayerSpec("kelurahan", {"KODE_DESA": "kode_kemendagri", "DESA": "name", "KECAMATAN": "kecamatan",
                                   "KAB_KOTA": "kab_kota"}, expected_count=267, expected_bounds=boundaries.DKI_BOUNDS)
    register = frozenset(stage.tables["wilayah_register"].data["kode_kemendagri"])
    layer = read_layer(sources.raw_path("dukcapil_2019", manifest, raw_dir), spec, register_codes=register)
    assert layer.rows_in == 269 and len(layer.data) == 267
    assert list(layer.rejects["reason"]) == ["bad_code", "bad_code"]
    assert set(layer.data["kode_kemendagri"]) == register


def test_geopackage_with_column_mapping(tmp_path, pusat):
    renamed = pusat.rename(columns={"kode_kemendagri": "KODE_KEL", "kelurahan": "NAMA_KEL", "kecamatan": "NAMA_KEC"})
    path = write(renamed, tmp_path / "pusat.gpkg", layer="kelurahan_pusat")
    spec = LayerSpec("kelurahan", {"KODE_KEL": "kode_kemendagri", "NAMA_KEL": "name", "NAMA_KEC": "kecamatan"},
                     expected_count=44, layer="kelurahan_pusat")
    layer = read_layer(path, spec)
    assert list(layer.data.columns) == ["kode_kemendagri", "name", "kecamatan", "geometry"]
    row = layer.data.set_index("kode_kemendagri").loc["31.71.01.1001"]
    assert row["name"] == "Gambir" and row["kecamatan"] == "Gambir"


def test_spec_rejects_a_mapping_without_code():
    with pytest.raises(ValueError):
        LayerSpec("kelurahan", {"nama": "name"})
    assert DKI_SPECS["kelurahan"].expected_count == 267
