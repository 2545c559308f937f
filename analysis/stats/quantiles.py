"""Quantile tables of the build: monthly mobile-data (quota) spending, median and quartiles, for the city and
each kota, with Woodruff (1952) confidence intervals (``SurveyDesign.quantile``).

The universe is the households that buy mobile data: ``quota_spend_rp > 0`` (the survey records 0 for a
household without mobile data, ``analysis.survey.schema``). A kota is a domain of the one city-wide design (all
PSUs kept, Lohr 2022 sec. 4.2) with its own degrees of freedom (PSUs holding its households minus their
strata), as R ``svyby`` gives ``svyquantile``. The quantile is R's (``qrule = "math"``); the interval is
Woodruff's original one, centred on the probability ``p`` (``centre="p"``, as SAS PROC SURVEYMEANS), not R's
centring on the estimated share at or below the estimate: spending is reported in steps of Rp 5,000, so many
households share each quartile's value and R's interval then never reaches below the estimate. On the demo
generator at the build's size (4,000 households, 80 kelurahan, seeds 301-312) R's centring covered the true
quartiles in 92.1% of 252 intervals (the city's in 83%), centring on ``p`` in 97.6% with a slightly narrower mean
width (``analysis.stats.coverage.quantile_run``). The SE is derived from the interval's width,
``(upper - lower) / (2 t)`` (Dorfman & Valliant 1993). Estimates failing the BPS rule (n < 30 or RSE > 50%,
``analysis.stats.reliability``) are written empty. The table is written by the ``analysis.stats.estimates``
stage beside ``estimates``, and is SYNTHETIC whenever the survey is the generated demo.
"""

from __future__ import annotations

import pandas as pd

from analysis.areas import CITY_CODE, with_area_name
from analysis.stats.design import SurveyDesign
from analysis.tables import Field, Table

TABLE = "quota_spend_quantiles"
VARIABLE = "quota_spend_rp"
PROBABILITIES = (0.25, 0.5, 0.75)
LEVEL = 0.95
CENTRE = "p"  # Woodruff (1952) centring; see the module docstring for why not R's
COLUMNS = ["variable", "level", "area_code", "quantile", "estimate", "se", "ci_low", "ci_high", "cv", "n", "df", "reliability", "synthetic"]

FIELDS = [
    Field("variable", "Survey variable: quota_spend_rp, a household's monthly spending on mobile data quota (Rp)."),
    Field("level", "city or kota."),
    Field("area_code", "Kemendagri code of the area: '31' for the city, '31.71' for a kota."),
    Field("quantile", "Probability of the quantile: 0.25 (lower quartile), 0.5 (median), 0.75 (upper quartile).", unit="proportion"),
    Field("estimate", "Weighted quantile of monthly quota spending among households buying mobile data (R svyquantile, qrule 'math'); empty when suppressed.", unit="Rp"),
    Field("se", "Standard error derived from the Woodruff interval: (ci_high - ci_low) / (2 t); empty when suppressed.", unit="Rp"),
    Field("ci_low", "Lower 95% Woodruff (1952) confidence limit (interval centred on the probability, as SAS); empty when suppressed.", unit="Rp"),
    Field("ci_high", "Upper 95% Woodruff (1952) confidence limit; empty when suppressed.", unit="Rp"),
    Field("cv", "Coefficient of variation se / estimate; empty when suppressed."),
    Field("n", "Unweighted number of households buying mobile data in the area."),
    Field("df", "Degrees of freedom of the area: PSUs holding its households minus their strata."),
    Field("reliability", "ok; flag (RSE 25-50%); suppressed (n < 30 or RSE > 50%: not published)."),
    Field("synthetic", "True when the survey is the project's generated demo survey, not real respondents."),
]
TABLE_FIELDS = [*FIELDS, Field("area_name", "Name of the area: the kota name from the kelurahan register, DKI Jakarta for 31.")]


def spending_quantiles(design: SurveyDesign, frame: pd.DataFrame, variable: str = VARIABLE, q=PROBABILITIES,
                       level: float = LEVEL, suppress: bool = True, centre: str = CENTRE) -> pd.DataFrame:
    """Quantiles of ``variable`` among rows with a positive value, for the city and each kota (column
    ``kode_kab_kemendagri``) of ``frame`` (the frame the ``design`` was built on)."""
    values = pd.to_numeric(frame[variable], errors="coerce")
    buyers = (values > 0).fillna(False).to_numpy(dtype=bool)
    city = design.quantile(variable, q=q, where=buyers, level=level, suppress=suppress, centre=centre)
    city.insert(0, "area_code", CITY_CODE)
    city.insert(0, "level", "city")
    kota = design.quantile(variable, q=q, by="kode_kab_kemendagri", where=buyers, level=level, suppress=suppress, centre=centre)
    kota = kota.rename(columns={"kode_kab_kemendagri": "area_code"})
    kota["area_code"] = kota["area_code"].astype(str)
    kota.insert(0, "level", "kota")
    out = pd.concat([city, kota], ignore_index=True)
    out.insert(0, "variable", variable)
    out["area_code"] = out["area_code"].astype("string")
    return out


def quota_quantile_table(design: SurveyDesign, households: pd.DataFrame, sources: list[str], register: pd.DataFrame | None = None) -> Table:
    """The published ``quota_spend_quantiles`` table (see the module docstring)."""
    synthetic = bool(pd.Series(households.get("synthetic", False)).fillna(False).astype(bool).any())
    data = spending_quantiles(design, households).assign(synthetic=synthetic)[COLUMNS]
    data = with_area_name(data, register)
    data["n"] = data["n"].astype("int64")
    data["df"] = data["df"].astype("int64")
    return Table(
        name=TABLE,
        title="Monthly mobile-data spending: median and quartiles per area",
        description=(
            "Design-based median and quartiles of households' monthly spending on mobile data quota (Rp), among "
            "households buying mobile data, for the city and each kota, with 95% Woodruff (1952) confidence intervals "
            "centred on the quantile's probability (as SAS) and the SE derived from their width, n and the area's df. "
            "Suppressed estimates (n < 30 or RSE > 50%) are empty."
        ),
        data=data,
        fields=TABLE_FIELDS,
        sources=sources,
        rows_in=len(households),
        rows_used=len(households),
        synthetic=synthetic,
    )


def has_spending(households: pd.DataFrame) -> bool:
    """Does the household table carry the spending variable with at least one positive value."""
    return VARIABLE in households.columns and bool((pd.to_numeric(households[VARIABLE], errors="coerce") > 0).any())

