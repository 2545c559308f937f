"""Build stage ``analysis.survey.stage``: the seeded SYNTHETIC demo survey, generated and then ingested like
any upload.

1. ``analysis.survey.generate`` draws the demo sample (stratified two-stage: kota strata, RW PSUs within
   sampled kelurahan, then households; Tengah and Gedong oversampled) from synthetic populations whose
   kelurahan mix follows the Dukcapil covariates (``ctx.tables['kelurahan_covariates']`` when the build has
   them), and writes it as a KoboToolbox export with realistic dirt (duplicates, test submissions,
   misspelled kelurahan, out-of-range ages, and fake NIK / KK / phone numbers typed into the notes) into a
   temporary directory.
2. ``analysis.survey.ingest.ingest_export`` reads that export with its design file, exactly as the upload
   page reads an NGO's file: the build's ``survey_households`` and ``survey_persons`` are its output, with
   their rejects (every dropped row with a reason) and the count of personal data removed in the notes.
3. The export is published in ``data/processed/demo_survey/`` for users to try the upload path with, after
   its free-text answers went through ``analysis.privacy`` (the fake identifiers become "[dihapus]"): nothing
   in ``data/processed`` carries a NIK, KK or phone pattern, not even a synthetic one. Everything else in it
   (duplicates, tests, misspellings, ages, missing answers) is kept as generated.
4. ``survey_truth``: the generating model's coefficients, the weighted city truth and the true kelurahan rates
   on the full synthetic populations, so tests can check that estimates recover them.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import pandas as pd

from analysis.privacy import Scrubber
from analysis.tables import Field, Table, atomic_write_bytes

STAGE = "survey"
DEMO_SEED = 20250101
DEMO_HOUSEHOLDS = 4000
DEMO_DIR = "demo_survey"
# The demo is synthetic: its opaque household and PSU keys use a fixed salt so that the build stays
# reproducible (identical outputs for the same inputs). Real exports get a random salt per run.
DEMO_SALT = b"demo-synthetic-2025"
SOURCES = ["synthetic_demo_survey"]

TRUTH_FIELDS = [
    Field("synthetic", "Always true: the truth of the SYNTHETIC demo survey.", "boolean"),
    Field("kind", "kelurahan_rate (true rate on the kelurahan's full synthetic population), city_rate (weighted synthetic city), or coefficient (the generating model)."),
    Field("kode_kemendagri", "Kelurahan (Kemendagri code) for kelurahan_rate rows; NA otherwise."),
    Field("kelurahan", "Kelurahan name for kelurahan_rate rows."),
    Field("indicator", "Indicator name (as in survey_households / survey_persons) or the model parameter path (e.g. internet.quintile.2)."),
    Field("unit", "household or person (kelurahan_rate rows)."),
    Field("universe", "Who the rate is over, and how not-asked / don't-know answers count."),
    Field("numerator", "Units with the characteristic in the full synthetic population (kelurahan_rate rows).", "number"),
    Field("denominator", "Units in the universe in the full synthetic population (kelurahan_rate rows).", "number"),
    Field("value", "The rate (0-1) or the coefficient (logit scale unless the parameter says otherwise).", "number"),
]


def _flatten(prefix: str, obj) -> list[tuple[str, float]]:
    if isinstance(obj, dict):
        out = []
        for k, v in obj.items():
            out += _flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return [(prefix, float(obj))]
    return []


def truth_table(out_dir: Path) -> pd.DataFrame:
    """``survey_truth`` from the generator's ``truth.json`` and ``truth_kelurahan.csv``."""
    truth = json.loads((out_dir / "truth.json").read_text(encoding="utf-8"))
    kel = pd.read_csv(out_dir / "truth_kelurahan.csv", dtype={"kode_kemendagri": str})
    rows = pd.DataFrame(
        {
            "kind": "kelurahan_rate",
            "kode_kemendagri": kel["kode_kemendagri"],
            "kelurahan": kel["kelurahan"],
            "indicator": kel["indicator"],
            "unit": kel["unit"],
            "universe": kel["universe"],
            "numerator": kel["numerator"].astype(float),
            "denominator": kel["denominator"].astype(float),
            "value": kel["rate"].astype(float),
        }
    )
    city = pd.DataFrame(
        [{"kind": "city_rate", "indicator": k, "value": float(v)} for k, v in truth.get("city_truth_weighted", {}).items()]
    )
    coef = pd.DataFrame([{"kind": "coefficient", "indicator": k, "value": v} for k, v in _flatten("", truth.get("model", {}))])
    out = pd.concat([rows, city, coef], ignore_index=True)
    out.insert(0, "synthetic", True)
    for c in ("kode_kemendagri", "kelurahan", "unit", "universe"):
        out[c] = out[c].astype("str").where(out[c].notna())
    return out[[f.name for f in TRUTH_FIELDS]]


