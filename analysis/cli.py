"""Command line: ``python -m analysis <command>``.

- ``fetch``: place the public sources in ``data/raw`` (mirror or network), verified by sha256.
- ``build``: run every ETL and statistics stage into ``data/processed``.
- ``embed-boundaries``: regenerate the embedded default map and code list in ``analysis/embedded`` from the
  upstream SQL dumps and bridging JSON (mirror or network).
- further commands (``survey``, ``estimate``) are registered by their packages.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from tqdm import tqdm

# Packages that add their own sub-commands: each exposes register(subparsers).
COMMAND_MODULES = ["analysis.survey.commands", "analysis.stats.commands"]


def _progress(desc):
    def wrap(items):
        return tqdm(items, desc=desc, unit="step", file=sys.stderr, disable=None)

    return wrap


def cmd_fetch(args) -> int:
    from analysis import sources

    mirror = Path(args.mirror) if args.mirror else "default"
    roles = ("build", "scale", "fixture") if args.all else ("build",)
    results = sources.fetch(raw=args.raw, mirror=mirror, allow_network=False if args.offline else None, roles=roles, progress=_progress("fetch"))
    missing = [r for r in results if r.status in ("missing", "failed")]
    for r in results:
        print(f"{r.status:10s} {r.source_id}" + (f"  {r.detail}" if r.detail else ""))
    if missing:
        print(f"{len(missing)} source(s) missing: the build will use its embedded defaults for them.")
    required_missing = [r for r in missing if sources.load_manifest()[r.source_id].required]
    if required_missing and args.strict:
        return 1
    return 0


def cmd_build(args) -> int:
    from analysis.build import run_build

    if args.fetch:
        rc = cmd_fetch(argparse.Namespace(raw=args.raw, mirror=None, offline=False, all=False, strict=False))
        if rc:
            return rc
    ctx = run_build(raw=args.raw, processed=args.out, progress=_progress("build"))
    for t in sorted(ctx.tables.values(), key=lambda t: t.name):
        r = t.report()
        print(f"{r['table']:40s} in {r['rows_in']:>8} used {r['rows_used']:>8} rejected {r['rows_rejected']:>6} out {r['rows_out']:>8}")
    for n in ctx.notes:
        print(f"[{n['level']}] {n['stage']}: {n['message']}")
    return 0


def cmd_embed(args) -> int:
    from analysis.errors import SourceError
    from analysis.etl.embed import embed

    mirror = Path(args.mirror) if args.mirror else "default"
    try:
        written = embed(out_dir=args.out, mirror=mirror, allow_network=False if args.offline else None)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path.stat().st_size:>8} bytes  {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description="Jakarta digital-divide data pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="place public sources in data/raw from the mirror or the network")
    p.add_argument("--raw", type=Path, default=None, help="raw directory (default data/raw)")
    p.add_argument("--mirror", default=None, help="offline mirror directory (default $DIGIDIV_MIRROR or ../shared/data)")
    p.add_argument("--offline", action="store_true", help="never use the network")
    p.add_argument("--all", action="store_true", help="also fetch scale-test and fixture sources")
    p.add_argument("--strict", action="store_true", help="exit 1 when a required source is missing")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("build", help="build every processed table into data/processed")
    p.add_argument("--raw", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="processed directory (default data/processed)")
    p.add_argument("--fetch", action="store_true", help="run fetch first")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("embed-boundaries", help="regenerate the embedded default boundaries and codes from upstream")
    p.add_argument("--out", type=Path, default=None, help="output directory (default analysis/embedded)")
    p.add_argument("--mirror", default=None, help="offline mirror directory (default $DIGIDIV_MIRROR or ../shared/data)")
    p.add_argument("--offline", action="store_true", help="never use the network")
    p.set_defaults(func=cmd_embed)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0
