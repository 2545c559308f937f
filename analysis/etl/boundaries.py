"""Administrative boundaries: read any region layer, check it, and publish it for analysis and the web.

``read_layer(path, spec)`` reads a polygon layer from any file pyogrio/GDAL opens (GeoJSON, Shapefile,
GeoPackage, ...), renames its columns through ``spec.columns`` to the canonical ``kode_kemendagri``,
``name`` and parent codes/names, and checks it. A problem with the whole file raises
``analysis.errors.InputError`` with a stable code; a problem with one feature rejects that row with a
reason, so that rows in = rows used + rows rejected.

File-level codes: ``file_missing``, ``empty_file``, ``corrupt_file``, ``missing_column``,
``renamed_column``, ``missing_crs``, ``implausible_coordinates`` (coordinates that cannot be lon/lat,
e.g. UTM metres labelled EPSG:4326), ``outside_expected_area``, ``wrong_unit_count``.
Row reasons: ``missing_code``, ``bad_code``, ``duplicate_code``, ``unknown_code`` (not in the register),
``empty_geometry``, ``not_polygon``, ``invalid_geometry`` (``make_valid`` leaves nothing polygonal).
Notes (not errors): ``repaired`` geometries (OGC validity restored with ``shapely.make_valid``) and a
reprojection from another CRS to EPSG:4326.

``build(ctx)`` is the build stage for the three DKI layers (267 kelurahan, 44 kecamatan, 6 kab/kota):
GeoParquet tables for analysis (source geometry, repaired where needed) and simplified web GeoJSON
(``boundaries_<level>.geojson``, topology-preserving, 5 decimals; see ``analysis.etl.geometry``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import config
from analysis.errors import InputError
from analysis.etl.geometry import WGS84, repair_polygon, simplify_for_web, to_geojson_bytes
from analysis.tables import Field, Table, atomic_write_bytes

STAGE = "boundaries"
CANONICAL = ("kode_kemendagri", "name", "kode_kec_kemendagri", "kecamatan", "kode_kab_kemendagri", "kab_kota")
REQUIRED = ("kode_kemendagri", "name")
# Lon/lat bounding box of DKI Jakarta including Kepulauan Seribu, with a margin.
DKI_BOUNDS = (106.2, -6.5, 107.1, -5.1)
UTM48S = "EPSG:32748"  # metric CRS for areas and distances in Jakarta
# The web copy of a layer must stay small enough for a page to load it quickly (issue 2: <= 150 KB).
# Tolerances (degrees) tried in order, the first whose GeoJSON fits wins; 0.002 deg (~220 m) puts the
# 267 kelurahan at ~0.13 MB, leaving room for longer names from the register.
WEB_MAX_BYTES = 150_000
WEB_TOLERANCES = (0.002, 0.0025, 0.003, 0.004, 0.005)

_CODE_DIGITS = {2: (2,), 4: (2, 2), 6: (2, 2, 2), 10: (2, 2, 2, 4)}
_DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


@dataclass(frozen=True)
class LayerSpec:
    """How to read one region layer.

    ``columns`` maps source column names to canonical ones (``CANONICAL``); ``kode_kemendagri`` and
    ``name`` are required. ``expected_count`` is the number of units the layer must have (267/44/6 for
    DKI); ``expected_bounds`` (lon/lat min x, min y, max x, max y) catches a layer of the wrong place or
    with swapped axes; ``assume_crs`` is used only when the file declares no CRS (never overrides one).
    """

    level: str
    columns: dict[str, str]
    expected_count: int | None = None
    expected_bounds: tuple[float, float, float, float] | None = None
    assume_crs: str | None = None
    layer: str | int | None = None

    def __post_init__(self):
        targets = list(self.columns.values())
        unknown = sorted(set(targets) - set(CANONICAL))
        if unknown:
            raise ValueError(f"LayerSpec {self.level}: unknown canonical columns {unknown}; use {CANONICAL}")
        missing = [c for c in REQUIRED if c not in targets]
        if missing:
            raise ValueError(f"LayerSpec {self.level}: the column mapping needs {missing}")
        if len(set(targets)) != len(targets):
            raise ValueError(f"LayerSpec {self.level}: two source columns map to the same canonical column")


@dataclass
class Layer:
    """A checked layer: ``data`` (GeoDataFrame, canonical columns, EPSG:4326), its rejects and notes."""

    level: str
    data: gpd.GeoDataFrame
    rows_in: int
    rejects: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # codes whose geometry make_valid repaired
    repairs: list[dict] = field(default_factory=list)  # one record per repair (see _repair_record)


def normalise_code(value) -> str | None:
    """A Kemendagri code in dotted form (``31.71.01.1001``), or None when it cannot be one.

    Accepts the dotted form and the undotted digits Dukcapil and BPS-style exports use (``3171011001``),
    with surrounding spaces; numbers read as floats (``3171011001.0``) are accepted too.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if _DOTTED.match(text):
        return text
    if text.isdigit() and len(text) in _CODE_DIGITS:
        parts, pos = [], 0
        for width in _CODE_DIGITS[len(text)]:
            parts.append(text[pos : pos + width])
            pos += width
        return ".".join(parts)
    return None


