"""Build stage ``analysis.stats.estimates``: direct design-based estimates of every registered indicator.

For each indicator of ``analysis.stats.indicators.REGISTRY`` it estimates, from the survey tables written by
the survey stage (``survey_households``, ``survey_persons``; docs/ARTEFACTS.md):

- the city (``level="city"``, ``area_code="31"``),
- each kota (``level="kota"``, ``area_code`` = ``kode_kab_kemendagri``),
- each sampled kelurahan (``level="kelurahan"``, ``area_code`` = ``kode_kemendagri``),
- the city, each kota and each kelurahan by ``income_quintile``, ``education``, ``age_group`` and ``sex``
  (``level="domain"``, ``area_code`` the city, kota or kelurahan).

Every one of these is a domain of the one city-wide design (strata, PSUs, weights, fpc of the sample), so
standard errors keep every PSU (Lohr 2022 sec. 4.2). Households are classified by their respondent's
education, age group and sex. Degrees of freedom are counted within the domain (PSUs holding domain members
minus their strata; Korn & Graubard 1999 sec. 5.2): a kelurahan sampled in four RWs has 3, not the design's
hundreds. Proportions carry the Korn-Graubard (1998) interval (Clopper-Pearson on the design-effective sample
size, always inside [0, 1], the NCHS standard for proportions), means a t interval. On the synthetic demo
survey the kelurahan intervals cover the known true rates in about 98% of cases, where logit intervals with
design df covered 83% (``tests/stats/test_estimates.py``). Estimates that fail the BPS reliability rule
(``analysis.stats.reliability``) are written with estimate, SE, CI and CV all empty.

``compute(households, persons, suppress=False)`` returns the same rows with every number, for internal use
by the small-area stage (a Fay-Herriot model needs the direct estimate and its variance even where the
estimate itself is not publishable). It is never written to ``data/processed``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.areas import CITY_CODE, with_area_name
from analysis.stats import indicators as ind
from analysis.stats import quantiles
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
    Field("reliability", "ok; flag (RSE 25-50%: use with caution); suppressed (n < 30 or RSE > 50%: not published)."),
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


def survey_design(frame: pd.DataFrame, source: str) -> SurveyDesign:
    fpc = "fpc_psu" if "fpc_psu" in frame.columns and frame["fpc_psu"].notna().any() else None
    return SurveyDesign(frame, "weight", strata="stratum", psu="psu", fpc=fpc, source=source)


def _estimate_indicator(design: SurveyDesign, frame: pd.DataFrame, indicator: ind.Indicator, suppress: bool) -> list[pd.DataFrame]:
    y, universe = indicator.values(frame)
    if indicator.measure == ind.PROPORTION:
        def run(by):
            return design.prop(y, by=by, where=universe, ci=PROPORTION_CI, suppress=suppress, df="domain")
    else:
        def run(by):
            return design.mean(y, by=by, where=universe, suppress=suppress, df="domain")
    parts = []
    city = run(None)
    city.insert(0, "area_code", CITY_CODE)
    city.insert(0, "level", "city")
    parts.append(city)
    for level, column in (("kota", "kode_kab_kemendagri"), ("kelurahan", "kode_kemendagri")):
        res = run(column).rename(columns={column: "area_code"})
        res["area_code"] = res["area_code"].astype(str)
        res.insert(0, "level", level)
        parts.append(res)
    for var in DOMAIN_VARS:
        if var not in frame.columns or frame[var].isna().all():
            continue
        # the city by group, and each kota and kelurahan by group: "who is left out" at the smallest level the
        # sample supports (small cells are suppressed by the same rule as everything else)
        for area in (None, "kode_kab_kemendagri", "kode_kemendagri"):
            res = run(var if area is None else [area, var]).rename(columns={var: "domain_value"})
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


def compute(households: pd.DataFrame, persons: pd.DataFrame | None = None, suppress: bool = True, indicator_ids=None) -> pd.DataFrame:
    """Direct estimates of the registered indicators (rows as in the ``estimates`` table, plus ``deff``)."""
    frames = {ind.HOUSEHOLD: household_frame(households)}
    if persons is not None and len(persons):
        frames[ind.PERSON] = persons
    designs = {unit: survey_design(f, ind.SOURCE_TABLE[unit]) for unit, f in frames.items()}
    parts = []
    for indicator in ind.REGISTRY:
        if indicator_ids is not None and indicator.indicator_id not in indicator_ids:
            continue
        if indicator.unit not in frames:
            continue
        parts.extend(_estimate_indicator(designs[indicator.unit], frames[indicator.unit], indicator, suppress))
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


def estimates_table(households: pd.DataFrame, persons: pd.DataFrame | None, sources: list[str], register: pd.DataFrame | None = None) -> Table:
    data = compute(households, persons, suppress=True)[ESTIMATE_COLUMNS]
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
            "Suppressed estimates (n < 30 or RSE > 50%) are empty."
        ),
        data=data,
        fields=TABLE_FIELDS,
        sources=sources,
        rows_in=rows_in,
        rows_used=rows_in,
        synthetic=synthetic,
    )


def build(ctx) -> list[Table]:
    households = ctx.tables.get("survey_households")
    if households is None or len(households.data) == 0:
        ctx.note(STAGE, "no survey table (survey_households): direct estimates not computed")
        return []
    persons = ctx.tables.get("survey_persons")
    sources = sorted(set(households.sources) | set(persons.sources if persons is not None else []))
    reg = ctx.tables.get("wilayah_register")
    table = estimates_table(households.data, None if persons is None else persons.data, sources, None if reg is None else reg.data)
    suppressed = int((table.data["reliability"] == "suppressed").sum())
    ctx.note(STAGE, f"{len(table.data)} direct estimates, {suppressed} suppressed (n < 30 or RSE > 50%)")
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
    pe = ctx.tables.get("survey_persons")
    sources = sorted(set(hh.sources) | set(est.sources) | (set(pe.sources) if pe is not None else set()))
    return SurveyInputs(hh, pe, est, sources, bool(hh.synthetic or est.synthetic))
