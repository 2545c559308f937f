"""Bring your own survey: an NGO's kampung export against its kota and the city (issue 6).

An NGO runs the project's questionnaire in its own kampung (KoboToolbox / ODK Collect) and uploads the export.
``handle_upload`` runs the same ingestion as the build (``analysis.survey.ingest.ingest_export``: validation,
de-duplication, personal-data removal, kelurahan matching) **in memory**, then:

1. **Kampung estimates** (``kampung_estimates``): every registered indicator for each kelurahan of the upload,
   design-based (``analysis.stats.estimates.compute``), with SE, 95% CI, CV, n and the BPS reliability rule
   (suppressed when n < 30 or RSE > 50%, flagged at RSE 25-50%). Without a design file the export is a
   simple random sample of the kampung (ingestion sets kelurahan = stratum, household = PSU, equal weights),
   and the page says so.

2. **Contrast with the kota and the city** (``contrast_independent``). An NGO's own kampung sample is drawn
   *independently* of the city survey: different households, a different design, different fieldwork. The
   two estimates are therefore independent and the variance of their difference is the sum of their
   variances (Lohr 2022, *Sampling: Design and Analysis*, 3rd ed., sec. 4.x on comparing estimates from
   independent samples; Wolter 2007, *Introduction to Variance Estimation*, ch. 1)::

       diff = p_k - p_R,   Var(diff) = Var(p_k) + Var(p_R)

   with degrees of freedom from the Welch-Satterthwaite approximation on the two design df (Korn & Graubard
   1999, *Analysis of Health Surveys*, sec. 5.x)::

       df = (v_k + v_R)^2 / (v_k^2 / df_k + v_R^2 / df_R)

   **An upload that overlaps the city sample** (e.g. the published demo export, whose households *are* the
   build's survey rows) is not independent of it: the kampung's households would sit on both sides. The page
   tells the two cases apart by the households themselves: when the build's household keys can be
   recomputed (the demo survey's keys use the public ``DEMO_SALT``; a real survey's keys are random per run
   and never match), ingestion also keys the upload's households with that salt (``match_keys``, memory
   only) and ``overlap_keys`` finds those in ``survey_households``. For each kelurahan of the upload that
   shares households with the city sample the reference becomes **the rest of the kota / the rest of the
   city** (``rest_of_city_estimates``): the same estimator on the city design, as the domain of households
   *not* shared with that kelurahan's upload (the full design is kept, so strata and PSUs are not dropped).
   The kampung and the rest then share no household and the independent contrast above applies
   (``comparison_basis`` = ``rest_of_city``; ``independent`` otherwise; the page says which).

   This differs from ``analysis.stats.gaps``, where a kelurahan is a domain *of* the city sample and the
   covariance between the two estimates must be linearised on the one sample. A contrast is published only
   when both sides are (the worse reliability of the two; suppressed contrasts lose their numbers).

3. **Gap decomposition** (``CityDecomposition`` / ``decompose_kampung``): the kampung's gap from the city in
   the person-level access indicators, split into the part explained by its income, education and age
   composition and the unexplained rest, by the build's own decomposition (Fairlie 2005 with Yun 2004
   detailed weights, ``analysis.stats.inequality.decompose``): the survey-weighted logit the build fitted on
   the *city* survey only (table ``decomposition_model``) gives ``beta``; the kampung's persons are evaluated
   with it::

       total = ybar_k - ybar_c,  explained = mean_k F(x beta) - mean_c F(x beta),  unexplained = total - explained

   An independent kampung sample never enters the city model. An upload that shares households with the city
   sample (the published demo export) is decomposed against the city model fitted with those households in it:
   the comparison above excludes them, the decomposition does not (its parts are point estimates anyway).

4. **Downloads**: the PII-free cleaned tables as spreadsheet-safe CSV (formula cells escaped,
   ``analysis.csv_safety.escape_formula``). The page's tables and the printable report are the ui's
   (``ui.views.upload``).

Nothing here writes to disk or logs a value: failures are logged by error code only. No page text lives here:
an outcome carries codes (``error_code``; ``upload.errors.<code>`` in the locales) and numbers only.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.areas import CITY_CODE
from analysis.csv_safety import escape_formula
from analysis.errors import InputError
from analysis.privacy import scrub_text
from analysis.stats import estimates as est_mod
from analysis.stats import indicators as ind
from analysis.stats import inequality, reliability
from analysis.stats.inequality import DECOMPOSITION_TERMS, MIN_N
from analysis.survey.ingest import ERROR_CODES, IngestResult, ingest_export

log = logging.getLogger("digidiv.upload")

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
    decomposition: CityDecomposition | None = None
    synthetic: bool = False
    households: pd.DataFrame | None = None  # the city sample (survey_households), to find an overlapping upload
    persons: pd.DataFrame | None = None
    key_salt: bytes | None = None  # the salt of the city's household keys when it can be recomputed (the demo)

    @classmethod
    def from_tables(cls, estimates: pd.DataFrame | None, register: pd.DataFrame, decomposition_model: pd.DataFrame | None = None,
                    households: pd.DataFrame | None = None, persons: pd.DataFrame | None = None,
                    covariates: pd.DataFrame | None = None) -> CityArtefacts:
        """``covariates`` (``kelurahan_covariates``): when given, the city persons carry the raked weights of the
        published estimates (``estimates.calibrated_persons``), so a rest-of-city reference is the published
        estimator's, minus the shared households."""
        if persons is not None and len(persons) and covariates is not None and len(covariates):
            persons = est_mod.calibrated_persons(persons, est_mod.dukcapil_margins(covariates))
        synthetic = bool(estimates is not None and "synthetic" in estimates and estimates["synthetic"].fillna(False).astype(bool).any())
        dec = CityDecomposition.from_table(decomposition_model) if decomposition_model is not None and len(decomposition_model) else None
        return cls(estimates=estimates, register=register, decomposition=dec, synthetic=synthetic,
                   households=households, persons=persons, key_salt=city_key_salt(households))


