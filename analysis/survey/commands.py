"""``python -m analysis survey generate|ingest``: the survey sub-commands.

- ``generate`` writes the seeded SYNTHETIC demo survey (a KoboToolbox-style export plus ``design.csv``,
  ``truth.json``, ``truth_kelurahan.csv``) into ``--out`` (default ``data/processed/demo_survey``).
- ``ingest`` reads a KoboToolbox/ODK export of the project's questionnaire into canonical tables, through
  ``analysis.survey.ingest.ingest_export_to_dir``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis import config


def _covariates():
    """The Dukcapil covariates from data/processed when a build has written them; else None (equal sizes)."""
    path = config.processed_dir() / "kelurahan_covariates.parquet"
    if path.is_file():
        import pandas as pd

        return pd.read_parquet(path)
    return None


def cmd_generate(args) -> int:
    from analysis.survey.generate import GenerateOptions, generate

    out = Path(args.out or config.processed_dir() / "demo_survey")
    if args.households < 100:
        print("--households must be at least 100", file=sys.stderr)
        return 2
    opts = GenerateOptions(out=out, seed=args.seed, households=args.households, kelurahan=args.kelurahan, format=args.format,
                           values=args.values, delimiter=args.delimiter, lang=args.lang)
    truth = generate(opts, covariates=_covariates())
    d = truth["design"]
    print(f"SYNTHETIC demo survey written to {out}")
    print(f"  {d['kelurahan_sampled']} kelurahan, {d['psu_sampled']} RW, {d['households_sampled']} households, "
          f"{truth['persons_sampled']} persons (seed {args.seed}; sizes from {', '.join(d['size_source'])})")
    print("  injected dirt: " + ", ".join(f"{k} {v}" for k, v in truth["dirt"].get("counts", {}).items()))
    return 0


def cmd_ingest(args) -> int:
    try:
        from analysis.survey.ingest import ingest_export_to_dir
    except ImportError as exc:
        print(f"survey ingest is not available yet: analysis.survey.ingest could not be imported ({exc})", file=sys.stderr)
        return 2
    from analysis.errors import InputError

    out = Path(args.out or config.processed_dir() / "survey")
    kwargs = {}
    if args.design:
        kwargs["design_path"] = Path(args.design)
    try:
        exports = [Path(e) for e in args.export]
        result = ingest_export_to_dir(exports[0] if len(exports) == 1 else exports, out, **kwargs)
    except InputError as exc:
        print(f"error [{exc.code}]: {exc}", file=sys.stderr)
        return 1
    if result is not None:
        print(result if isinstance(result, str) else f"ingested into {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("survey", help="the field survey: generate the synthetic demo, ingest an export")
    ssub = p.add_subparsers(dest="survey_command", required=True)

    g = ssub.add_parser("generate", help="generate the seeded SYNTHETIC demo survey as a KoboToolbox export")
    g.add_argument("--out", default=None, help="output directory (default data/processed/demo_survey)")
    g.add_argument("--seed", type=int, default=20250101)
    g.add_argument("--households", type=int, default=4000, help="target number of sampled households")
    g.add_argument("--kelurahan", type=int, default=80, help="kelurahan drawn by PPS (plus Tengah and Gedong)")
    g.add_argument("--format", choices=["xlsx", "csv", "both"], default="both")
    g.add_argument("--values", choices=["labels", "xml"], default="xml",
                   help="Kobo 'XML values and headers' or 'Labels' (headers and values in --lang)")
    g.add_argument("--lang", default="Indonesian (id)", choices=["Indonesian (id)", "English (en)"])
    g.add_argument("--delimiter", choices=[",", ";"], default=";", help="CSV delimiter (KoboToolbox uses ';')")
    g.set_defaults(func=cmd_generate)

    i = ssub.add_parser("ingest", help="ingest a KoboToolbox/ODK export (CSV or XLSX) into canonical tables")
    i.add_argument("export", nargs="+", help="the export: an XLSX; the main CSV (its repeat CSV found beside it); or the main CSV and the roster CSV (and further batches) as separate files")
    i.add_argument("--out", default=None, help="output directory (default data/processed/survey)")
    i.add_argument("--design", default=None, help="design file with weights (design.csv); optional")
    i.set_defaults(func=cmd_ingest)