def _open(path: Path, spec: LayerSpec, source: str) -> gpd.GeoDataFrame:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    if not path.exists():
        raise InputError("file_missing", f"the {spec.level} boundary file does not exist", source)
    if path.is_file() and path.stat().st_size == 0:
        raise InputError("empty_file", f"the {spec.level} boundary file is empty (0 bytes)", source)
    try:
        kwargs = {"layer": spec.layer} if spec.layer is not None else {}
        gdf = pyogrio.read_dataframe(path, **kwargs)
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(
            "corrupt_file",
            f"the {spec.level} boundary file cannot be read as a GIS layer (truncated or corrupt?): "
            f"{str(exc).splitlines()[0][:200]}",
            source,
        ) from exc
    except Exception as exc:  # GDAL reports some malformed inputs with generic errors
        raise InputError(
            "corrupt_file", f"the {spec.level} boundary file cannot be read: {type(exc).__name__}", source
        ) from exc
    if len(gdf) == 0:
        raise InputError("empty_file", f"the {spec.level} boundary file has no features", source)
    return gdf


def _check_columns(gdf: gpd.GeoDataFrame, spec: LayerSpec, source: str) -> None:
    present = [c for c in gdf.columns if c != gdf.geometry.name]
    missing = [c for c in spec.columns if c not in present]
    if not missing:
        return
    spare = [c for c in present if c not in spec.columns]
    renamed = {}
    for col in missing:
        close = difflib.get_close_matches(col, spare, n=1, cutoff=0.75)
        if not close:
            close = [c for c in spare if c.lower() == col.lower()]
        if close:
            renamed[col] = close[0]
    if renamed and len(renamed) == len(missing):
        pairs = ", ".join(f"'{m}' (found '{f}': renamed?)" for m, f in renamed.items())
        raise InputError("renamed_column", f"the {spec.level} layer lacks column(s) {pairs}", source)
    raise InputError(
        "missing_column",
        f"the {spec.level} layer lacks column(s) {missing}; it has {present[:20]}",
        source,
    )