def city_key_salt(households: pd.DataFrame | None) -> bytes | None:
    """The salt of the city sample's household keys when it is public: the SYNTHETIC demo survey's
    (``analysis.survey.stage.DEMO_SALT``). A real survey's keys use a random salt per build: None."""
    from analysis.survey.generate import SURVEY_ID
    from analysis.survey.stage import DEMO_SALT

    if households is None or not len(households) or "survey_id" not in households or "synthetic" not in households:
        return None
    demo = (households["survey_id"].astype(str) == SURVEY_ID).all() and households["synthetic"].fillna(False).astype(bool).all()
    return DEMO_SALT if demo else None


def overlap_keys(result: IngestResult, city: CityArtefacts) -> pd.Series:
    """For each household of the upload, its key in the city sample when it is one of its households, else None."""
    if result.match_keys is None or city.households is None:
        return pd.Series([None] * len(result.households), index=result.households.index, dtype=object)
    known = set(city.households["hh_id"].astype(str))
    keys = pd.Series(result.match_keys, index=result.households.index, dtype=object)
    return keys.where(keys.isin(known))


def rest_of_city_estimates(city: CityArtefacts, exclude: set[str], indicator_ids=None) -> pd.DataFrame:
    """City and kota estimates (rows as ``estimates``, level city/kota) for the households of the city sample
    *not* in ``exclude`` (their ``hh_id``): a domain of the full city design (``analysis.stats.estimates``'s
    estimator and reliability rule), so its SE and df keep every stratum and PSU."""
    frames = {ind.HOUSEHOLD: est_mod.household_frame(city.households)}
    if city.persons is not None and len(city.persons):
        frames[ind.PERSON] = city.persons
    designs = {u: est_mod.survey_design(f, ind.SOURCE_TABLE[u]) for u, f in frames.items()}
    parts = []
    for indicator in ind.REGISTRY:
        if indicator.unit not in frames or (indicator_ids is not None and indicator.indicator_id not in indicator_ids):
            continue
        frame, design = frames[indicator.unit], designs[indicator.unit]
        y, universe = indicator.values(frame)
        where = np.asarray(universe, dtype=bool) & ~frame["hh_id"].astype(str).isin(exclude).to_numpy()
        for level, by in (("city", None), ("kota", "kode_kab_kemendagri")):
            if indicator.measure == ind.PROPORTION:
                res = design.prop(y, by=by, where=where, ci=est_mod.PROPORTION_CI, suppress=True, df="domain")
            else:
                res = design.mean(y, by=by, where=where, suppress=True, df="domain")
            if by is None:
                res.insert(0, "area_code", CITY_CODE)
            else:
                res = res.rename(columns={by: "area_code"})
                res["area_code"] = res["area_code"].astype(str)
            res.insert(0, "level", level)
            res.insert(0, "indicator_id", indicator.indicator_id)
            parts.append(res)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["indicator_id", "level", "area_code"])
    out["domain_var"] = pd.NA
    return out


@dataclass
class CityDecomposition:
    """One survey-weighted logit per person-level access indicator, fitted on the city survey only
    (``DECOMPOSITION_TERMS``: income quintile, education, age group; no kota), as the build wrote them in
    ``decomposition_model``: the upload is decomposed against the build's models, never a refit."""

    models: dict[str, inequality.CityModel]

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> CityDecomposition:
        return cls({str(iid): inequality.CityModel.from_rows(rows) for iid, rows in table.groupby("indicator_id", sort=False)})


