"""Gaps: each kelurahan (or any kampung domain) against its kota and against the city, with SE, CI and p-value.

A kelurahan is *part of* its kota and of the city, so its estimate and the reference estimate come from the
same sample and are positively correlated: treating them as two independent samples
(``se = sqrt(se_d^2 + se_U^2)``) overstates the SE of the difference. The contrast is estimated correctly by
linearising both ratio estimators on the one sample (Lohr 2022, *Sampling*, 3rd ed., sec. 10.x on domain
comparisons; Wolter 2007, ch. 6)::

    diff = r_d - r_U,   r_A = sum_{i in A} w_i y_i / sum_{i in A} w_i
    z_i  = w_i 1[i in d] (y_i - r_d) / W_d  -  w_i 1[i in U] (y_i - r_U) / W_U

and ``Var(diff)`` is the design variance of the total of ``z`` (PSU totals centred within strata, fpc,
``analysis.stats.design.PsuAggregator``). Units outside the indicator's universe contribute zero; every
PSU of the design is kept. CI and p-value use t with the design df (PSUs - strata).

A gap is published only when both sides are published: a row whose kelurahan (or reference) estimate is
suppressed in ``estimates`` (n < 30 or RSE > 50%) keeps its row with ``diff``, ``se``, CI and p-value empty and
``reliability = "suppressed"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.areas import CITY_CODE
from analysis.stats import indicators as ind
from analysis.stats import reliability
from analysis.stats.design import PsuAggregator
from analysis.stats.estimates import survey_inputs
from analysis.tables import Field, Table

STAGE = "analysis.stats.gaps"


def _ratio_scores(agg: PsuAggregator, y, w, valid, group, n_groups):
    """Ratio means per group and the PSU totals of their linearised scores ``w (y - r_g) / W_g``."""
    g = np.where(valid, group, -1)
    ok = g >= 0
    W = np.bincount(g[ok], weights=w[ok], minlength=n_groups)
    T = np.bincount(g[ok], weights=w[ok] * y[ok], minlength=n_groups)
    n = np.bincount(g[ok], minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = T / W
        z = np.zeros(len(y))
        z[ok] = w[ok] * (y[ok] - r[g[ok]]) / W[g[ok]]
    return r, n, agg.totals(z, g, n_groups)


def contrast(frame: pd.DataFrame, y, domain_mask, population_mask=None, level: float = 0.95) -> dict:
    """Difference between a domain's mean of ``y`` and that of a population containing it (default: everyone).

    For an NGO's kampung (any boolean mask over the survey rows) against its kelurahan, kota or the city.
    ``y``: float array with NaN outside the indicator's universe. Returns diff, se, ci, p-value, n and df.
    """
    agg = PsuAggregator(frame)
    w = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    valid = ~np.isnan(y)
    d = np.asarray(domain_mask, dtype=bool)
    u = np.ones(len(y), dtype=bool) if population_mask is None else np.asarray(population_mask, dtype=bool)
    yy = np.where(valid, y, 0.0)
    rd, nd, Td = _ratio_scores(agg, yy, w, valid & d, np.zeros(len(y), dtype=np.int64), 1)
    ru, nu, Tu = _ratio_scores(agg, yy, w, valid & u, np.zeros(len(y), dtype=np.int64), 1)
    diff = float(rd[0] - ru[0])
    se = float(np.sqrt(agg.variances(Td - Tu)[0]))
    t = stats.t.ppf(0.5 + level / 2, agg.df) if agg.df > 0 else np.nan
    p = float(2 * stats.t.sf(abs(diff / se), agg.df)) if se > 0 and agg.df > 0 else np.nan
    return {"diff": diff, "se": se, "ci_low": diff - t * se, "ci_high": diff + t * se, "p_value": p,
            "estimate": float(rd[0]), "reference": float(ru[0]), "n": int(nd[0]), "n_reference": int(nu[0]), "df": agg.df}


def indicator_gaps(frame: pd.DataFrame, indicator: ind.Indicator, agg: PsuAggregator | None = None, level: float = 0.95) -> pd.DataFrame:
    """Every sampled kelurahan of ``frame`` against its kota and the city, for one indicator (not yet suppressed)."""
    agg = agg or PsuAggregator(frame)
    y, universe = indicator.values(frame)
    valid = universe & ~np.isnan(y)
    yy = np.where(valid, y, 0.0)
    w = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=float)
    kel_code, kel_uniq = agg.codes("kode_kemendagri")
    kota_code, kota_uniq = agg.codes("kode_kab_kemendagri")
    D, K = len(kel_uniq), len(kota_uniq)
    r_d, n_d, T_d = _ratio_scores(agg, yy, w, valid, kel_code, D)
    r_k, n_k, T_k = _ratio_scores(agg, yy, w, valid, kota_code, K)
    r_c, n_c, T_c = _ratio_scores(agg, yy, w, valid, np.zeros(len(frame), dtype=np.int64), 1)
    kota_of = pd.Series(kota_code).groupby(kel_code).first().reindex(range(D)).to_numpy()
    keep = n_d > 0
    t = stats.t.ppf(0.5 + level / 2, agg.df) if agg.df > 0 else np.nan
    parts = []
    for vs, ref_est, ref_T, ref_code in (
        ("kota", r_k[kota_of], T_k[:, kota_of], np.asarray(kota_uniq, dtype=object)[kota_of]),
        ("city", np.repeat(r_c, D), np.repeat(T_c, D, axis=1), np.full(D, CITY_CODE, dtype=object)),
    ):
        diff = r_d - ref_est
        se = np.sqrt(agg.variances((T_d - ref_T)[:, keep]))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(se > 0, 2 * stats.t.sf(np.abs(diff[keep] / se), agg.df), np.nan)
        parts.append(pd.DataFrame({
            "indicator_id": indicator.indicator_id,
            "kode_kemendagri": np.asarray(kel_uniq, dtype=object)[keep],
            "vs": vs,
            "reference_code": ref_code[keep],
            "diff": diff[keep],
            "se": se,
            "ci_low": diff[keep] - t * se,
            "ci_high": diff[keep] + t * se,
            "p_value": p,
            "n": n_d[keep].astype(np.int64),
            "df": np.int64(agg.df),
        }))
    return pd.concat(parts, ignore_index=True)


GAP_COLUMNS = ["indicator_id", "kode_kemendagri", "vs", "reference_code", "diff", "se", "ci_low", "ci_high", "p_value", "n", "df", "reliability"]

FIELDS = [
    Field("indicator_id", "Indicator id (see the indicators table)."),
    Field("kode_kemendagri", "Kelurahan (Kemendagri code)."),
    Field("vs", "Reference the kelurahan is compared with: kota (its own kota) or city (DKI Jakarta)."),
    Field("reference_code", "Kemendagri code of the reference: the kota (31.71) or '31' for the city."),
    Field("diff", "Kelurahan estimate minus reference estimate (proportion points on the 0-1 scale, or the indicator's unit); empty when either side is suppressed.", unit="difference"),
    Field("se", "Design-based SE of the difference, linearising both estimates on the same sample (the kelurahan is part of the reference); empty when suppressed."),
    Field("ci_low", "Lower 95% confidence limit (t with design df); empty when suppressed."),
    Field("ci_high", "Upper 95% confidence limit; empty when suppressed."),
    Field("p_value", "Two-sided p-value of no difference (t with design df); empty when suppressed."),
    Field("n", "Unweighted respondents of the kelurahan in the indicator's universe."),
    Field("df", "Design degrees of freedom (PSUs - strata)."),
    Field("reliability", "ok; flag when either estimate is flagged (RSE 25-50%); suppressed when either is suppressed."),
]


def _worst(a: pd.Series, b: pd.Series) -> pd.Series:
    rank = {reliability.OK: 0, reliability.FLAG: 1, reliability.SUPPRESSED: 2}
    ra = a.map(rank).fillna(2)
    rb = b.map(rank).fillna(2)
    inverse = {v: k for k, v in rank.items()}
    return np.maximum(ra, rb).map(inverse)


def apply_suppression(gaps: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Reliability of each gap = the worse of its two sides in ``estimates``; suppressed gaps lose their numbers."""
    est = estimates[estimates["domain_var"].isna()] if "domain_var" in estimates else estimates
    rel = est.set_index(["indicator_id", "level", "area_code"])["reliability"]
    area = pd.MultiIndex.from_arrays([gaps["indicator_id"], pd.Series("kelurahan", index=gaps.index), gaps["kode_kemendagri"]])
    ref_level = np.where(gaps["vs"] == "city", "city", "kota")
    ref = pd.MultiIndex.from_arrays([gaps["indicator_id"], ref_level, gaps["reference_code"]])
    a = pd.Series(rel.reindex(area).to_numpy(), index=gaps.index)
    b = pd.Series(rel.reindex(ref).to_numpy(), index=gaps.index)
    out = gaps.copy()
    out["reliability"] = _worst(a, b).to_numpy()
    mask = out["reliability"] == reliability.SUPPRESSED
    for col in ("diff", "se", "ci_low", "ci_high", "p_value"):
        out[col] = out[col].astype("float64")
        out.loc[mask, col] = np.nan
    return out



