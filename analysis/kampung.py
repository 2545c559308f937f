"""Bring your own survey: an NGO's kampung export against its kota and the city (issue 6).

An NGO runs the project's questionnaire in its own kampung (KoboToolbox / ODK Collect) and uploads the export.
``handle_upload`` runs the same ingestion as the build (``analysis.survey.ingest.ingest_export``: validation,
de-duplication, personal-data removal, kelurahan matching) **in memory**, then:

1. **Kampung estimates** (``kampung_estimates``): every registered indicator for each kelurahan of the upload,
   design-based (``analysis.stats.estimates.compute``), with SE, 95% CI, CV, n and the BPS reliability rule
   (suppressed when n < 30 or RSE > 50%, flagged at RSE 25-50%). Without a design file the export is a
   simple random sample of the kampung (ingestion sets kelurahan = stratum, household = PSU, equal weights),
   and the page says so.

2. **Contrast with the kota and the city** (``contrast_independent``). The kampung sample is drawn
   *independently* of the city survey: different households, a different design, different fieldwork. The
   two estimates are therefore independent and the variance of their difference is the sum of their
   variances (Lohr 2022, *Sampling: Design and Analysis*, 3rd ed., sec. 4.x on comparing estimates from
   independent samples; Wolter 2007, *Introduction to Variance Estimation*, ch. 1)::

       diff = p_k - p_R,   Var(diff) = Var(p_k) + Var(p_R)

   with degrees of freedom from the Welch-Satterthwaite approximation on the two design df (Korn & Graubard
   1999, *Analysis of Health Surveys*, sec. 5.x)::

       df = (v_k + v_R)^2 / (v_k^2 / df_k + v_R^2 / df_R)

   This differs from ``analysis.stats.gaps``, where a kelurahan is a domain *of* the city sample and the
   covariance between the two estimates must be linearised on the one sample. A contrast is published only
   when both sides are (the worse reliability of the two; suppressed contrasts lose their numbers).

3. **Gap decomposition** (``CityDecomposition`` / ``decompose_kampung``): the kampung's gap from the city in
   the person-level access indicators, split into the part explained by its income, education and age
   composition and the unexplained rest, with the same method as the build's ``gap_decomposition`` table
   (Fairlie 2005 with Yun 2004 detailed weights, ``analysis.stats.inequality``): the survey-weighted logit the
   build fitted on the *city* survey only (table ``decomposition_model``) gives ``beta``; the kampung's persons
   are evaluated with it::

       total = ybar_k - ybar_c,  explained = mean_k F(x beta) - mean_c F(x beta),  unexplained = total - explained

   The kampung's own data never enter the city model (it is an independent sample, not part of the fit).

4. **Downloads**: the PII-free cleaned tables as spreadsheet-safe CSV (formula cells escaped,
   ``analysis.csv_safety.escape_formula``) and a printable, self-contained HTML report (no script, no
   external request; print it to PDF from the browser).

Nothing here writes to disk or logs a value: failures are logged by error code only. All page text is passed
in through a ``tr(key, **fields)`` callable (``ui.state.tr``), so this module stays free of Streamlit.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import formatting as fmt
from analysis.csv_safety import escape_formula
from analysis.errors import InputError
from analysis.privacy import scrub_text
from analysis.stats import estimates as est_mod
from analysis.stats import indicators as ind
from analysis.stats import inequality, reliability
from analysis.stats.inequality import DECOMPOSITION_TERMS, GROUP_OF_TERM, MIN_N
from analysis.survey.ingest import ERROR_CODES, IngestResult, ingest_export

log = logging.getLogger("digidiv.upload")

Translate = Callable[..., str]
CITY_CODE = "31"
LEVEL = 0.95
# Error codes of the page itself (besides ``analysis.survey.ingest.ERROR_CODES``).
PAGE_ERROR_CODES = ("no_city_data", "internal_error")
COMPARISON_COLUMNS = [
    "indicator_id", "kode_kemendagri", "vs", "reference_code",
    "kampung_estimate", "kampung_se", "kampung_ci_low", "kampung_ci_high", "kampung_n", "kampung_reliability",
    "reference_estimate", "reference_se", "reference_ci_low", "reference_ci_high", "reference_reliability",
    "diff", "se", "df", "ci_low", "ci_high", "p_value", "reliability",
]
DECOMPOSITION_COLUMNS = [
    "indicator_id", "kode_kemendagri", "n", "total_gap", "explained", "explained_income", "explained_education",
    "explained_age", "unexplained", "city_mean", "city_predicted",
]


# --- the city side ---------------------------------------------------------------------------------------------


@dataclass
class CityArtefacts:
    """What the comparison needs from ``data/processed``: the published ``estimates`` (city and kota rows),
    the kelurahan register, and optionally the fitted city decomposition models."""

    estimates: pd.DataFrame | None
    register: pd.DataFrame
    decomposition: "CityDecomposition | None" = None
    synthetic: bool = False

    @classmethod
    def from_tables(cls, estimates: pd.DataFrame | None, register: pd.DataFrame, decomposition_model: pd.DataFrame | None = None) -> "CityArtefacts":
        synthetic = bool(estimates is not None and "synthetic" in estimates and estimates["synthetic"].fillna(False).astype(bool).any())
        dec = CityDecomposition.from_table(decomposition_model) if decomposition_model is not None and len(decomposition_model) else None
        return cls(estimates=estimates, register=register, decomposition=dec, synthetic=synthetic)


@dataclass
class CityDecomposition:
    """One survey-weighted logit per person-level access indicator, fitted on the city survey only
    (``DECOMPOSITION_TERMS``: income quintile, education, age group; no kota), as the build wrote them in
    ``decomposition_model``: the upload is decomposed against the build's models, never a refit."""

    models: dict[str, inequality.CityModel]

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> "CityDecomposition":
        return cls({str(iid): inequality.CityModel.from_rows(rows) for iid, rows in table.groupby("indicator_id", sort=False)})