def _check_crs(gdf: gpd.GeoDataFrame, spec: LayerSpec, source: str, notes: list[str]) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        if spec.assume_crs is None:
            raise InputError(
                "missing_crs",
                f"the {spec.level} layer declares no coordinate reference system (a Shapefile without its "
                ".prj?); add the .prj or give the CRS explicitly",
                source,
            )
        gdf = gdf.set_crs(spec.assume_crs)
        notes.append(f"{spec.level}: no CRS in the file; assumed {spec.assume_crs} as configured")
    finite = gdf.geometry[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    if gdf.crs.to_epsg() == 4326:
        if len(finite):
            minx, miny, maxx, maxy = finite.total_bounds
            if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
                raise InputError(
                    "implausible_coordinates",
                    f"the {spec.level} layer is labelled EPSG:4326 (lon/lat degrees) but has coordinates up to "
                    f"({maxx:.0f}, {maxy:.0f}): projected metres with a wrong CRS label, or swapped axes?",
                    source,
                )
        return gdf
    try:
        name = gdf.crs.to_string()
        gdf = gdf.to_crs(WGS84)
    except Exception as exc:
        raise InputError("corrupt_file", f"the {spec.level} layer's CRS cannot be transformed: {exc}", source) from exc
    notes.append(f"{spec.level}: reprojected from {name} to EPSG:4326")
    return gdf


def _reject(rejects: list[dict], row: int, code: str | None, reason: str, detail: str) -> None:
    rejects.append({"row": row, "reason": reason, "kode_kemendagri": code, "detail": detail})


def read_layer(
    path: str | Path,
    spec: LayerSpec,
    register_codes: set[str] | frozenset[str] | None = None,
    source: str | None = None,
) -> Layer:
    """Read and check the region layer at ``path`` (see the module docstring for every check).

    ``register_codes``: when given, the dotted codes the layer may contain; any other code is rejected as
    ``unknown_code``. Output rows are sorted by code; ``rejects`` has ``row`` (0-based feature index),
    ``reason``, ``kode_kemendagri`` and ``detail``.
    """
    path = Path(path)
    source = source or path.name
    return check_layer(_open(path, spec, source), spec, register_codes, source)


def check_layer(
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    register_codes: set[str] | frozenset[str] | None = None,
    source: str | None = None,
    row_labels=None,
) -> Layer:
    """Check a layer already in memory (``read_layer`` after opening a file; the SQL converter after parsing).

    ``row_labels``: what to report as a reject's ``row`` for each feature (default its 0-based index; the SQL
    converter passes line numbers).
    """
    source = source or spec.level
    _check_columns(gdf, spec, source)
    notes: list[str] = []
    gdf = _check_crs(gdf, spec, source, notes)
    rows_in = len(gdf)
    labels = list(range(rows_in)) if row_labels is None else list(row_labels)

    frame = pd.DataFrame({canon: gdf[src].to_numpy() for src, canon in spec.columns.items()})
    for col in frame.columns:
        if col.startswith("kode_"):
            continue
        frame[col] = frame[col].astype("string").str.strip()
    raw_codes = frame["kode_kemendagri"].tolist()
    codes = [normalise_code(v) for v in raw_codes]
    frame["kode_kemendagri"] = pd.array(codes, dtype="string")
    for col in ("kode_kec_kemendagri", "kode_kab_kemendagri"):
        if col in frame:
            frame[col] = pd.array([normalise_code(v) for v in frame[col].tolist()], dtype="string")

    rejects: list[dict] = []
    keep = np.ones(rows_in, dtype=bool)
    geoms = np.empty(rows_in, dtype=object)
    repaired: list[str] = []
    repairs: list[dict] = []
    seen: dict[str, int] = {}
    for i, (code, raw, geom) in enumerate(zip(codes, raw_codes, gdf.geometry.values)):
        row = labels[i]
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
            _reject(rejects, row, None, "missing_code", "no code in the code column")
            keep[i] = False
            continue
        if code is None:
            _reject(rejects, row, str(raw)[:20], "bad_code", "not a Kemendagri code (2, 4, 6 or 10 digits, dotted or not)")
            keep[i] = False
            continue
        if code in seen:
            _reject(rejects, row, code, "duplicate_code", f"same code as row {labels[seen[code]]}; the first one is kept")
            keep[i] = False
            continue
        seen[code] = i
        if register_codes is not None and code not in register_codes:
            _reject(rejects, row, code, "unknown_code", "code not in the register of this level")
            keep[i] = False
            continue
        fixed, status = repair_polygon(geom)
        if fixed is None:
            _reject(rejects, row, code, status, {
                "empty_geometry": "no geometry or an empty one",
                "not_polygon": f"geometry is a {geom.geom_type if geom is not None else 'null'}, not a polygon",
                "invalid_geometry": f"invalid ({shapely.is_valid_reason(geom)}) and make_valid leaves no polygon",
            }[status])
            keep[i] = False
            continue
        if status == "repaired":
            repaired.append(code)
            repairs.append(_repair_record(spec.level, code, geom, fixed))
        geoms[i] = fixed
    if repaired:
        notes.append(f"{spec.level}: repaired invalid geometry with make_valid for {len(repaired)} unit(s): "
                     + ", ".join(sorted(repaired)[:10]))

    frame["geometry"] = geoms
    out = gpd.GeoDataFrame(frame[keep].copy(), geometry="geometry", crs=WGS84)
    out = out.sort_values("kode_kemendagri", kind="stable").reset_index(drop=True)
    if spec.expected_bounds is not None and len(out):
        minx, miny, maxx, maxy = out.total_bounds
        ex0, ey0, ex1, ey1 = spec.expected_bounds
        if minx < ex0 or miny < ey0 or maxx > ex1 or maxy > ey1:
            raise InputError(
                "outside_expected_area",
                f"the {spec.level} layer spans lon {minx:.3f}..{maxx:.3f}, lat {miny:.3f}..{maxy:.3f}, outside "
                f"the expected area lon {ex0}..{ex1}, lat {ey0}..{ey1} (wrong region or swapped axes?)",
                source,
            )
    if spec.expected_count is not None and len(out) != spec.expected_count:
        detail = ""
        if register_codes is not None:
            absent = sorted(set(register_codes) - set(out["kode_kemendagri"]))
            if absent:
                detail = f"; missing from the layer: {', '.join(absent[:10])}" + (" ..." if len(absent) > 10 else "")
        reasons = pd.Series([r["reason"] for r in rejects]).value_counts().to_dict() if rejects else {}
        raise InputError(
            "wrong_unit_count",
            f"the {spec.level} layer has {len(out)} usable units, expected {spec.expected_count} "
            f"({rows_in} features read, rejected: {reasons or 'none'}){detail}",
            source,
        )
    reject_frame = pd.DataFrame(rejects, columns=["row", "reason", "kode_kemendagri", "detail"])
    repairs.sort(key=lambda r: r["kode_kemendagri"])
    return Layer(spec.level, out, rows_in, reject_frame, notes, sorted(repaired), repairs)


def _repair_record(level: str, code: str, before, after) -> dict:
    """What ``make_valid`` changed for one unit: the validity problem and the area before/after (UTM 48S m²).

    The area of an invalid polygon is GEOS's signed-ring sum (nested or overlapping shells count twice), so
    the change says how much of the drawn area the repair removed or kept.
    """
    utm = gpd.GeoSeries([before, after], crs=WGS84).to_crs(UTM48S).area.to_numpy()
    return {
        "level": level,
        "kode_kemendagri": code,
        "problem": shapely.is_valid_reason(before),
        "area_before_m2": round(float(utm[0]), 1),
        "area_after_m2": round(float(utm[1]), 1),
    }


# --- the DKI build stage -----------------------------------------------------------------------------------

DKI_SPECS = {
    "kelurahan": LayerSpec(
        "kelurahan",
        {"kode_kemendagri": "kode_kemendagri", "kelurahan": "name", "kode_kec_kemendagri": "kode_kec_kemendagri",
         "kecamatan": "kecamatan", "kode_kab_kemendagri": "kode_kab_kemendagri", "kab_kota": "kab_kota"},
        expected_count=267, expected_bounds=DKI_BOUNDS,
    ),
    "kecamatan": LayerSpec(
        "kecamatan",
        {"kode_kemendagri": "kode_kemendagri", "kecamatan": "name", "kode_kab_kemendagri": "kode_kab_kemendagri",
         "kab_kota": "kab_kota"},
        expected_count=44, expected_bounds=DKI_BOUNDS,
    ),
    "kabkota": LayerSpec(
        "kabkota", {"kode_kemendagri": "kode_kemendagri", "kab_kota": "name"},
        expected_count=6, expected_bounds=DKI_BOUNDS,
    ),
}
SOURCE_IDS = {level: f"boundaries_{level}" for level in DKI_SPECS}
TITLES = {
    "kelurahan": "Kelurahan boundaries, DKI Jakarta (267)",
    "kecamatan": "Kecamatan boundaries, DKI Jakarta (44)",
    "kabkota": "Kabupaten/kota boundaries, DKI Jakarta (6)",
}

_F_CODE = Field("kode_kemendagri", "Kemendagri code of the unit, dotted (e.g. 31.71.01.1001); the primary key")
_F_KEC_CODE = Field("kode_kec_kemendagri", "Kemendagri code of the kecamatan (e.g. 31.71.01)")
_F_KAB_CODE = Field("kode_kab_kemendagri", "Kemendagri code of the kab/kota (e.g. 31.71; not the BPS code)")
_F_KEC = Field("kecamatan", "Kecamatan name (Kemendagri spelling; from wilayah_register when built)")
_F_KAB = Field("kab_kota", "Kab/kota name (Kemendagri spelling; from wilayah_register when built)")
FIELDS = {
    "kelurahan": [_F_CODE, Field("kelurahan", "Kelurahan name (Kemendagri spelling)"), _F_KEC_CODE, _F_KEC,
                  _F_KAB_CODE, _F_KAB],
    "kecamatan": [_F_CODE, Field("name", "Kecamatan name (Kemendagri spelling)"), _F_KAB_CODE, _F_KAB],
    "kabkota": [_F_CODE, Field("name", "Kab/kota name (Kemendagri spelling)")],
}

# Properties carried by the web GeoJSON (the map joins everything else by code): keeps it small.
WEB_COLUMNS = {
    "kelurahan": ["kode_kemendagri", "kelurahan", "kecamatan", "kab_kota"],
    "kecamatan": ["kode_kemendagri", "name", "kab_kota"],
    "kabkota": ["kode_kemendagri", "name"],
}


def _registers(ctx) -> dict[str, pd.DataFrame] | None:
    """Per level, the register's codes and names (from ``wilayah_register``), or None when not built."""
    table = ctx.tables.get("wilayah_register")
    if table is None:
        return None
    reg = pd.DataFrame(table.data)
    need = {"kode_kemendagri", "kelurahan", "kode_kec_kemendagri", "kecamatan", "kode_kab_kemendagri", "kab_kota"}
    if not need <= set(reg.columns):
        ctx.note(STAGE, f"wilayah_register lacks {sorted(need - set(reg.columns))}: codes not checked", "warning")
        return None
    kel = reg[["kode_kemendagri", "kelurahan", "kode_kec_kemendagri", "kecamatan", "kode_kab_kemendagri", "kab_kota"]]
    kec = (reg[["kode_kec_kemendagri", "kecamatan", "kode_kab_kemendagri", "kab_kota"]]
           .drop_duplicates("kode_kec_kemendagri").rename(columns={"kode_kec_kemendagri": "kode_kemendagri"}))
    kab = (reg[["kode_kab_kemendagri", "kab_kota"]].drop_duplicates("kode_kab_kemendagri")
           .rename(columns={"kode_kab_kemendagri": "kode_kemendagri"}))
    return {"kelurahan": kel.astype("string"), "kecamatan": kec.astype("string"), "kabkota": kab.astype("string")}


def _shape(level: str, layer: Layer, register: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """The table's columns for ``level``; parent names come from the register when there is one."""
    gdf = layer.data
    if level == "kelurahan":
        out = gdf.rename(columns={"name": "kelurahan"})
        if register is not None:
            parents = register.set_index("kode_kemendagri")
            for col in ("kode_kec_kemendagri", "kecamatan", "kode_kab_kemendagri", "kab_kota"):
                out[col] = out["kode_kemendagri"].map(parents[col]).astype("string")
    elif level == "kecamatan":
        out = gdf.copy()
        if register is not None:
            parents = register.set_index("kode_kemendagri")
            out["name"] = out["kode_kemendagri"].map(parents["kecamatan"]).astype("string")
            for col in ("kode_kab_kemendagri", "kab_kota"):
                out[col] = out["kode_kemendagri"].map(parents[col]).astype("string")
    else:
        out = gdf.copy()
        if register is not None:
            out["name"] = out["kode_kemendagri"].map(register.set_index("kode_kemendagri")["kab_kota"]).astype("string")
    cols = [f.name for f in FIELDS[level]]
    for col in cols:
        if col not in out:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="string")
        out[col] = out[col].astype("string")
    # A parent code missing (a layer without it and no register) follows from the Kemendagri code itself.
    for col, width in (("kode_kec_kemendagri", 8), ("kode_kab_kemendagri", 5)):
        if col in cols and out[col].isna().any():
            out[col] = out[col].fillna(out["kode_kemendagri"].str[:width])
    return gpd.GeoDataFrame(out[cols + ["geometry"]], geometry="geometry", crs=WGS84)


def web_layer(gdf: gpd.GeoDataFrame, max_bytes: int = WEB_MAX_BYTES) -> tuple[bytes, float]:
    """The simplified web GeoJSON of ``gdf`` within ``max_bytes``: the finest tolerance that fits."""
    payload = b""
    for tol in WEB_TOLERANCES:
        payload = to_geojson_bytes(simplify_for_web(gdf, tolerance=tol, decimals=5))
        if len(payload) <= max_bytes:
            return payload, tol
    raise InputError("web_layer_too_large",
                     f"the simplified layer is {len(payload)} bytes at tolerance {WEB_TOLERANCES[-1]}, above "
                     f"{max_bytes}", None)


# --- from the upstream SQL dumps, or the embedded default -----------------------------------------------

# The upstream dumps carry kode, nama, lat, lng (upstream's centroid) and the rings; parent codes follow from
# the Kemendagri code itself (31.71.01.1001 sits in 31.71.01 in 31.71: one numbering system, so cutting it is
# safe; it is BPS <-> Kemendagri that must never be joined by prefix) and parent names from the parents' dumps.
SQL_SPECS = {
    "kelurahan": LayerSpec(
        "kelurahan",
        {"kode": "kode_kemendagri", "nama": "name", "kode_kec": "kode_kec_kemendagri", "kecamatan": "kecamatan",
         "kode_kab": "kode_kab_kemendagri", "kab_kota": "kab_kota"},
        expected_count=267, expected_bounds=DKI_BOUNDS,
    ),
    "kecamatan": LayerSpec(
        "kecamatan",
        {"kode": "kode_kemendagri", "nama": "name", "kode_kab": "kode_kab_kemendagri", "kab_kota": "kab_kota"},
        expected_count=44, expected_bounds=DKI_BOUNDS,
    ),
    "kabkota": LayerSpec("kabkota", {"kode": "kode_kemendagri", "nama": "name"}, expected_count=6,
                         expected_bounds=DKI_BOUNDS),
}
# The embedded default: the web copies a build makes (``WEB_COLUMNS``), shipped in the package.
EMBEDDED_BOUNDARIES = config.EMBEDDED_DIR / "boundaries"
EMBEDDED_SOURCE_ID = "boundaries_embedded"
LICENCE_NAME = "LICENSE-wilayah_boundaries"
EMBEDDED_SPECS = {
    "kelurahan": LayerSpec("kelurahan", {"kode_kemendagri": "kode_kemendagri", "kelurahan": "name",
                                         "kecamatan": "kecamatan", "kab_kota": "kab_kota"},
                           expected_count=267, expected_bounds=DKI_BOUNDS),
    "kecamatan": LayerSpec("kecamatan", {"kode_kemendagri": "kode_kemendagri", "name": "name", "kab_kota": "kab_kota"},
                           expected_count=44, expected_bounds=DKI_BOUNDS),
    "kabkota": LayerSpec("kabkota", {"kode_kemendagri": "kode_kemendagri", "name": "name"}, expected_count=6,
                         expected_bounds=DKI_BOUNDS),
}
_PARENT_LEVEL = {"kelurahan": "kecamatan", "kecamatan": "kabkota"}


def sql_paths(ctx_or_raw, manifest, level: str) -> list[Path]:
    """The SQL dump files of ``level`` in raw (manifest order), the licence file left out."""
    raw = Path(getattr(ctx_or_raw, "raw", ctx_or_raw))
    return [raw / f.path for f in manifest[SOURCE_IDS[level]].files if f.path.endswith(".sql")]


def layer_from_sql(paths, level: str, register_codes=None, source: str | None = None,
                   parent_names: dict[str, dict[str, str]] | None = None) -> Layer:
    """Convert and check one level from its upstream SQL dump(s): parse (``wilayah_sql.parse_dump``: swap to
    lon/lat, 6 decimals, unparseable rows rejected with their line), then ``check_layer`` (codes, register,
    ``make_valid`` repairs recorded, expected count and area). ``parent_names``: ``{"kecamatan": {code: name},
    "kabkota": {...}}`` from the parents' dumps. Rejects: ``row`` is the line in ``file``."""
    from analysis.etl.wilayah_sql import parse_dump

    spec = SQL_SPECS[level]
    source = source or SOURCE_IDS[level]
    dump = parse_dump(paths, source)
    gdf = dump.data
    parent_names = parent_names or {}
    kode = gdf["kode"].astype(str)
    if level == "kelurahan":
        gdf["kode_kec"] = kode.str[:8]
        gdf["kecamatan"] = gdf["kode_kec"].map(parent_names.get("kecamatan", {}))
    if level in ("kelurahan", "kecamatan"):
        gdf["kode_kab"] = kode.str[:5]
        gdf["kab_kota"] = gdf["kode_kab"].map(parent_names.get("kabkota", {}))
    labels = [f"{f}:{n}" for f, n in zip(gdf["_file"], gdf["_line"])]
    layer = check_layer(gdf, spec, register_codes, source, row_labels=labels)
    parse_rejects = pd.DataFrame({
        "row": [f"{f}:{n}" for f, n in zip(dump.rejects["file"], dump.rejects["line"])],
        "reason": dump.rejects["reason"], "kode_kemendagri": dump.rejects["kode"], "detail": dump.rejects["detail"],
    })
    if len(parse_rejects):
        layer.rejects = pd.concat([parse_rejects, layer.rejects], ignore_index=True)
        layer.notes.append(f"{level}: {len(parse_rejects)} SQL row(s) could not be read (see the rejects)")
    layer.rows_in = dump.rows_in
    return layer


def _kind(ctx, level: str) -> str:
    """Where ``level`` comes from in this build: ``sql`` (upstream dumps in raw) or ``embedded``."""
    return "sql" if ctx.available(SOURCE_IDS[level]) else "embedded"


def build(ctx) -> list[Table]:
    registers = _registers(ctx)
    if registers is None:
        ctx.note(STAGE, "wilayah_register not built: boundary codes not checked against a register")
    register_sources = list(ctx.tables["wilayah_register"].sources) if registers is not None else []
    kinds = {level: _kind(ctx, level) for level in DKI_SPECS}
    embedded = [lvl for lvl, k in kinds.items() if k == "embedded"]
    if embedded:
        ctx.note(STAGE, "boundary sources missing (" + ", ".join(SOURCE_IDS[lvl] for lvl in embedded) + "): the "
                 "map uses the embedded simplified boundaries shipped with the project (MIT, cahyadsn/"
                 "wilayah_boundaries) for " + ", ".join(embedded), "warning")
    tables = []
    parent_names: dict[str, dict[str, str]] = {}
    for level in ("kabkota", "kecamatan", "kelurahan"):  # parents first: their names label the children
        sid = SOURCE_IDS[level] if kinds[level] == "sql" else EMBEDDED_SOURCE_ID
        register = registers[level] if registers is not None else None
        codes = frozenset(register["kode_kemendagri"].dropna()) if register is not None else None
        name = f"boundaries_{level}"
        if kinds[level] == "sql":
            layer = layer_from_sql(sql_paths(ctx, ctx.manifest, level), level, codes, sid, parent_names)
        else:
            layer = read_layer(EMBEDDED_BOUNDARIES / f"{name}.geojson", EMBEDDED_SPECS[level], codes, sid)
        parent_names[level] = dict(zip(layer.data["kode_kemendagri"], layer.data["name"]))
        for note in layer.notes:
            ctx.note(STAGE, note)
        for rep in layer.repairs:
            ctx.note(STAGE, f"{level} {rep['kode_kemendagri']}: invalid upstream ({rep['problem']}), repaired with "
                            f"make_valid; area {rep['area_before_m2']:.0f} -> {rep['area_after_m2']:.0f} m2 (UTM 48S)")
            ctx.repairs.append(rep)
        data = _shape(level, layer, register)
        if kinds[level] == "sql":
            payload, tol = web_layer(data[WEB_COLUMNS[level] + ["geometry"]])
            how = f"coverage-simplified at {tol} deg, 5 decimals"
        else:
            payload, tol = (EMBEDDED_BOUNDARIES / f"{name}.geojson").read_bytes(), None
            how = "the embedded simplified copy as shipped"
        atomic_write_bytes(ctx.processed / f"{name}.geojson", payload)
        ctx.note(STAGE, f"{name}.geojson: {len(data)} features, {len(payload)} bytes, {how}")
        ctx.extra_resources.append(
            {
                "name": f"{name}-geojson".replace("_", "-"),
                "path": f"{name}.geojson",
                "profile": "data-resource",
                "format": "geojson",
                "mediatype": "application/geo+json",
                "encoding": "utf-8",
                "title": TITLES[level] + ", simplified for web maps",
                "description": (
                    "Topology-preserving coverage simplification (no gaps or overlaps between neighbours), "
                    + (f"tolerance {tol} degrees, " if tol is not None else "as shipped in analysis/embedded, ")
                    + "coordinates rounded to 5 decimals, EPSG:4326 (RFC 7946)."
                ),
                "bytes": len(payload),
                "sources": [{"title": ctx.manifest[sid].title, "id": sid}],
            }
        )
        origin = (
            "Converted by the project from the upstream SQL dump ([lat, lng] swapped to lon/lat, 6 decimals); "
            "not simplified further, the web copy is the .geojson."
            if kinds[level] == "sql" else
            "EMBEDDED DEFAULT: the simplified web geometry shipped with the project (5 decimals); build with "
            "the source for the full-resolution geometry."
        )
        tables.append(
            Table(
                name=name,
                title=TITLES[level],
                description=(
                    "Geometry in EPSG:4326 (GeoParquet), checked: codes unique"
                    + (" and in wilayah_register" if register is not None else "")
                    + ", polygons valid (repaired with make_valid where needed and noted in the build report). "
                    + origin
                ),
                data=data,
                fields=FIELDS[level],
                sources=[sid] + ([s for s in register_sources if s != sid] if register is not None else []),
                rows_in=layer.rows_in,
                rows_used=len(data),
                rejects=layer.rejects,
                geometry=True,
            )
        )
    return sorted(tables, key=lambda t: ["kelurahan", "kecamatan", "kabkota"].index(t.name.split("_", 1)[1]))