def publish_scrubbed_export(src: Path, dest: Path, delimiter: str = ";") -> dict[str, int]:
    """Copy the generated export to ``dest`` with every free-text answer scrubbed; return the counts removed.

    Both formats are rewritten from the CSV pair with the generator's own Kobo writers, so the published CSV
    and XLSX hold the same (scrubbed) answers; the other files are copied as they are.
    """
    from analysis.survey import kobo_export
    from analysis.survey.questionnaire import REPEAT_NAME, load_form

    form = load_form()
    text_paths = {f.path for f in form.fields if f.type == "text"}
    main_csv = src / f"{kobo_export.FILE_STEM}.csv"
    rep_csv = src / f"{kobo_export.FILE_STEM}-{REPEAT_NAME}.csv"
    read = lambda p: pd.read_csv(p, sep=delimiter, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)  # noqa: E731
    main, rep = read(main_csv), read(rep_csv)
    scrubber = Scrubber()
    for df in (main, rep):
        for c in df.columns:
            if c in text_paths:
                df[c] = scrubber.scrub_series(df[c].where(df[c] != "")).fillna("").astype(object)
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest / main_csv.name, kobo_export.kobo_csv_bytes(main, delimiter))
    atomic_write_bytes(dest / rep_csv.name, kobo_export.kobo_csv_bytes(rep, delimiter))
    atomic_write_bytes(dest / f"{kobo_export.FILE_STEM}.xlsx", kobo_export.kobo_xlsx_bytes([(kobo_export.MAIN_SHEET, main), (REPEAT_NAME, rep)]))
    for name in ("design.csv", "truth.json", "truth_kelurahan.csv", "README.txt"):
        if (src / name).is_file():
            atomic_write_bytes(dest / name, (src / name).read_bytes())
    return scrubber.report()


def _resources(dest: Path) -> list[dict]:
    described = {
        "akses_digital_jakarta_SYNTHETIC.xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Demo survey export (KoboToolbox XLSX: main sheet + roster sheet 'anggota')"),
        "akses_digital_jakarta_SYNTHETIC.csv": ("csv", "text/csv", "Demo survey export, main table (KoboToolbox CSV, ';')"),
        "akses_digital_jakarta_SYNTHETIC-anggota.csv": ("csv", "text/csv", "Demo survey export, roster (repeat 'anggota', ';')"),
        "design.csv": ("csv", "text/csv", "Demo survey design: one row per sampled RW (PSU) with stratum, probabilities and design weight"),
        "truth.json": ("json", "application/json", "Demo survey truth: model coefficients, calibration targets, injected dirt counts"),
        "truth_kelurahan.csv": ("csv", "text/csv", "Demo survey truth: kelurahan rates on the full synthetic populations"),
    }
    out = []
    for name, (fmt, media, title) in described.items():
        if (dest / name).is_file():
            out.append(
                {
                    "name": ("demo-survey-" + name.lower().replace("_", "-").replace(".", "-")),
                    "path": f"{DEMO_DIR}/{name}",
                    "format": fmt,
                    "mediatype": media,
                    "title": title + " - SYNTHETIC",
                    "description": "SYNTHETIC DATA generated by the project; free-text answers scrubbed of personal-data patterns. Try the upload page with it.",
                    "synthetic": True,
                    "sources": [{"title": "SYNTHETIC demo survey generated by the project (not real respondents)", "id": "synthetic_demo_survey"}],
                }
            )
    return out


def build(ctx) -> list[Table]:
    with tempfile.TemporaryDirectory(prefix="demo_survey_") as tmp:
        tables, _ = run(ctx, Path(tmp))
    return tables


def run(ctx, workdir: Path):
    """Generate the dirty export into ``workdir``, ingest it, publish the scrubbed copy; return (tables, details).

    ``details``: ``result`` (the ``IngestResult``), ``truth`` (the generator's summary, with the dirt counts),
    ``export_dir`` (= ``workdir``, holding the dirty export; the caller decides how long it lives),
    ``published`` (personal-data counts removed from the published copy).
    """
    from analysis.survey import kobo_export
    from analysis.survey.export_files import export_files
    from analysis.survey.generate import SURVEY_ID, GenerateOptions, generate
    from analysis.survey.ingest import ingest_export

    if "wilayah_register" in ctx.tables:
        register = ctx.tables["wilayah_register"].data
    else:
        from analysis.etl.registers import load_register

        register = load_register(ctx.processed, ctx.raw)
    cov_table = ctx.tables.get("kelurahan_covariates")
    covariates = cov_table.data if cov_table is not None else None
    sources = list(SOURCES) + [s for s in (cov_table.sources if cov_table is not None else []) if s not in SOURCES]
    dest = Path(ctx.processed) / DEMO_DIR
    workdir = Path(workdir)
    opts = GenerateOptions(out=workdir, seed=DEMO_SEED, households=DEMO_HOUSEHOLDS, format="csv", values="xml", delimiter=";")
    truth = generate(opts, covariates=covariates, register=register)
    result = ingest_export(
        export_files(workdir / f"{kobo_export.FILE_STEM}.csv"),
        register=register,
        design=workdir / "design.csv",
        source_name=SURVEY_ID,
        survey_id=SURVEY_ID,
        synthetic=True,
        salt=DEMO_SALT,
    )
    published = publish_scrubbed_export(workdir, dest, delimiter=opts.delimiter)
    truth_df = truth_table(workdir)
    ctx.extra_resources.extend(_resources(dest))
    sizes = "Dukcapil 2019 household counts" if covariates is not None else "equal kelurahan sizes (no covariates)"
    ctx.note(STAGE, f"SYNTHETIC demo survey (seed {DEMO_SEED}, {truth['design']['households_sampled']} households; frame sizes from {sizes}) generated and ingested like an upload.")
    for line in result.notes:
        ctx.note(STAGE, line)
    ctx.note(STAGE, f"demo export published in {DEMO_DIR}/ with free text scrubbed ({sum(v for k, v in published.items() if k != 'cells_changed')} personal-data patterns removed).")
    tables = result.tables(sources=sources)
    tables.append(
        Table(
            name="survey_truth",
            title="Demo survey truth (SYNTHETIC): true kelurahan rates and model coefficients",
            description="The known truth behind the synthetic demo survey, for checking that estimates recover it.",
            data=truth_df,
            fields=TRUTH_FIELDS,
            sources=list(SOURCES),
            synthetic=True,
        )
    )
    return tables, {"result": result, "truth": truth, "export_dir": workdir, "published": published}