def decompose_kampung(persons: pd.DataFrame, city: CityDecomposition, min_n: int = MIN_N) -> pd.DataFrame:
    """Fairlie/Yun decomposition of each uploaded kelurahan's gap from the city (see the module docstring);
    one row per indicator and kelurahan with at least ``min_n`` persons in the model."""
    rows = []
    for iid, cm in city.models.items():
        indicator = ind.get(iid)
        y, universe = indicator.values(persons)
        mf = inequality.model_frame(persons, np.where(universe, y, np.nan), DECOMPOSITION_TERMS)
        for code, idx in mf.groupby(persons["kode_kemendagri"].astype(str), sort=True).groups.items():
            part = mf.loc[idx]
            part = part[part["in_model"]]
            if len(part) < min_n:
                continue
            X = cm.design(part[[t.column for t in DECOMPOSITION_TERMS]])
            w = part["weight"].to_numpy(dtype=float)
            W = w.sum()
            ybar = float(np.sum(w * part["y"].to_numpy(dtype=float)) / W)
            pred = float(np.sum(w * cm.predict(X)) / W)
            xbar = w @ X / W
            contrib = (xbar - cm.xbar) * cm.beta  # the intercept column contributes 0
            total_lin = contrib.sum()
            explained = pred - cm.city_predicted
            row = {"indicator_id": iid, "kode_kemendagri": code, "n": int(len(part)), "total_gap": ybar - cm.city_mean, "explained": explained}
            for term, group in GROUP_OF_TERM.items():
                share = contrib[[j for j, t in enumerate(cm.term_of) if t == term]].sum() / total_lin if abs(total_lin) > 1e-12 else 0.0
                row[f"explained_{group}"] = explained * share
            row["unexplained"] = row["total_gap"] - explained
            row["city_mean"] = cm.city_mean
            row["city_predicted"] = cm.city_predicted
            rows.append(row)
    return pd.DataFrame(rows, columns=DECOMPOSITION_COLUMNS)


# --- the kampung side -----------------------------------------------------------------------------------------


def kampung_estimates(result: IngestResult) -> pd.DataFrame:
    """Design-based estimates of every indicator for each kelurahan of the upload (rows as ``estimates``)."""
    out = est_mod.compute(result.households, result.persons if len(result.persons) else None, suppress=True)
    return out[out["level"] == "kelurahan"].reset_index(drop=True)


