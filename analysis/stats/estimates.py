"""Build stage ``analysis.stats.estimates``: direct design-based estimates of every registered indicator.

For each indicator of ``analysis.stats.indicators.REGISTRY`` it estimates, from the survey tables written by
the survey stage (``survey_households``, ``survey_persons``; docs/ARTEFACTS.md):

- the city (``level="city"``, ``area_code="31"``),
- each kota (``level="kota"``, ``area_code`` = ``kode_kab_kemendagri``),
- each sampled kelurahan (``level="kelurahan"``, ``area_code`` = ``kode_kemendagri``),
- the city, each kota and each kelurahan by ``income_quintile``, ``education``, ``age_group`` and ``sex``
  (``level="domain"``, ``area_code`` the city, kota or kelurahan).

Every one of these is a domain of the one city-wide design (strata, PSUs, weights, fpc of the sample), so
standard errors keep every PSU (Lohr 2022 sec. 4.2). City and kota rows use the kelurahan as first-stage unit
when the survey tables carry the kelurahan stage (``survey_design``: two stages, certainty kelurahan as
certainty units); kelurahan rows always use the RWs within the kelurahan (``rw_design``). Households are classified by their respondent's
education, age group and sex. Degrees of freedom are counted within the domain (PSUs holding domain members
minus their strata; Korn & Graubard 1999 sec. 5.2): a kelurahan sampled in four RWs has 3, not the design's
hundreds. Proportions carry the Korn-Graubard (1998) interval (Clopper-Pearson on the design-effective sample
size, always inside [0, 1], the NCHS standard for proportions), means a t interval. On the synthetic demo
survey the kelurahan intervals cover the known true rates in about 98% of cases, where logit intervals with
design df covered 83% (``tests/stats/test_estimates.py``). Estimates that fail the BPS reliability rule
(``analysis.stats.reliability``) are written with estimate, SE, CI and CV all empty.

**Person weights are raked to the Dukcapil register** (``rake_persons``; Deville & Sarndal 1992,
Lumley 2010 ch. 7, ``analysis.stats.calibration``): the persons' design weights are raked to two margins summed
from the register's kelurahan counts (30 June 2019, ``kelurahan_covariates``) to the kota: kota x sex and kota x
age band (0-14, 15-24, 25-59, 60+: the bands the table's ``share_0_14``, ``share_15_24`` and ``share_60plus``
give exactly). Why the kota and not the kelurahan: the sample holds about 82 of the 267 kelurahan, a kelurahan's
persons come from a handful of RWs, and a total is only usable for a cell the sample covers in every draw; the
kota is the finest level whose every cell (at least ~25 respondents here) the design supports, and it is the
domain the dashboard's reference estimates use. Why these two margins and not their cross-classification: the
register gives sex and age separately, not jointly. The register counts residents of record (11.0 M), the demo
sample's design weights sum to 11.7 M and weight the 60+ about 1.5 times the register's share (the synthetic
households' age structure is the generator's, not the register's), so raking moves person estimates toward the
register's younger population. Persons with a missing sex (or age) keep their design weight. Standard errors
are the calibrated linearisation SEs (scores replaced by their residuals on the margins' cells). Households are
not calibrated: the register's family cards (KK) are not the survey's households.

``compute(households, persons, suppress=False)`` returns the same rows with every number, for internal use
by the small-area stage (a Fay-Herriot model needs the direct estimate and its variance even where the
estimate itself is not publishable). It is never written to ``data/processed``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.areas import CITY_CODE, with_area_name
from analysis.stats import calibration, quantiles
from analysis.stats import indicators as ind
from analysis.stats.design import SurveyDesign
from analysis.survey.schema import AGE_GROUP_EDGES, AGE_GROUPS
from analysis.tables import Field, Table

STAGE = "analysis.stats.estimates"
DOMAIN_VARS = ("income_quintile", "education", "age_group", "sex")
LEVELS = ("city", "kota", "kelurahan", "domain")
PROPORTION_CI = "korn-graubard"
AGE_BINS = [*AGE_GROUP_EDGES, np.inf]

ESTIMATE_COLUMNS = [
    "indicator_id", "level", "area_code", "domain_var", "domain_value",
    "estimate", "se", "ci_low", "ci_high", "cv", "n", "df", "reliability", "synthetic",
]

FIELDS = [
    Field("indicator_id", "Indicator id (see the indicators table)."),
    Field("level", "city, kota, kelurahan, or domain (the city, a kota or a kelurahan, given by area_code, by a population group)."),
    Field("area_code", "Kemendagri code of the area: '31' for the city, '31.71' for a kota, '31.71.01.1001' for a kelurahan."),
    Field("domain_var", "Population group variable for level=domain: income_quintile, education, age_group or sex; empty otherwise."),
    Field("domain_value", "Value of domain_var (quintile 1-5; education level; age group; L/P)."),
    Field("estimate", "Design-based estimate: a proportion (0-1) or a mean in the indicator's unit; empty when suppressed.", unit="proportion or indicator unit"),
    Field("se", "Standard error, Taylor linearisation with strata, PSUs and fpc; empty when suppressed."),
    Field("ci_low", "Lower 95% confidence limit (Korn-Graubard interval for proportions, t interval for means; domain df); empty when suppressed."),
    Field("ci_high", "Upper 95% confidence limit; empty when suppressed."),
    Field("cv", "Coefficient of variation (relative standard error) se / estimate; empty when suppressed."),
    Field("n", "Unweighted number of respondents in the universe and domain with an answer."),
    Field("df", "Degrees of freedom of the domain: PSUs holding respondents of the domain minus their strata."),
    Field("reliability", "ok; flag (RSE 25-50%: use with caution); suppressed (not published: n < 30 or RSE > 50% (BPS), and for proportions effective n < 30, CI width >= 30 points or relative CI width > 130% (NCHS 2017))."),
    Field("synthetic", "True when the survey is the project's generated demo survey, not real respondents."),
]


def age_group(age) -> pd.Series:
    """BPS-style age groups used across the project (NA under 5)."""
    return pd.cut(pd.to_numeric(pd.Series(age), errors="coerce"), AGE_BINS, right=False, labels=list(AGE_GROUPS)).astype("string")


def household_frame(households: pd.DataFrame) -> pd.DataFrame:
    """Households with the domain columns named as for persons (the respondent's education, age group, sex)."""
    frame = households.copy()
    frame["education"] = frame.get("respondent_education")
    frame["sex"] = frame.get("respondent_sex")
    frame["age_group"] = age_group(frame["respondent_age"]).to_numpy() if "respondent_age" in frame else pd.NA
    return frame


KELURAHAN_STAGE_COLUMNS = ("certainty_kelurahan", "n_rw_kelurahan")


def has_kelurahan_stage(frame: pd.DataFrame) -> bool:
    """Does the survey frame carry the kelurahan stage of the design (the design file's ``certainty_kelurahan``
    and ``n_rw_kelurahan`` for every row), so that the kelurahan can be the first-stage unit."""
    return all(c in frame.columns and frame[c].notna().all() for c in KELURAHAN_STAGE_COLUMNS) and "kode_kemendagri" in frame.columns


def rw_design(frame: pd.DataFrame, source: str) -> SurveyDesign:
    """The RW (``psu``) as the PSU within the kota strata, with the stratum's RW count as fpc (``fpc_psu``): the
    ultimate-cluster design of the survey tables (docs/ARTEFACTS.md). Kelurahan direct estimates always use it:
    within a sampled kelurahan its RWs are the sampled units."""
    fpc = "fpc_psu" if "fpc_psu" in frame.columns and frame["fpc_psu"].notna().any() else None
    return SurveyDesign(frame, "weight", strata="stratum", psu="psu", fpc=fpc, source=source)


FIRST_STAGE_PROBABILITY = "pi_kelurahan"
BREWER, WITH_REPLACEMENT = "brewer", "with_replacement"
FIRST_STAGE_VARIANCES = (BREWER, WITH_REPLACEMENT)
# the kelurahan stage's variance when the frame has the kelurahan's inclusion probabilities: Brewer's
# without-replacement approximation (issue 12; ``bench/RESULTS.md``: with replacement over-covers the whole kota)
FIRST_STAGE_VARIANCE = BREWER


def survey_design(frame: pd.DataFrame, source: str, first_stage: str | None = None) -> SurveyDesign:
    """The design for city and kota estimates.

    When the frame has the kelurahan stage (``has_kelurahan_stage``): a two-stage design, kelurahan then RW
    (R ``svydesign(ids=~kelurahan+rw, strata=~stratum, fpc=~f1+f2)``). The kelurahan were drawn by systematic
    PPS without replacement, whose joint inclusion probabilities are unknown. With the kelurahan's inclusion
    probability ``pi_kelurahan`` in every row and ``first_stage = BREWER`` (the default,
    ``FIRST_STAGE_VARIANCE``) the first stage uses Brewer's without-replacement approximation (R
    ``svydesign(ids=~kelurahan+rw, fpc=~pi_kelurahan+n_rw, pps="brewer")``: each kelurahan's deviation scaled by
    ``1 - pi_i``, its RW stage carried with ``pi_i``; Brewer 2002 sec. 9.5, ``SurveyDesign(pps="brewer")``): about
    a third of a kota's kelurahan are sampled, and the with-replacement form over-states the between-kelurahan
    variance by about ``1 / (1 - pi)`` (measured against the whole synthetic kota, ``bench/RESULTS.md``).
    Without the probabilities, or ``first_stage = WITH_REPLACEMENT``, the first stage is analysed
    *with replacement* (no fpc: the between-kelurahan variance of the weighted kelurahan totals within each
    kota, which also covers the variance of the later stages; Lumley 2010 sec. 3.2-3.3 on PPS designs;
    Sarndal, Swensson & Wretman 1992 sec. 4.5 and Result 4.5.1 on the with-replacement approximation). The
    kelurahan taken with certainty (the oversampled Tengah and Gedong, and any whose PPS probability reached 1)
    are *certainty units* in a stratum of their own per kota with f = 1: no first-stage variance, and their
    variance is the RW stage's, with the kelurahan's RW count ``n_rw_kelurahan`` as the second-stage fpc
    (the simple-random-sampling fpc as the usual approximation for the PPS RW draw; Sarndal et al. 1992 sec.
    4.3). Otherwise (a design file without the kelurahan stage) the RW design ``rw_design``.
    """
    if not has_kelurahan_stage(frame):
        return rw_design(frame, source)
    certain = frame["certainty_kelurahan"].astype(bool).to_numpy()
    pi = pd.to_numeric(frame["pi_kelurahan"], errors="coerce").astype(float).to_numpy() if FIRST_STAGE_PROBABILITY in frame.columns else None
    first_stage = FIRST_STAGE_VARIANCE if first_stage is None else first_stage
    if first_stage not in FIRST_STAGE_VARIANCES:
        raise ValueError(f"first_stage must be one of {FIRST_STAGE_VARIANCES}, not {first_stage!r}")
    brewer = first_stage == BREWER and pi is not None and bool(np.isfinite(pi[~certain]).all())
    staged = frame.assign(
        _stratum_stage1=np.where(certain, frame["stratum"].astype(str) + " certainty", frame["stratum"].astype(str)),
        _fpc_stage1=np.where(certain, 1.0, pi if brewer else np.nan),
        _fpc_stage2=pd.to_numeric(frame["n_rw_kelurahan"]).astype(float).to_numpy(),
    )
    return SurveyDesign(staged, "weight", strata="_stratum_stage1", psu=["kode_kemendagri", "psu"],
                        fpc=["_fpc_stage1", "_fpc_stage2"], missing_fpc="with_replacement", source=source,
                        pps="brewer" if brewer else None)



KOTA = "kode_kab_kemendagri"
CALIBRATION_BAND = "calibration_age_band"
CALIBRATION_BANDS = (("0-14", 0), ("15-24", 15), ("25-59", 25), ("60+", 60))  # lower bounds, left-closed
CALIBRATION_SOURCE = "Dukcapil register, 30 June 2019 (kelurahan_covariates), summed to the kota"


class PopulationMargins(NamedTuple):
    """Population totals the person weights are raked to: kota x sex and kota x age band (columns ``KOTA``,
    ``sex`` / ``CALIBRATION_BAND`` and ``total``)."""

    sex: pd.DataFrame
    age: pd.DataFrame


def calibration_band(age) -> pd.Series:
    """The register's age band of each age (``CALIBRATION_BANDS``; NA where the age is missing)."""
    edges = [lo for _, lo in CALIBRATION_BANDS] + [np.inf]
    return pd.cut(pd.to_numeric(pd.Series(age), errors="coerce"), edges, right=False, labels=[b for b, _ in CALIBRATION_BANDS]).astype("string")


def dukcapil_margins(covariates: pd.DataFrame) -> PopulationMargins:
    """Kota x sex and kota x age-band population totals summed from the register's kelurahan counts
    (``population`` times ``share_female`` / ``share_0_14`` / ``share_15_24`` / ``share_60plus``, rounded to whole
    residents; 25-59 is the rest)."""
    c = covariates
    pop = pd.to_numeric(c["population"], errors="coerce").astype(float)
    kota = c["kode_kemendagri"].astype(str).str[:5]
    female = (pop * c["share_female"]).round()
    bands = {"0-14": (pop * c["share_0_14"]).round(), "15-24": (pop * c["share_15_24"]).round(), "60+": (pop * c["share_60plus"]).round()}
    bands["25-59"] = pop - bands["0-14"] - bands["15-24"] - bands["60+"]
    sex = pd.DataFrame({"L": pop - female, "P": female}).groupby(kota.to_numpy()).sum()
    age = pd.DataFrame({b: bands[b] for b, _ in CALIBRATION_BANDS}).groupby(kota.to_numpy()).sum()

    def long(table: pd.DataFrame, column: str) -> pd.DataFrame:
        out = table.rename_axis(KOTA).reset_index().melt(id_vars=KOTA, var_name=column, value_name="total")
        return out.sort_values([KOTA, column], kind="mergesort").reset_index(drop=True)

    return PopulationMargins(sex=long(sex, "sex"), age=long(age, CALIBRATION_BAND))


def with_calibration_band(persons: pd.DataFrame) -> pd.DataFrame:
    """The persons with their register age band (``CALIBRATION_BAND``), the column the raking margins use."""
    return persons.assign(**{CALIBRATION_BAND: calibration_band(persons["age"]).to_numpy()})


def rake_persons(design: SurveyDesign, margins: PopulationMargins) -> SurveyDesign:
    """A persons' design (its data with ``CALIBRATION_BAND``) raked to ``margins`` (module docstring): kota x sex
    and kota x age band, only the kota the sample holds; persons with a missing sex or age keep their design
    weight. The raked weights do not depend on the design's stages; the calibrated variance does."""
    sampled = set(design.data[KOTA].dropna().astype(str))
    sex = margins.sex[margins.sex[KOTA].astype(str).isin(sampled)]
    age = margins.age[margins.age[KOTA].astype(str).isin(sampled)]
    return calibration.rake(design, [[KOTA, "sex"], [KOTA, CALIBRATION_BAND]], [sex, age], missing="keep")


def calibrated_persons(persons: pd.DataFrame, margins: PopulationMargins | None, source: str = "survey_persons") -> pd.DataFrame:
    """The persons with ``weight`` replaced by their raked weight (``rake_persons``; the weights do not depend on
    the design's stages), so that every stage after this one (gaps, small-area estimates, models, inequality)
    estimates from the same person weights as the published ``estimates``. Their SEs use these weights with the
    design's (uncalibrated) linearisation, a slightly conservative variance for kota-level margins. Without
    ``margins`` the persons are returned unchanged."""
    if margins is None or persons is None or len(persons) == 0:
        return persons
    design = rake_persons(rw_design(with_calibration_band(persons), source), margins)
    return persons.assign(weight=design.w)


def stage_persons(ctx) -> Table | None:
    """``survey_persons`` as the stages after the estimates see it: the same table with the raked person weights
    of ``calibrated_persons`` (computed once per build and kept on the context)."""
    pe = ctx.tables.get("survey_persons")
    if pe is None or len(pe.data) == 0:
        return pe
    cached = ctx.shared.get("calibrated_persons")
    if cached is not None and cached[0] is pe:
        return cached[1]
    margins = build_margins(ctx)
    table = pe if margins is None else dataclasses.replace(pe, data=calibrated_persons(pe.data, margins))
    ctx.shared["calibrated_persons"] = (pe, table)
    return table



def _estimate_indicator(design: SurveyDesign, frame: pd.DataFrame, indicator: ind.Indicator, suppress: bool, kelurahan_design: SurveyDesign | None = None) -> list[pd.DataFrame]:
    """Rows of one indicator: city, kota and their domains from ``design``; kelurahan and kelurahan-by-group
    rows from ``kelurahan_design`` (the RW design; ``design`` when not given)."""
    kelurahan_design = design if kelurahan_design is None else kelurahan_design
    y, universe = indicator.values(frame)
    if indicator.measure == ind.PROPORTION:
        def run(by, d=design):
            return d.prop(y, by=by, where=universe, ci=PROPORTION_CI, suppress=suppress, df="domain")
    else:
        def run(by, d=design):
            return d.mean(y, by=by, where=universe, suppress=suppress, df="domain")
    parts = []
    city = run(None)
    city.insert(0, "area_code", CITY_CODE)
    city.insert(0, "level", "city")
    parts.append(city)
    for level, column in (("kota", "kode_kab_kemendagri"), ("kelurahan", "kode_kemendagri")):
        res = run(column, design if level == "kota" else kelurahan_design).rename(columns={column: "area_code"})
        res["area_code"] = res["area_code"].astype(str)
        res.insert(0, "level", level)
        parts.append(res)
    for var in DOMAIN_VARS:
        if var not in frame.columns or frame[var].isna().all():
            continue
        # the city by group, and each kota and kelurahan by group: "who is left out" at the smallest level the
        # sample supports (small cells are suppressed by the same rule as everything else)
        for area in (None, "kode_kab_kemendagri", "kode_kemendagri"):
            res = run(var if area is None else [area, var], kelurahan_design if area == "kode_kemendagri" else design).rename(columns={var: "domain_value"})
            res["domain_value"] = res["domain_value"].astype(str)
            res.insert(0, "domain_var", var)
            if area is None:
                res.insert(0, "area_code", CITY_CODE)
            else:
                res = res.rename(columns={area: "area_code"})
                res["area_code"] = res["area_code"].astype(str)
                res = res[["area_code", *[c for c in res.columns if c != "area_code"]]]
            res.insert(0, "level", "domain")
            parts.append(res)
    for p in parts:
        p.insert(0, "indicator_id", indicator.indicator_id)
    return parts


def compute(households: pd.DataFrame, persons: pd.DataFrame | None = None, suppress: bool = True, indicator_ids=None,
            margins: PopulationMargins | None = None) -> pd.DataFrame:
    """Direct estimates of the registered indicators (rows as in the ``estimates`` table, plus ``deff``); with
    ``margins`` the person weights are raked to them (``rake_persons``)."""
    frames = {ind.HOUSEHOLD: household_frame(households)}
    if persons is not None and len(persons):
        frames[ind.PERSON] = persons
    designs = {unit: survey_design(f, ind.SOURCE_TABLE[unit]) for unit, f in frames.items()}
    kelurahan_designs = {unit: rw_design(f, ind.SOURCE_TABLE[unit]) if has_kelurahan_stage(f) else designs[unit] for unit, f in frames.items()}
    if margins is not None and ind.PERSON in frames:
        # the raked weights are the same in both designs; each design's variance uses its own stages
        frames[ind.PERSON] = with_calibration_band(frames[ind.PERSON])
        source = ind.SOURCE_TABLE[ind.PERSON]
        designs[ind.PERSON] = rake_persons(survey_design(frames[ind.PERSON], source), margins)
        kelurahan_designs[ind.PERSON] = (rake_persons(rw_design(frames[ind.PERSON], source), margins)
                                         if has_kelurahan_stage(frames[ind.PERSON]) else designs[ind.PERSON])
    parts = []
    for indicator in ind.REGISTRY:
        if indicator_ids is not None and indicator.indicator_id not in indicator_ids:
            continue
        if indicator.unit not in frames:
            continue
        parts.extend(_estimate_indicator(designs[indicator.unit], frames[indicator.unit], indicator, suppress, kelurahan_designs[indicator.unit]))
    out = pd.concat(parts, ignore_index=True)
    for col in ("domain_var", "domain_value"):
        if col not in out:
            out[col] = pd.NA
        out[col] = out[col].astype("string")
    out["area_code"] = out["area_code"].astype("string")
    synthetic = bool(pd.Series(households.get("synthetic", False)).fillna(False).astype(bool).any())
    out["synthetic"] = synthetic
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    reg_order = {i.indicator_id: k for k, i in enumerate(ind.REGISTRY)}
    out = out.assign(_i=out["indicator_id"].map(reg_order), _l=out["level"].map(order))
    out = out.sort_values(["_i", "_l", "area_code", "domain_var", "domain_value"], na_position="first", kind="mergesort")
    return out.drop(columns=["_i", "_l"]).reset_index(drop=True)


AREA_NAME_FIELD = Field("area_name", "Name of the area of the row's code: the kelurahan or kota name from the kelurahan register, DKI Jakarta for 31.")
TABLE_FIELDS = [*FIELDS, AREA_NAME_FIELD]  # the published table: the computed columns, then the area's name


def estimates_table(households: pd.DataFrame, persons: pd.DataFrame | None, sources: list[str], register: pd.DataFrame | None = None,
                    margins: PopulationMargins | None = None) -> Table:
    data = compute(households, persons, suppress=True, margins=margins)[ESTIMATE_COLUMNS]
    data = with_area_name(data, register)
    data["n"] = data["n"].astype("int64")
    data["df"] = data["df"].astype("int64")
    rows_in = len(households) + (0 if persons is None else len(persons))
    synthetic = bool(data["synthetic"].any())
    return Table(
        name="estimates",
        title="Direct survey estimates per indicator, area and population group",
        description=(
            "Design-based (Taylor linearisation) estimates of every indicator for the city, each kota, each sampled "
            "kelurahan and the city by income quintile, education, age group and sex, with SE, 95% CI, CV, n and df. "
            "Suppressed estimates (BPS: n < 30 or RSE > 50%; proportions also the NCHS 2017 standard) are empty."
            + (" Person indicators use weights raked to the Dukcapil 2019 register's kota x sex and kota x age-band "
               "totals, with calibrated SEs." if margins is not None else "")
        ),
        data=data,
        fields=TABLE_FIELDS,
        sources=sources,
        rows_in=rows_in,
        rows_used=rows_in,
        synthetic=synthetic,
    )


def build_margins(ctx) -> PopulationMargins | None:
    """The build's person calibration margins (``dukcapil_margins`` of ``kelurahan_covariates``), or None when the
    covariates were not built: what a later stage that re-estimates persons passes to ``compute(margins=...)``."""
    cov = ctx.tables.get("kelurahan_covariates")
    if cov is None or len(cov.data) == 0:
        return None
    return dukcapil_margins(cov.data)


def build(ctx) -> list[Table]:
    households = ctx.tables.get("survey_households")
    if households is None or len(households.data) == 0:
        ctx.note(STAGE, "no survey table (survey_households): direct estimates not computed")
        return []
    persons = ctx.tables.get("survey_persons")
    sources = sorted(set(households.sources) | set(persons.sources if persons is not None else []))
    reg = ctx.tables.get("wilayah_register")
    margins = build_margins(ctx) if persons is not None else None
    if margins is not None:
        sources = sorted(set(sources) | set(ctx.tables["kelurahan_covariates"].sources))
    table = estimates_table(households.data, None if persons is None else persons.data, sources, None if reg is None else reg.data, margins)
    suppressed = int((table.data["reliability"] == "suppressed").sum())
    ctx.note(STAGE, f"{len(table.data)} direct estimates, {suppressed} suppressed (BPS: n < 30 or RSE > 50%; proportions also the NCHS 2017 standard)")
    if margins is not None:
        ctx.note(STAGE, "person weights raked to the Dukcapil 2019 register's kota x sex and kota x age-band (0-14, 15-24, 25-59, 60+) "
                 "totals (analysis.stats.calibration.rake); person SEs are calibrated linearisation SEs; households keep their design weights")
    else:
        ctx.note(STAGE, "kelurahan_covariates not built: person weights are not calibrated to the Dukcapil register", "warning")
    out = [ind.indicators_table(), table]
    if quantiles.has_spending(households.data):
        frame = household_frame(households.data)
        spend = quantiles.quota_quantile_table(survey_design(frame, ind.SOURCE_TABLE[ind.HOUSEHOLD]), frame, sources, None if reg is None else reg.data)
        ctx.note(STAGE, f"{len(spend.data)} quota-spending quantiles (Woodruff intervals), {int((spend.data['reliability'] == 'suppressed').sum())} suppressed")
        out.append(spend)
    return out


class SurveyInputs(NamedTuple):
    """What the stages after this one (gaps, inequality) work from: the survey tables and the published
    ``estimates``, with the sources and synthetic flag their own tables inherit."""

    households: Table
    persons: Table | None
    estimates: Table
    sources: list[str]
    synthetic: bool


def survey_inputs(ctx, stage: str, what: str) -> SurveyInputs | None:
    """The ``SurveyInputs`` of a later stage, or None (with a warning note naming ``what``) when the survey or
    the estimates were not built."""
    hh = ctx.tables.get("survey_households")
    est = ctx.tables.get("estimates")
    if hh is None or est is None or len(hh.data) == 0:
        ctx.note(stage, f"{what} skipped: survey_households or estimates not built", "warning")
        return None
    pe = stage_persons(ctx)
    sources = sorted(set(hh.sources) | set(est.sources) | (set(pe.sources) if pe is not None else set()))
    return SurveyInputs(hh, pe, est, sources, bool(hh.synthetic or est.synthetic))
