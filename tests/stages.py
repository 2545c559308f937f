"""Run a few build stages in order on the mirror's raw files, as ``analysis.build.run_build`` does (for tests
that need some stages' tables without the whole 90-second build)."""

from __future__ import annotations

from analysis.build import BuildContext


def run_stages(raw_dir, manifest, processed, *modules) -> BuildContext:
    """The context after each module's ``build`` ran, every table checked (rows in = used + rejected)."""
    ctx = BuildContext(raw=raw_dir, processed=processed, manifest=manifest)
    for mod in modules:
        for table in mod.build(ctx):
            table.check()
            ctx.tables[table.name] = table
    return ctx