def compute(households: pd.DataFrame, persons: pd.DataFrame | None, estimates: pd.DataFrame | None) -> pd.DataFrame:
    frames = {ind.HOUSEHOLD: households}
    if persons is not None and len(persons):
        frames[ind.PERSON] = persons
    aggs = {unit: PsuAggregator(f) for unit, f in frames.items()}
    parts = [indicator_gaps(frames[i.unit], i, aggs[i.unit]) for i in ind.REGISTRY if i.unit in frames]
    gaps = pd.concat(parts, ignore_index=True)
    if estimates is not None:
        gaps = apply_suppression(gaps, estimates)
    else:
        gaps["reliability"] = reliability.SUPPRESSED
        for col in ("diff", "se", "ci_low", "ci_high", "p_value"):
            gaps[col] = np.nan
    return gaps[GAP_COLUMNS]


def build(ctx) -> list[Table]:
    """Table ``gaps`` (the inequality tables have their own stage, ``analysis.stats.inequality``)."""
    inputs = survey_inputs(ctx, STAGE, "gaps")
    if inputs is None:
        return []
    pe = inputs.persons
    data = compute(inputs.households.data, None if pe is None else pe.data, inputs.estimates.data)
    suppressed = int((data["reliability"] == reliability.SUPPRESSED).sum())
    ctx.note(STAGE, f"{len(data)} kelurahan gaps (vs kota and city), {suppressed} suppressed because a side is suppressed")
    return [Table(
        "gaps",
        "Kelurahan gaps from their kota and the city" + (" (synthetic demo survey)" if inputs.synthetic else ""),
        "Difference of each sampled kelurahan's estimate from its kota's and from the city's, for every indicator, "
        "with a design-based SE that accounts for the kelurahan being part of the reference.",
        data, FIELDS, inputs.sources, synthetic=inputs.synthetic,
    )]