def _worst(a: str, b: str) -> str:
    order = [reliability.OK, reliability.FLAG, reliability.SUPPRESSED]
    ra = order.index(a) if a in order else 2
    rb = order.index(b) if b in order else 2
    return order[max(ra, rb)]


def contrast_independent(est_k: float, se_k: float, df_k: float, est_r: float, se_r: float, df_r: float, level: float = LEVEL) -> dict:
    """Difference of two estimates from independent samples: SE = sqrt(se_k^2 + se_r^2), Welch-Satterthwaite df."""
    vk, vr = se_k**2, se_r**2
    se = float(np.sqrt(vk + vr))
    denom = (vk**2 / df_k if df_k > 0 else 0.0) + (vr**2 / df_r if df_r > 0 else 0.0)
    df = float((vk + vr) ** 2 / denom) if denom > 0 else float(max(df_k, df_r))
    diff = float(est_k - est_r)
    t = float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else np.nan
    p = float(2 * stats.t.sf(abs(diff) / se, df)) if se > 0 and df > 0 else np.nan
    return {"diff": diff, "se": se, "df": df, "ci_low": diff - t * se, "ci_high": diff + t * se, "p_value": p}


def compare(kampung: pd.DataFrame, city_estimates: pd.DataFrame | None, register: pd.DataFrame) -> pd.DataFrame:
    """Each kampung estimate against its kota and the city (``COMPARISON_COLUMNS``; independent samples)."""
    if city_estimates is None or kampung.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    overall = city_estimates[city_estimates["domain_var"].isna()] if "domain_var" in city_estimates else city_estimates
    ref = overall.set_index(["indicator_id", "level", "area_code"])
    kota_of = register.set_index("kode_kemendagri")["kode_kab_kemendagri"].to_dict()
    rows = []
    for r in kampung.itertuples(index=False):
        for vs, level, code in (("kota", "kota", kota_of.get(r.area_code)), ("city", "city", CITY_CODE)):
            key = (r.indicator_id, level, code)
            if code is None or key not in ref.index:
                continue
            c = ref.loc[key]
            c = c.iloc[0] if isinstance(c, pd.DataFrame) else c
            row = {
                "indicator_id": r.indicator_id, "kode_kemendagri": r.area_code, "vs": vs, "reference_code": code,
                "kampung_estimate": r.estimate, "kampung_se": r.se, "kampung_ci_low": r.ci_low, "kampung_ci_high": r.ci_high,
                "kampung_n": int(r.n), "kampung_reliability": r.reliability,
                "reference_estimate": c["estimate"], "reference_se": c["se"], "reference_ci_low": c["ci_low"],
                "reference_ci_high": c["ci_high"], "reference_reliability": c["reliability"],
                "reliability": _worst(r.reliability, c["reliability"]),
            }
            if row["reliability"] != reliability.SUPPRESSED and not (pd.isna(r.estimate) or pd.isna(c["estimate"])):
                row |= contrast_independent(float(r.estimate), float(r.se), float(r.df), float(c["estimate"]), float(c["se"]), float(c["df"]))
            else:
                row["reliability"] = reliability.SUPPRESSED
                row |= {"diff": np.nan, "se": np.nan, "df": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
            rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


# --- the outcome of one upload ------------------------------------------------------------------------------


@dataclass
class UploadOutcome:
    """Everything the page shows for one upload; language-neutral (text is made at display time).

    ``ok`` False: ``error_code`` (an ingestion or page code) and ``message`` (in the language asked for).
    Lives only in the uploading session's ``st.session_state``.
    """

    ok: bool
    error_code: str | None = None
    message: str | None = None
    detail: str | None = None  # the ingestion's own value-free English message
    fingerprint: str = ""  # sha256 prefix of the uploaded bytes (tells two uploads apart; not reversible)
    report: dict = field(default_factory=dict)  # IngestResult.report(): counts only
    kelurahan: pd.DataFrame | None = None  # kode_kemendagri, kelurahan, kecamatan, kab_kota, kode_kab_kemendagri, households
    estimates: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    decomposition: pd.DataFrame | None = None
    households: pd.DataFrame | None = None  # cleaned, PII-free
    persons: pd.DataFrame | None = None
    weighted: bool = False
    synthetic: bool = False
    city_synthetic: bool = False


def error_message(code: str, tr: Translate) -> str:
    """The friendly message for an error code in the page's language (a generic one for unknown codes)."""
    try:
        return tr(f"upload.errors.{code}")
    except KeyError:
        return tr("upload.errors.unknown")


def fingerprint(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(str(name).encode("utf-8", "replace") + b"\x00")
        h.update(files[name])
    return h.hexdigest()[:16]


def handle_upload(files: Mapping[str, bytes], city: CityArtefacts | None, tr: Translate, design: bytes | None = None) -> UploadOutcome:
    """Ingest an uploaded export in memory and compare it with the city; never raises.

    ``files``: ``{file name: bytes}`` (the main CSV and the roster CSV, or one XLSX). ``design``: optional design
    CSV bytes (``stratum, psu, weight`` keyed by ``_uuid`` or ``kode_kemendagri + rw``). Bad input gives
    ``ok=False`` with the ingestion's error code and its message in the page's language; any other failure
    gives ``internal_error``. Only the code is logged, never a file name, a value or a traceback.
    """
    files = dict(files)
    fp = fingerprint(files) if files else ""
    try:
        if city is None or city.register is None or len(city.register) == 0:
            raise InputError("no_city_data", "the kelurahan register is not available")
        result = ingest_export(files, register=city.register, design=design, source_name="upload", survey_id="upload")
        kampung = kampung_estimates(result)
        comparison = compare(kampung, city.estimates, city.register)
        decomposition = (
            decompose_kampung(result.persons, city.decomposition) if city.decomposition is not None and len(result.persons)
            else pd.DataFrame(columns=DECOMPOSITION_COLUMNS)
        )
        counts = result.households.groupby("kode_kemendagri").size().rename("households").reset_index()
        names = city.register[["kode_kemendagri", "kelurahan", "kecamatan", "kab_kota", "kode_kab_kemendagri"]]
        kel = counts.merge(names, on="kode_kemendagri", how="left")[["kode_kemendagri", "kelurahan", "kecamatan", "kab_kota", "kode_kab_kemendagri", "households"]]
    except InputError as err:
        log.info("upload refused: code=%s", err.code)
        return UploadOutcome(ok=False, error_code=err.code, message=error_message(err.code, tr), detail=_detail(err), fingerprint=fp)
    except Exception as err:  # noqa: BLE001 - the page boundary: never a traceback, never a value in a log
        log.warning("upload failed: code=internal_error type=%s", type(err).__name__)
        return UploadOutcome(ok=False, error_code="internal_error", message=error_message("internal_error", tr), fingerprint=fp)
    log.info("upload ingested: households=%d persons=%d", len(result.households), len(result.persons))
    return UploadOutcome(
        ok=True, fingerprint=fp, report=result.report(), kelurahan=kel, estimates=kampung, comparison=comparison,
        decomposition=decomposition, households=result.households, persons=result.persons, weighted=result.weighted,
        synthetic=bool(result.synthetic or result.households["synthetic"].fillna(False).astype(bool).any()),
        city_synthetic=city.synthetic,
    )


def _detail(err: InputError) -> str | None:
    """The ingestion's English message without the file name (which the user chose and could hold anything)."""
    text = str(err)
    if err.source and text.startswith(f"{err.source}: "):
        text = text[len(err.source) + 2:]
    # Ingestion never quotes a cell, but a message may name a column header the user wrote: scrub it anyway.
    return scrub_text(text)[0]


# --- what the page and the report show -------------------------------------------------------------------------


def _signed(x, lang: str) -> str:
    """A difference of proportions in percentage points with its sign (``+3,2`` / ``−5,1``); the column says "pts"."""
    if fmt.is_missing(x):
        return fmt.MISSING
    text = fmt.format_number(float(x) * 100, lang, 1)
    return "+" + text if float(x) * 100 >= 0.05 else text


def _estimate_text(e, lo, hi, lang: str) -> str:
    return fmt.format_estimate(e, lo, hi, lang)


def _mark(rel: str, tr: Translate) -> str:
    return {reliability.FLAG: tr("upload.flag_mark"), reliability.SUPPRESSED: tr("upload.suppressed_mark")}.get(rel, "")


def comparison_table(outcome: UploadOutcome, code: str, lang: str, tr: Translate, indicator_labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per indicator for kelurahan ``code``: kampung, kota, city with CIs, both gaps with CI and
    significance, reliability marks. Text only (formatted for ``lang``)."""
    labels = dict(indicator_labels or {})
    comp = outcome.comparison
    k = outcome.estimates[outcome.estimates["area_code"] == code] if outcome.estimates is not None else pd.DataFrame()
    rows = []
    none = tr("common.no_reliable_estimate")
    for r in k.itertuples(index=False):
        label = labels.get(r.indicator_id) or (ind.get(r.indicator_id).label_id if lang == "id" else ind.get(r.indicator_id).label_en)
        row = {
            tr("upload.col_indicator"): label,
            tr("upload.col_n"): fmt.format_int(r.n, lang),
            tr("upload.col_kampung"): (_estimate_text(r.estimate, r.ci_low, r.ci_high, lang) + _mark(r.reliability, tr)) if r.reliability != reliability.SUPPRESSED else none,
        }
        for vs in ("kota", "city"):
            c = comp[(comp["indicator_id"] == r.indicator_id) & (comp["kode_kemendagri"] == code) & (comp["vs"] == vs)] if comp is not None else pd.DataFrame()
            col_ref, col_gap = tr(f"upload.col_{vs}"), tr(f"upload.col_gap_{vs}")
            if c.empty:
                row[col_ref], row[col_gap] = none, none
                continue
            c = c.iloc[0]
            row[col_ref] = (_estimate_text(c["reference_estimate"], c["reference_ci_low"], c["reference_ci_high"], lang) + _mark(c["reference_reliability"], tr)) if c["reference_reliability"] != reliability.SUPPRESSED else none
            if c["reliability"] == reliability.SUPPRESSED or pd.isna(c["diff"]):
                row[col_gap] = none
            else:
                sig = tr("upload.sig_mark") if (c["ci_low"] > 0 or c["ci_high"] < 0) else ""
                row[col_gap] = f"{_signed(c['diff'], lang)} ({fmt.format_ci(c['ci_low'], c['ci_high'], lang, percent=False)}){sig}{_mark(c['reliability'], tr)}"
        rows.append(row)
    return pd.DataFrame(rows)


def decomposition_display(outcome: UploadOutcome, code: str, lang: str, tr: Translate) -> pd.DataFrame:
    d = outcome.decomposition
    if d is None or d.empty:
        return pd.DataFrame()
    d = d[d["kode_kemendagri"] == code]
    rows = []
    for r in d.itertuples(index=False):
        i = ind.get(r.indicator_id)
        rows.append({
            tr("upload.col_indicator"): i.label_id if lang == "id" else i.label_en,
            tr("upload.col_n"): fmt.format_int(r.n, lang),
            tr("upload.col_total_gap"): _signed(r.total_gap, lang),
            tr("upload.col_income"): _signed(r.explained_income, lang),
            tr("upload.col_education"): _signed(r.explained_education, lang),
            tr("upload.col_age"): _signed(r.explained_age, lang),
            tr("upload.col_unexplained"): _signed(r.unexplained, lang),
        })
    return pd.DataFrame(rows)


def summary_table(outcome: UploadOutcome, lang: str, tr: Translate) -> pd.DataFrame:
    """Rows in, kept and rejected (by reason), and personal data removed (counts only)."""
    rep = outcome.report
    rows = [
        (tr("upload.sum_households_in"), rep["households"]["rows_in"]),
        (tr("upload.sum_households_kept"), rep["households"]["rows_out"]),
        (tr("upload.sum_persons_in"), rep["persons"]["rows_in"]),
        (tr("upload.sum_persons_kept"), rep["persons"]["rows_out"]),
    ]
    for reason, n in rep["rejects"]["households"].items():
        rows.append((tr("upload.sum_rejected_households", reason=reason), n))
    for reason, n in rep["rejects"]["persons"].items():
        rows.append((tr("upload.sum_rejected_persons", reason=reason), n))
    return pd.DataFrame({tr("upload.col_item"): [r[0] for r in rows], tr("upload.col_count"): [fmt.format_int(r[1], lang) for r in rows]})


def pii_removed_total(outcome: UploadOutcome) -> dict[str, int]:
    return {k: int(v) for k, v in outcome.report.get("pii_removed", {}).items() if k != "cells_changed" and v}


def cleaned_csv(outcome: UploadOutcome, which: str = "households") -> bytes:
    """The cleaned table as CSV: no free text (ingestion drops it), formula cells escaped, ``synthetic`` column kept."""
    df = outcome.households if which == "households" else outcome.persons
    buf = io.StringIO()
    escape_formula(df).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


_CSS = """
body{font-family:'Liberation Sans',Arial,sans-serif;margin:2em;color:#111;max-width:64em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.5em}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.85em}
th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top} th{background:#eee}
.note{font-size:.85em;color:#333} .warn{background:#fff3cd;border:1px solid #e0c36a;padding:.5em}
@media print{body{margin:1cm}}
"""


def _html_table(df: pd.DataFrame) -> str:
    if df is None or df.empty:
        return ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(outcome: UploadOutcome, lang: str, tr: Translate, indicator_labels: Mapping[str, str] | None = None) -> bytes:
    """The printable report: self-contained HTML (inline CSS, no script, no external request), every value escaped.

    Holds counts, estimates and contrasts only: no row of the upload, no free text, no identifier.
    """
    parts = [
        f"<!DOCTYPE html><html lang=\"{html.escape(lang)}\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(tr('upload.report_title'))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(tr('upload.report_title'))}</h1>",
    ]
    if outcome.synthetic:
        parts.append(f"<p class=\"warn\">{html.escape(tr('upload.synthetic_upload'))}</p>")
    if outcome.city_synthetic:
        parts.append(f"<p class=\"warn\">{html.escape(tr('banner.synthetic'))}</p>")
    parts.append(f"<p class=\"note\">{html.escape(tr('upload.weighted') if outcome.weighted else tr('upload.unweighted'))}</p>")
    parts.append(f"<p class=\"note\">{html.escape(tr('upload.independent_note'))}</p>")
    parts.append(f"<h2>{html.escape(tr('upload.summary'))}</h2>")
    parts.append(_html_table(summary_table(outcome, lang, tr)))
    pii = pii_removed_total(outcome)
    parts.append(f"<p class=\"note\">{html.escape(pii_text(pii, lang, tr))}</p>")
    for k in outcome.kelurahan.itertuples(index=False):
        parts.append(f"<h2>{html.escape(tr('upload.kampung_heading', kelurahan=k.kelurahan, kecamatan=k.kecamatan, kota=k.kab_kota))}</h2>")
        parts.append(_html_table(comparison_table(outcome, k.kode_kemendagri, lang, tr, indicator_labels)))
        dec = decomposition_display(outcome, k.kode_kemendagri, lang, tr)
        if not dec.empty:
            parts.append(f"<h2>{html.escape(tr('upload.decomposition'))}</h2>")
            parts.append(_html_table(dec))
            parts.append(f"<p class=\"note\">{html.escape(tr('upload.decomposition_note'))}</p>")
    parts.append(f"<p class=\"note\">{html.escape(tr('upload.table_note'))}</p>")
    parts.append(f"<p class=\"note\">{html.escape(tr('upload.report_footer'))}</p></body></html>")
    return "".join(parts).encode("utf-8")


def pii_text(pii: Mapping[str, int], lang: str, tr: Translate) -> str:
    if not pii:
        return tr("upload.pii_none")
    items = ", ".join(f"{tr(f'upload.pii_kind.{k}')} {fmt.format_int(v, lang)}" for k, v in sorted(pii.items()))
    return tr("upload.pii_removed", items=items, total=fmt.format_int(sum(pii.values()), lang))


__all__ = [
    "CityArtefacts", "CityDecomposition", "UploadOutcome", "handle_upload", "kampung_estimates", "compare",
    "contrast_independent", "decompose_kampung", "comparison_table", "decomposition_display", "summary_table",
    "cleaned_csv", "report_html", "error_message", "ERROR_CODES", "PAGE_ERROR_CODES",
]