def decompose_kampung(persons: pd.DataFrame, city: CityDecomposition, min_n: int = MIN_N) -> pd.DataFrame:
    """Fairlie/Yun decomposition of each uploaded kelurahan's gap from the city (see the module docstring) by
    ``inequality.decompose`` against the build's city model; one row per indicator and kelurahan with at least
    ``min_n`` persons in the model."""
    parts = []
    for iid, model in city.models.items():
        y, universe = ind.get(iid).values(persons)
        mf = inequality.model_frame(persons, np.where(universe, y, np.nan), DECOMPOSITION_TERMS)
        res = inequality.decompose(persons, mf["y"], persons["kode_kemendagri"], min_n=min_n, fitted=(mf, model))
        parts.append(res.assign(indicator_id=iid))
    if not parts:
        return pd.DataFrame(columns=DECOMPOSITION_COLUMNS)
    return pd.concat(parts, ignore_index=True)[DECOMPOSITION_COLUMNS]


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


def compare_overlapping(kampung: pd.DataFrame, city: CityArtefacts, shared: pd.Series, codes: pd.Series) -> pd.DataFrame:
    """``compare`` where the upload shares households with the city sample: each kelurahan of the upload that
    shares any is compared with the rest of its kota and of the city (without its own shared households,
    ``rest_of_city_estimates``); the others with the published estimates. ``shared``: the city key of each
    upload household (None when not in the city sample); ``codes``: its kelurahan."""
    parts = []
    for code, k in kampung.groupby("area_code", sort=False):
        exclude = set(shared[(codes == code).to_numpy() & shared.notna().to_numpy()].astype(str))
        if exclude:
            ref = rest_of_city_estimates(city, exclude, set(k["indicator_id"]))
            parts.append(compare(k, ref, city.register).assign(basis="rest_of_city"))
        else:
            parts.append(compare(k, city.estimates, city.register).assign(basis="independent"))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*COMPARISON_COLUMNS, "basis"])


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

    ``ok`` False: ``error_code`` (an ingestion or page code; the page shows ``upload.errors.<code>``) and
    ``detail``. Lives only in the uploading session's ``st.session_state``.
    """

    ok: bool
    error_code: str | None = None
    detail: str | None = None  # the ingestion's own value-free English message
    fingerprint: str = ""  # sha256 prefix of the uploaded bytes (tells two uploads apart; not reversible)
    report: dict = field(default_factory=dict)  # IngestResult.report(): counts only
    kelurahan: pd.DataFrame | None = None  # kode_kemendagri, kelurahan, kecamatan, kab_kota, kode_kab_kemendagri, households, shared_households
    estimates: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    decomposition: pd.DataFrame | None = None
    households: pd.DataFrame | None = None  # cleaned, PII-free
    persons: pd.DataFrame | None = None
    weighted: bool = False
    synthetic: bool = False
    city_synthetic: bool = False
    # "independent" (an NGO's own sample) or "rest_of_city" (the upload shares households with the city sample,
    # compared with the rest of the kota and the city); shared_households: how many it shares
    comparison_basis: str = "independent"
    shared_households: int = 0
    # the cleaned tables as the CSV the page offers (``cleaned_csv``), made once in the sandbox's child: the
    # page's every rerun would otherwise serialise 13,633 households and 45,967 persons again on the session's
    # thread (seconds of CPU for a 20 MB export, holding the GIL the other sessions need; issue 16)
    csv: dict = field(default_factory=dict)


def fingerprint(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(str(name).encode("utf-8", "replace") + b"\x00")
        h.update(files[name])
    return h.hexdigest()[:16]


def _analyse_upload(files: Mapping[str, bytes], city: CityArtefacts, design: bytes | None, fp: str) -> UploadOutcome:
    """The whole work of an upload: ingestion, then its estimates, the contrasts with the city and the
    decomposition. Raises ``InputError`` for bad input. Runs in the sandbox's child (``handle_upload``)."""
    result = ingest_export(files, register=city.register, design=design, source_name="upload", survey_id="upload", match_salt=city.key_salt)
    kampung = kampung_estimates(result)
    shared = overlap_keys(result, city)
    result.match_keys = None  # used once, never kept
    n_shared = int(shared.notna().sum())
    if n_shared:
        comparison = compare_overlapping(kampung, city, shared, result.households["kode_kemendagri"].astype(str))
    else:
        comparison = compare(kampung, city.estimates, city.register).assign(basis="independent")
    decomposition = (
        decompose_kampung(result.persons, city.decomposition) if city.decomposition is not None and len(result.persons)
        else pd.DataFrame(columns=DECOMPOSITION_COLUMNS)
    )
    counts = result.households.groupby("kode_kemendagri").size().rename("households").reset_index()
    names = city.register[["kode_kemendagri", "kelurahan", "kecamatan", "kab_kota", "kode_kab_kemendagri"]]
    kel = counts.merge(names, on="kode_kemendagri", how="left")[["kode_kemendagri", "kelurahan", "kecamatan", "kab_kota", "kode_kab_kemendagri", "households"]]
    shared_of = result.households.loc[shared.notna(), "kode_kemendagri"].value_counts()
    kel["shared_households"] = kel["kode_kemendagri"].map(shared_of).fillna(0).astype(int)
    outcome = UploadOutcome(
        ok=True, fingerprint=fp, report=result.report(), kelurahan=kel, estimates=kampung, comparison=comparison,
        decomposition=decomposition, households=result.households, persons=result.persons, weighted=result.weighted,
        synthetic=bool(result.synthetic or result.households["synthetic"].fillna(False).astype(bool).any()),
        city_synthetic=city.synthetic, comparison_basis="rest_of_city" if n_shared else "independent", shared_households=n_shared,
    )
    outcome.csv = {which: cleaned_csv(outcome, which) for which in ("households", "persons")}
    return outcome


