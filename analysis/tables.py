"""Processed tables: what a table is, how it is accounted for, and how it is written.

Every ETL or statistics stage returns ``Table`` objects. A table knows its title, description, fields, the
source ids it came from (see ``data/sources.toml``) and whether it is synthetic, so that every place that
shows or offers it for download can say where it came from (the datasette rule).

Row accounting: ``rows_in`` counts *input* rows the stage read, ``rows_used`` the input rows that reached the
output and ``rejects`` holds one row per input row that did not, with a ``reason``.
``rows_in == rows_used + len(rejects)`` is checked before anything is written. ``rows_out`` (the length of
the output) may differ from ``rows_used`` when a stage reshapes (wide to long) or aggregates.

Writing is atomic (a temporary file in the same directory, then ``os.replace``) and deterministic: the same
input gives byte-identical Parquet, CSV and ``datapackage.json``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REJECT_COLUMNS = ["row", "reason"]

_PANDAS_TO_FRICTIONLESS = {
    "b": "boolean",
    "i": "integer",
    "u": "integer",
    "f": "number",
    "M": "datetime",
}


@dataclass(frozen=True)
class Field:
    name: str
    description: str
    type: str | None = None  # Frictionless type; inferred from the dtype when None
    unit: str | None = None


@dataclass
class Table:
    name: str
    title: str
    description: str
    data: pd.DataFrame
    fields: list[Field]
    sources: list[str]
    rows_in: int | None = None
    rows_used: int | None = None
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    synthetic: bool = False
    geometry: bool = False  # data holds a GeoDataFrame; written as GeoParquet (+ GeoJSON by its stage)

    def __post_init__(self):
        if self.rows_in is None:
            self.rows_in = len(self.data) + len(self.rejects)
        if self.rows_used is None:
            self.rows_used = self.rows_in - len(self.rejects)

    @property
    def rows_out(self) -> int:
        return len(self.data)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejects)

    def check(self) -> None:
        """Raise if rows were lost or the declared fields do not match the columns."""
        if self.rows_in != self.rows_used + self.rows_rejected:
            raise AssertionError(
                f"{self.name}: rows in ({self.rows_in}) != rows used ({self.rows_used}) "
                f"+ rows rejected ({self.rows_rejected}); a row was lost"
            )
        missing = [c for c in ("reason",) if c not in self.rejects.columns]
        if missing:
            raise AssertionError(f"{self.name}: rejects table needs a 'reason' column")
        declared = [f.name for f in self.fields]
        columns = [c for c in self.data.columns if c != "geometry"]
        if declared != columns:
            raise AssertionError(
                f"{self.name}: declared fields {declared} do not match the columns {columns}"
            )

    def report(self) -> dict:
        return {
            "table": self.name,
            "rows_in": int(self.rows_in),
            "rows_used": int(self.rows_used),
            "rows_rejected": int(self.rows_rejected),
            "rows_out": int(self.rows_out),
        }


def frictionless_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind in _PANDAS_TO_FRICTIONLESS:
        return _PANDAS_TO_FRICTIONLESS[kind]
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    return "string"


# --- atomic, deterministic writers -------------------------------------------------------------------------


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV as the project writes it: UTF-8, comma, ``\\n`` line ends, no index."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def parquet_bytes(df: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_table(table: Table, out_dir: Path) -> list[Path]:
    """Write ``table`` as Parquet and CSV (and its rejects as CSV) into ``out_dir``; return the paths."""
    table.check()
    out_dir = Path(out_dir)
    written = []
    if table.geometry:
        import geopandas as gpd  # noqa: F401  (GeoDataFrame.to_parquet)

        buf = io.BytesIO()
        table.data.to_parquet(buf, index=False, compression="zstd", write_covering_bbox=False)
        atomic_write_bytes(out_dir / f"{table.name}.parquet", buf.getvalue())
        attrs = pd.DataFrame(table.data.drop(columns="geometry"))
        atomic_write_bytes(out_dir / f"{table.name}.csv", csv_bytes(attrs))
    else:
        atomic_write_bytes(out_dir / f"{table.name}.parquet", parquet_bytes(table.data))
        atomic_write_bytes(out_dir / f"{table.name}.csv", csv_bytes(table.data))
    written += [out_dir / f"{table.name}.parquet", out_dir / f"{table.name}.csv"]
    rejects_path = out_dir / "rejects" / f"{table.name}.rejects.csv"
    if table.rows_rejected:
        atomic_write_bytes(rejects_path, csv_bytes(table.rejects))
        written.append(rejects_path)
    elif rejects_path.exists():
        rejects_path.unlink()
    return written


def datapackage(tables: list[Table], manifest_sources: dict[str, dict], extra_resources=()) -> dict:
    """A Frictionless Data Package descriptor for ``tables`` (deterministic: sorted, no timestamps)."""
    used_ids = sorted({s for t in tables for s in t.sources})
    sources = []
    licences = []
    for sid in used_ids:
        src = manifest_sources.get(sid, {})
        sources.append(
            {
                "id": sid,
                "title": src.get("title", sid),
                "path": src.get("upstream_url", ""),
                "publisher": src.get("publisher", ""),
                "licence": src.get("licence", ""),
                "citation": src.get("citation", ""),
            }
        )
        if src.get("licence") and src["licence"] not in licences:
            licences.append(src["licence"])
    resources = []
    # GeoParquet keeps the geometry as a WKB column (the CSV drops it): declared so the schema matches the file.
    geometry_field = [{"name": "geometry", "type": "any",
                       "description": "Polygon geometry, WKB encoded (GeoParquet 1.x metadata), EPSG:4326"}]
    for t in sorted(tables, key=lambda t: t.name):
        data = t.data.drop(columns="geometry") if t.geometry else t.data
        fields = []
        for f in t.fields:
            entry = {
                "name": f.name,
                "type": f.type or frictionless_type(data[f.name]),
                "description": f.description,
            }
            if f.unit:
                entry["unit"] = f.unit
            fields.append(entry)
        for fmt in ("csv", "parquet"):
            resources.append(
                {
                    "name": f"{t.name}-{fmt}".replace("_", "-"),
                    "path": f"{t.name}.{fmt}",
                    "profile": "tabular-data-resource",
                    "format": fmt,
                    "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
                    "title": t.title,
                    "description": t.description + (" SYNTHETIC DATA." if t.synthetic else ""),
                    "synthetic": t.synthetic,
                    "sources": [{"title": manifest_sources.get(s, {}).get("title", s), "id": s} for s in t.sources],
                    "schema": {"fields": fields + (geometry_field if fmt == "parquet" and t.geometry else [])},
                    "rows": t.rows_out,
                }
            )
    for extra in extra_resources:
        # GeoJSON, XLSX and JSON files are data resources, not tabular ones: say so unless the stage did.
        tabular = extra.get("format") == "csv" and "schema" in extra
        resources.append({"profile": "tabular-data-resource" if tabular else "data-resource", **extra})
    return {
        # data-package, not tabular-data-package: the package lists GeoJSON, XLSX and JSON resources too, and
        # the tabular profile forbids any resource that is not tabular (frictionless validate rejects it).
        "profile": "data-package",
        "name": "jakarta-digital-divide",
        "title": "Jakarta digital divide: cleaned tables per kelurahan",
        "description": (
            "Cleaned public statistics (BPS, Dukcapil, boundaries) and survey estimates on who is left out of "
            "DKI Jakarta's digital public services. Tables marked synthetic come from the project's generated "
            "demo survey, not from real respondents."
        ),
        "licenses": [OUTPUT_LICENCE],
        "source_licences": licences,
        "sources": sources,
        "resources": resources,
    }


OUTPUT_LICENCE = {
    # The one licence statement (README, Data page, datapackage.json say the same): the tables this project makes,
    # the synthetic demo survey included, are CC BY 4.0; each source keeps its own licence, listed per table; the
    # project's code is MIT (LICENSE).
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Tables made by this project (synthetic demo survey included): CC BY 4.0. Each source keeps its own "
    "licence, listed with each table. The project's code: MIT.",
}


def write_datapackage(path: Path, descriptor: dict) -> None:
    atomic_write_text(path, json.dumps(descriptor, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
