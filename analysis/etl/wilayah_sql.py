"""cahyadsn/wilayah_boundaries SQL dumps -> polygon layers: the project's own conversion of the upstream bytes.

Upstream publishes each level as a MySQL dump::

    INSERT INTO wilayah_boundaries(kode,nama,lat,lng,path) VALUES
        ('31.71.01','Gambir',-6.1714,106.8181,'[[[-6.1601,106.8016],[-6.1623,106.8283],...]]'),
        ...;

``path`` holds the rings as ``[lat, lng]`` pairs: 3 levels of nesting are a Polygon (rings), 4 a MultiPolygon
(polygons of rings). ``parse_dump`` swaps every pair to GeoJSON's ``[lng, lat]`` and rounds to 6 decimals
(~0.1 m, the resolution of RFC 7946 practice and of the collectors' reference conversion); it does **not**
repair: invalid polygons are repaired, and every repair recorded, by ``boundaries.check_layer`` (shapely
``make_valid``). A row inside an INSERT that cannot be parsed is a reject with its line number and a reason;
it never stops the file. Lines outside INSERT statements (the licence header, ``DELETE``) are not rows.

Row reasons: ``unparseable_row`` (not ``('kode','nama',lat,lng,'path')``), ``bad_path`` (``path`` is not JSON
nested 3 or 4 deep of number pairs), ``bad_ring`` (a ring with fewer than 4 points).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, Polygon

from analysis.errors import InputError

DECIMALS = 6
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+`?wilayah_boundaries`?\s*\(([^)]*)\)\s*VALUES\s*(.*)$", re.I)
_ROW = re.compile(
    r"""^\s*\(\s*'(?P<kode>[^'\\]*)'\s*,\s*'(?P<nama>(?:[^'\\]|''|\\.)*)'\s*,\s*(?P<lat>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*,"""
    r"""\s*(?P<lng>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*,\s*'(?P<path>[^']*)'\s*\)\s*(?P<end>[,;])\s*$"""
)
COLUMNS = ("kode", "nama", "lat", "lng", "path")


@dataclass
class Dump:
    """Rows of one or more dumps: ``data`` (GeoDataFrame: kode, nama, centroid_lat, centroid_lng, geometry,
    EPSG:4326, file order) and ``rejects`` (file, line, reason, kode, detail)."""

    data: gpd.GeoDataFrame
    rejects: pd.DataFrame
    files: list[str] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return len(self.data) + len(self.rejects)


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth += 1
        value = value[0]
    return depth


def _ring(pairs) -> list[tuple[float, float]]:
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in pairs
    ):
        raise ValueError("bad_path", "a ring is not a list of [lat, lng] number pairs")
    if len(pairs) < 4:
        raise ValueError("bad_ring", f"a ring has {len(pairs)} point(s); a closed ring needs at least 4")
    return [(round(float(lng), DECIMALS), round(float(lat), DECIMALS)) for lat, lng in pairs]


def path_to_geometry(text: str):
    """The ``path`` column (``[lat, lng]`` rings) as a shapely Polygon/MultiPolygon in lon/lat.

    Raises ``ValueError(reason, detail)`` with reason ``bad_path`` or ``bad_ring``.
    """
    try:
        nested = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError("bad_path", f"path is not valid JSON ({exc.msg} at character {exc.pos})") from None
    depth = _depth(nested)
    if depth == 3:
        rings = [_ring(r) for r in nested]
        return Polygon(rings[0], rings[1:])
    if depth == 4:
        polys = []
        for poly in nested:
            if not isinstance(poly, list) or not poly:
                raise ValueError("bad_path", "a polygon of the MultiPolygon has no rings")
            rings = [_ring(r) for r in poly]
            polys.append(Polygon(rings[0], rings[1:]))
        return MultiPolygon(polys)
    raise ValueError("bad_path", f"path is nested {depth} deep; expected 3 (Polygon) or 4 (MultiPolygon)")


def parse_dump(paths, source: str | None = None) -> Dump:
    """Parse the INSERT rows of one or more dump files (in the order given) into one layer.

    A whole file that is missing, empty or has no INSERT of ``wilayah_boundaries(kode,nama,lat,lng,path)``
    raises ``InputError`` (``file_missing``, ``empty_file``, ``no_insert``, ``wrong_columns``).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records, rejects, names = [], [], []
    for path in map(Path, paths):
        name = path.name
        names.append(name)
        where = source or name
        if not path.is_file():
            raise InputError("file_missing", f"the boundary dump {name} does not exist", where)
        text = path.read_bytes().decode("utf-8", errors="replace")
        if not text.strip():
            raise InputError("empty_file", f"the boundary dump {name} is empty", where)
        inside, seen_insert = False, False
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not inside:
                m = _INSERT.match(line)
                if not m:
                    continue
                cols = tuple(c.strip(" `") for c in m.group(1).split(","))
                if cols != COLUMNS:
                    raise InputError(
                        "wrong_columns", f"{name} line {lineno}: INSERT columns {cols}, expected {COLUMNS}", where
                    )
                inside, seen_insert = True, True
                line = m.group(2)
                if not line.strip():
                    continue
            if not line.strip():
                continue
            m = _ROW.match(line)
            if not m:
                # A row that cannot be read; a ';' at its end still closes the statement.
                rejects.append({"file": name, "line": lineno, "reason": "unparseable_row", "kode": None,
                                "detail": "not ('kode','nama',lat,lng,'path') followed by ',' or ';'"})
                inside = not line.rstrip().endswith(";")
                continue
            inside = m.group("end") == ","
            kode = m.group("kode").strip()
            try:
                geom = path_to_geometry(m.group("path"))
            except ValueError as exc:
                reason, detail = exc.args
                rejects.append({"file": name, "line": lineno, "reason": reason, "kode": kode, "detail": detail})
                continue
            records.append({
                "kode": kode,
                "nama": m.group("nama").replace("''", "'").replace("\\'", "'").strip(),
                "centroid_lat": float(m.group("lat")),
                "centroid_lng": float(m.group("lng")),
                "geometry": geom,
                "_file": name,
                "_line": lineno,
            })
        if not seen_insert:
            raise InputError("no_insert", f"{name} has no INSERT INTO wilayah_boundaries(...) statement", where)
    frame = pd.DataFrame.from_records(
        records, columns=["kode", "nama", "centroid_lat", "centroid_lng", "geometry", "_file", "_line"]
    )
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    rej = pd.DataFrame(rejects, columns=["file", "line", "reason", "kode", "detail"])
    return Dump(gdf, rej, names)