def handle_upload(files: Mapping[str, bytes], city: CityArtefacts | None, design: bytes | None = None, *, isolate: bool = True,
                  on_wait=None) -> UploadOutcome:
    """Ingest an uploaded export in memory and compare it with the city; never raises.

    ``files``: ``{file name: bytes}`` (the main CSV and the roster CSV, or one XLSX). ``design``: optional design
    CSV bytes (``stratum, psu, weight`` keyed by ``_uuid`` or ``kode_kemendagri + rw``). Bad input gives
    ``ok=False`` with the ingestion's error code (the page translates it); any other failure gives
    ``internal_error``. Only the code is logged, never a file name, a value or a traceback.

    ``isolate``: the ingestion *and* the statistics after it (``_analyse_upload``) run in a child process with a
    memory and a time limit (``analysis.survey.sandbox``), so that no file can take the server down
    (``parse_failed`` / ``parse_timeout``) and the server's other sessions keep the GIL: profiled on a 20 MB
    export (13,633 households, 45,967 persons), the statistics alone held the calling thread for ~4.7 s of
    CPU against 0.07 s to pickle the city artefacts to the child (``bench/RESULTS.md``, issue 16). At most
    ``sandbox.SLOTS`` uploads are read at once; ``on_wait()`` is called when this one has to queue
    (``upload_busy`` if it waits too long). False runs in-process.
    """
    files = dict(files)
    fp = fingerprint(files) if files else ""
    try:
        if city is None or city.register is None or len(city.register) == 0:
            raise InputError("no_city_data", "the kelurahan register is not available")
        if isolate:
            from analysis.survey.sandbox import run_isolated

            outcome = run_isolated(_analyse_upload, files, city, design, fp, on_wait=on_wait)
        else:
            outcome = _analyse_upload(files, city, design, fp)
    except InputError as err:
        log.info("upload refused: code=%s", err.code)
        return UploadOutcome(ok=False, error_code=err.code, detail=_detail(err), fingerprint=fp)
    except Exception as err:  # noqa: BLE001 - the page boundary: never a traceback, never a value in a log
        log.warning("upload failed: code=internal_error type=%s", type(err).__name__)
        return UploadOutcome(ok=False, error_code="internal_error", fingerprint=fp)
    log.info("upload ingested: households=%d persons=%d", len(outcome.households), len(outcome.persons))
    return outcome


def _detail(err: InputError) -> str | None:
    """The ingestion's English message without the file name (which the user chose and could hold anything)."""
    text = str(err)
    if err.source and text.startswith(f"{err.source}: "):
        text = text[len(err.source) + 2:]
    # Ingestion never quotes a cell, but a message may name a column header the user wrote: scrub it anyway.
    return scrub_text(text)[0]


# --- downloads ------------------------------------------------------------------------------------------------


def pii_removed_total(outcome: UploadOutcome) -> dict[str, int]:
    return {k: int(v) for k, v in outcome.report.get("pii_removed", {}).items() if k != "cells_changed" and v}


def cleaned_csv(outcome: UploadOutcome, which: str = "households") -> bytes:
    """The cleaned table as CSV: no free text (ingestion drops it), formula cells escaped, ``synthetic`` column kept.
    Made once per upload (``UploadOutcome.csv``, in the sandbox's child), then read from there."""
    if which in outcome.csv:
        return outcome.csv[which]
    df = outcome.households if which == "households" else outcome.persons
    buf = io.StringIO()
    escape_formula(df).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


__all__ = [
    "ERROR_CODES",
    "PAGE_ERROR_CODES",
    "CityArtefacts",
    "CityDecomposition",
    "UploadOutcome",
    "cleaned_csv",
    "compare",
    "compare_overlapping",
    "contrast_independent",
    "decompose_kampung",
    "fingerprint",
    "handle_upload",
    "kampung_estimates",
    "overlap_keys",
    "pii_removed_total",
    "rest_of_city_estimates",
]
