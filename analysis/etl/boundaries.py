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

from analysis.errors import InputError
from analysis.etl.geometry import WGS84, repair_polygon, simplify_for_web, to_geojson_bytes
from analysis.tables import Field, Table, atomic_write_bytes

STAGE = "boundaries"
CANONICAL = ("kode_kemendagri", "name", "kode_kec_kemendagri", "kecamatan", "kode_kab_kemendagri", "kab_kota")
REQUIRED = ("kode_kemendagri", "name")
# Lon/lat bounding box of DKI Jakarta including Kepulauan Seribu, with a margin.
DKI_BOUNDS = (106.2, -6.5, 107.1, -5.1)
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
    gdf = _open(path, spec, source)
    _check_columns(gdf, spec, source)
    notes: list[str] = []
    gdf = _check_crs(gdf, spec, source, notes)
    rows_in = len(gdf)

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
    seen: dict[str, int] = {}
    for i, (code, raw, geom) in enumerate(zip(codes, raw_codes, gdf.geometry.values)):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
            _reject(rejects, i, None, "missing_code", "no code in the code column")
            keep[i] = False
            continue
        if code is None:
            _reject(rejects, i, str(raw)[:20], "bad_code", "not a Kemendagri code (2, 4, 6 or 10 digits, dotted or not)")
            keep[i] = False
            continue
        if code in seen:
            _reject(rejects, i, code, "duplicate_code", f"same code as row {seen[code]}; the first one is kept")
            keep[i] = False
            continue
        seen[code] = i
        if register_codes is not None and code not in register_codes:
            _reject(rejects, i, code, "unknown_code", "code not in the register of this level")
            keep[i] = False
            continue
        fixed, status = repair_polygon(geom)
        if fixed is None:
            _reject(rejects, i, code, status, {
                "empty_geometry": "no geometry or an empty one",
                "not_polygon": f"geometry is a {geom.geom_type if geom is not None else 'null'}, not a polygon",
                "invalid_geometry": f"invalid ({shapely.is_valid_reason(geom)}) and make_valid leaves no polygon",
            }[status])
            keep[i] = False
            continue
        if status == "repaired":
            repaired.append(code)
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
    return Layer(spec.level, out, rows_in, reject_frame, notes, sorted(repaired))


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


def build(ctx) -> list[Table]:
    missing = [sid for sid in SOURCE_IDS.values() if not ctx.available(sid)]
    if missing:
        ctx.note(STAGE, f"boundary sources missing ({', '.join(missing)}): the map is unavailable", "warning")
        return []
    registers = _registers(ctx)
    if registers is None:
        ctx.note(STAGE, "wilayah_register not built: boundary codes not checked against a register")
    register_sources = list(ctx.tables["wilayah_register"].sources) if registers is not None else []
    tables = []
    for level, spec in DKI_SPECS.items():
        sid = SOURCE_IDS[level]
        register = registers[level] if registers is not None else None
        codes = frozenset(register["kode_kemendagri"].dropna()) if register is not None else None
        layer = read_layer(ctx.path(sid), spec, register_codes=codes, source=sid)
        for note in layer.notes:
            ctx.note(STAGE, note)
        data = _shape(level, layer, register)
        name = f"boundaries_{level}"
        payload, tol = web_layer(data[WEB_COLUMNS[level] + ["geometry"]])
        atomic_write_bytes(ctx.processed / f"{name}.geojson", payload)
        ctx.note(STAGE, f"{name}.geojson: {len(data)} features, {len(payload)} bytes, coverage-simplified at "
                        f"{tol} deg, 5 decimals")
        ctx.extra_resources.append(
            {
                "name": f"{name}-geojson".replace("_", "-"),
                "path": f"{name}.geojson",
                "format": "geojson",
                "mediatype": "application/geo+json",
                "title": TITLES[level] + ", simplified for web maps",
                "description": (
                    "Topology-preserving coverage simplification (no gaps or overlaps between neighbours), "
                    f"tolerance {tol} degrees, coordinates rounded to 5 decimals, EPSG:4326 (RFC 7946)."
                ),
                "bytes": len(payload),
                "sources": [{"title": ctx.manifest[sid].title, "id": sid}],
            }
        )
        tables.append(
            Table(
                name=name,
                title=TITLES[level],
                description=(
                    "Source geometry in EPSG:4326 (GeoParquet), checked: codes unique"
                    + (" and in wilayah_register" if register is not None else "")
                    + ", polygons valid (repaired with make_valid where needed and noted in the build report). "
                    "Not simplified further; the web copy is the .geojson."
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
    return tables
