"""``python -m analysis build``: run every stage and write ``data/processed``.

A stage is a module with ``build(ctx: BuildContext) -> list[Table]``. Stages run in order and may read the
tables earlier stages produced (``ctx.tables``). A stage whose inputs are missing falls back to the embedded
default where one exists and says so in ``ctx.notes``; the dashboard shows those notes.

Outputs, all written atomically and deterministically:
- ``<table>.parquet`` and ``<table>.csv`` for every table, ``rejects/<table>.rejects.csv`` with a reason per
  rejected row;
- ``datapackage.json`` (Frictionless), ``codebook.csv`` (one row per column of every table);
- ``build_report.json``: rows in / used / rejected / out per table, missing sources, notes.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import config, sources
from analysis.tables import (
    Table,
    atomic_write_bytes,
    atomic_write_text,
    csv_bytes,
    datapackage,
    write_datapackage,
    write_table,
)

# Order matters: later stages read earlier stages' tables from ctx.tables.
STAGES = [
    "analysis.etl.registers",
    "analysis.etl.boundaries",
    "analysis.etl.covariates",
    "analysis.etl.population",
    "analysis.etl.bps",
    "analysis.etl.published",
    "analysis.etl.podes",
    "analysis.stats.indirect",
    "analysis.survey.stage",
    "analysis.stats.estimates",
    "analysis.stats.models",
    "analysis.stats.gaps",
    "analysis.stats.inequality",
    "analysis.stats.sae",
]


@dataclass
class BuildContext:
    raw: Path
    processed: Path
    manifest: dict[str, sources.Source]
    tables: dict[str, Table] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)
    extra_resources: list[dict] = field(default_factory=list)
    repairs: list[dict] = field(default_factory=list)  # every geometry repaired (etl.boundaries._repair_record)
    shared: dict = field(default_factory=dict)  # intermediate results later stages share, never published (e.g. raked person weights)

    def available(self, source_id: str) -> bool:
        return sources.available(source_id, self.manifest, self.raw)

    def path(self, source_id: str, index: int = 0) -> Path:
        return sources.raw_path(source_id, self.manifest, self.raw, index)

    def note(self, stage: str, message: str, level: str = "info") -> None:
        self.notes.append({"stage": stage, "level": level, "message": message})

    def missing_sources(self) -> list[str]:
        return sorted(sid for sid, s in self.manifest.items() if s.role == "build" and not self.available(sid))

    def missing_details(self) -> list[dict]:
        """Per missing source: what it would add and how to get it (shown by the dashboard's notice)."""
        out = []
        for sid in self.missing_sources():
            src = self.manifest[sid]
            out.append({"id": sid, "title": src.title, "adds": src.adds, "required": src.required,
                        "fetchable": all(src.url_of(f) for f in src.files), "commands": FETCH_COMMANDS})
        return out


# How to place the sources and rebuild: with the network, or from a copy of the offline mirror.
FETCH_COMMANDS = [
    "python -m analysis build --fetch",
    "DIGIDIV_MIRROR=/path/to/shared/data python -m analysis build --fetch",
]


def codebook(tables: list[Table]) -> pd.DataFrame:
    rows = []
    for t in sorted(tables, key=lambda t: t.name):
        for f in t.fields:
            rows.append(
                {
                    "table": t.name,
                    "column": f.name,
                    "description": f.description,
                    "unit": f.unit or "",
                    "table_title": t.title,
                    "sources": ";".join(t.sources),
                    "synthetic": t.synthetic,
                }
            )
    return pd.DataFrame(rows)


def run_build(raw: Path | None = None, processed: Path | None = None, stages=None, progress=None) -> BuildContext:
    raw = Path(raw or config.raw_dir())
    processed = Path(processed or config.processed_dir())
    processed.mkdir(parents=True, exist_ok=True)
    ctx = BuildContext(raw=raw, processed=processed, manifest=sources.load_manifest())
    for sid in ctx.missing_sources():
        src = ctx.manifest[sid]
        level = "warning" if src.required else "info"
        ctx.note("sources", f"source missing: {sid} ({src.title})", level)
    stage_names = stages or STAGES
    iterator = progress(stage_names) if progress else stage_names
    for name in iterator:
        if hasattr(iterator, "set_description"):
            iterator.set_description(name.rsplit(".", 1)[-1])
        module = importlib.import_module(name)
        for table in module.build(ctx):
            table.check()
            ctx.tables[table.name] = table
    tables = list(ctx.tables.values())
    for t in tables:
        write_table(t, processed)
    manifest_dicts = sources.manifest_dicts(ctx.manifest)
    write_datapackage(processed / "datapackage.json", datapackage(tables, manifest_dicts, ctx.extra_resources))
    atomic_write_bytes(processed / "codebook.csv", csv_bytes(codebook(tables)))
    report = {
        "tables": [t.report() | {"synthetic": t.synthetic, "sources": t.sources} for t in sorted(tables, key=lambda t: t.name)],
        "missing_sources": ctx.missing_sources(),
        "missing": ctx.missing_details(),
        "repairs": ctx.repairs,
        "notes": ctx.notes,
    }
    atomic_write_text(processed / "build_report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return ctx
