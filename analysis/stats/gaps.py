"""Gaps: each kelurahan (or any kampung domain) against its kota and against the city, with SE, CI and p-value.

A kelurahan is *part of* its kota and of the city, so its estimate and the reference estimate come from the
same sample and are positively correlated: treating them as two independent samples
(``se = sqrt(se_d^2 + se_U^2)``) overstates the SE of the difference. The contrast is estimated correctly by
linearising both ratio estimators on the one sample (Lohr 2022, *Sampling*, 3rd ed., sec. 10.x on domain
comparisons; Wolter 2007, ch. 6)::

    diff = r_d - r_U,   r_A = sum_{i in A} w_i y_i / sum_{i in A} w_i
    z_i  = w_i 1[i in d] (y_i - r_d) / W_d  -  w_i 1[i in U] (y_i - r_U) / W_U

and ``Var(diff)`` is the design variance of the total of ``z``. Units outside the indicator's universe
contribute zero; every PSU of the design is kept. Two things make the interval honest (issue 12: with t on the
design's ~325 df and the kota-centred variance it covered the demo survey's true gaps in 80-83% of cases):

- **The kelurahan's own variance.** The kelurahan is a sampled first-stage unit and its gap's truth is its own
  rate: its RWs are centred at their own mean with ``m / (m - 1)`` (the second-stage variance given the
  kelurahan; ``_contrast_components``), the other PSUs keep the ultimate-cluster form within their strata.
- **The kelurahan's few degrees of freedom.** The CI is the MOVER interval (Newcombe 1998; Zou & Donner 2008:
  ``mover``) built from an interval for each side with its own domain df (2-7 for a kelurahan) on its published
  SE and effective sample size: the Wilson interval (``wilson_interval``; ``SIDE_INTERVAL``), the score
  counterpart of the Korn-Graubard interval the dashboard publishes for each side, and the two sides'
  correlation from the joint linearisation, so a kelurahan whose own interval holds the city value is not
  "significant" because of a t quantile with 325 df. The p-value is a t test of ``diff / se`` with the
  Satterthwaite (1946) df of the two variance components (``satterthwaite_df``), reported as ``df``.
- **The reference's own design.** The reference side (kota or city) has the variance and domain df of its
  published estimate, the kelurahan-stage design of ``estimates.survey_design`` (between-kelurahan variance of
  the kota stratum, PPS without replacement by Brewer's approximation; certainty kelurahan by their RWs): the
  gap's reference is the whole kota, not only its sampled kelurahan, so its first-stage variance belongs in the
  gap as it does in the published kota interval (and in the modelled gaps, which take the published reference
  SE). The covariance of the two sides is the joint RW linearisation's (the kelurahan's own persons, sampled by
  RW, are the only ones in both; ``indicator_gaps``, ``REFERENCE_VARIANCE``). On the demo survey
  (``bench/bench_coverage.py``, seeds 1-12), against the whole synthetic kota and city (every kelurahan of the
  frame, ``coverage.reference_truth``), the gap intervals cover 96.7% / 96.3% (vs kota / city; 96.2% / 96.3%
  with the RW design's reference variance; 97.0% / 96.4% with the first stage with replacement)
  (``bench/RESULTS.md``).

Kelurahan without a publishable direct estimate (suppressed or unsampled) get a **modelled** gap
(``method = "modelled"``), appended by the small-area stage (``analysis.stats.sae.modelled_gaps``): the
small-area estimate minus the reference's direct estimate, with variance ``MSE + Var(reference)``.

A gap is published only when both sides are published: a row whose kelurahan (or reference) estimate is
suppressed in ``estimates`` (n < 30 or RSE > 50%) keeps its row with ``diff``, ``se``, CI and p-value empty and
``reliability = "suppressed"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis.areas import CITY_CODE, with_area_name
from analysis.stats import estimates as est_mod
from analysis.stats import indicators as ind
from analysis.stats import reliability
from analysis.stats.design import PsuAggregator, korn_graubard_interval, logit_interval
from analysis.stats.estimates import survey_inputs
from analysis.tables import Field, Table

STAGE = "analysis.stats.gaps"
DIRECT, MODELLED = "direct", "modelled"
DF_METHOD = "satterthwaite"
# The two sides' intervals MOVER combines, measured on the demo survey (``bench/bench_coverage.py``, seeds 1-16,
# vs kota / vs city): "wilson" (default): the Wilson interval of each side on its published (ultimate-cluster) SE,
# effective n and domain df (``wilson_interval``; 96.5% / 96.1%); "published": each side's published interval,
# Korn-Graubard on the same SE and df (97.2% / 97.1%: Clopper-Pearson is conservative by construction); "logit":
# logit intervals on the kelurahan-stage SE (94.2% / 93.3%: after NCHS suppression the rule keeps the kelurahan
# whose variance came out small); "korn-graubard": Korn-Graubard on the kelurahan-stage SE (98.5%). Logit
# intervals on the published SE covered 91% / 89%.
SIDE_INTERVAL = "wilson"
SIDE_INTERVALS = ("wilson", "published", "logit", "korn-graubard")
# The reference (kota or city) side's variance in the MOVER interval: "rw", the RW-as-PSU (ultimate-cluster)
# variance of the kota strata; "two_stage", the published kota / city SE of the kelurahan-stage design
# (``estimates.survey_design``: between-kelurahan variance, certainty kelurahan by their RWs) with its domain df,
# the contrast's covariance kept from the joint RW linearisation (``indicator_gaps``). Seeds 1-12
# (``bench/bench_coverage.py``): kota gaps 97.5% (width 0.215) two-stage, 96.9% (0.204) RW; city gaps 96.4 / 96.3%.
RW, TWO_STAGE = "rw", "two_stage"
REFERENCE_VARIANCES = (RW, TWO_STAGE)
REFERENCE_VARIANCE = TWO_STAGE


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

    The t interval and test use the degrees of freedom of the rest of this module, not the design's: the
    Satterthwaite (1946) combination (``satterthwaite_df``) of the variance contributed by the PSUs holding the
    domain's respondents (with the domain df, those PSUs minus their strata; Korn & Graubard 1999 sec. 5.2) and
    that of every other PSU. A domain with no df (all its respondents in one PSU per stratum) gets no interval.
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
    contributions = agg.contributions(Td - Tu)[:, 0]
    se = float(np.sqrt(max(contributions.sum(), 0.0)))
    present, df_domain = _domain_psus(agg, np.where(valid & d, 0, -1), valid & d, 1)
    V1 = np.array([contributions[present[:, 0]].sum()])
    V2 = np.array([contributions[~present[:, 0]].sum()])
    df = float(satterthwaite_df(V1, V2, df_domain, agg.df)[0]) if agg.df > 0 else np.nan
    ok = np.isfinite(df) and df >= 1
    t = stats.t.ppf(0.5 + level / 2, df) if ok else np.nan
    p = float(2 * stats.t.sf(abs(diff / se), df)) if se > 0 and ok else np.nan
    return {"diff": diff, "se": se, "ci_low": diff - t * se, "ci_high": diff + t * se, "p_value": p,
            "estimate": float(rd[0]), "reference": float(ru[0]), "n": int(nd[0]), "n_reference": int(nu[0]), "df": df}


def reference_two_stage(frame: pd.DataFrame, indicator: ind.Indicator, kota_uniq) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The kota (in ``kota_uniq`` order) and city variances and domain df of the published estimates' design
    (``estimates.survey_design``, kelurahan then RW), or None when the frame has no kelurahan stage."""
    if not est_mod.has_kelurahan_stage(frame):
        return None
    design = est_mod.survey_design(frame, ind.SOURCE_TABLE[indicator.unit])
    y, universe = indicator.values(frame)
    run = design.prop if indicator.measure == ind.PROPORTION else design.mean
    kota = run(y, by="kode_kab_kemendagri", where=universe, suppress=False, df="domain")
    kota = kota.set_index(kota["kode_kab_kemendagri"].astype(str)).reindex(np.asarray(kota_uniq).astype(str))
    city = run(y, where=universe, suppress=False, df="domain")
    return (kota["se"].to_numpy(dtype=float) ** 2, kota["df"].to_numpy(dtype=float),
            city["se"].to_numpy(dtype=float) ** 2, city["df"].to_numpy(dtype=float))


def indicator_gaps(frame: pd.DataFrame, indicator: ind.Indicator, agg: PsuAggregator | None = None, level: float = 0.95,
                   reference_variance: str | None = None) -> pd.DataFrame:
    """Every sampled kelurahan of ``frame`` against its kota and the city, for one indicator (not yet suppressed).

    ``reference_variance`` (default ``REFERENCE_VARIANCE``): ``"rw"`` the reference side's variance is the RW
    design's; ``"two_stage"`` it is the published kota / city variance of the kelurahan-stage design, ``V_U2``, and
    the contrast keeps the covariance of the joint RW linearisation, ``C = (V_d + V_U - V_diff) / 2`` (the
    kelurahan's persons are the only ones in both estimates, and its RWs are second-stage units): ``Var(diff) =
    V_d + V_U2 - 2 C``, the added between-kelurahan variance ``V_U2 - V_U`` counted with the other PSUs' component
    ``V2`` for the df, and the MOVER correlation ``C / sqrt(V_d V_U2)``. Without a kelurahan stage in the frame
    both are the RW design's."""
    reference_variance = REFERENCE_VARIANCE if reference_variance is None else reference_variance
    if reference_variance not in REFERENCE_VARIANCES:
        raise ValueError(f"reference_variance must be one of {REFERENCE_VARIANCES}, got {reference_variance!r}")
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
    _, df_d = _domain_psus(agg, kel_code, valid, D)
    _, df_k = _domain_psus(agg, kota_code, valid, K)
    _, df_c = _domain_psus(agg, np.zeros(len(frame), dtype=np.int64), valid, 1)
    proportion = indicator.measure == ind.PROPORTION
    kel_of_psu = _psu_group(agg, kel_code)
    var_d = np.sum(_contrast_components(agg, T_d[:, keep], kel_of_psu, np.flatnonzero(keep)), axis=0)
    # the kelurahan side: its published (ultimate-cluster) SE for "wilson" / "published", else the kelurahan-stage SE
    se_side = np.sqrt(agg.variances(T_d[:, keep]) if SIDE_INTERVAL in ("wilson", "published") else var_d)
    lo_d, hi_d = _interval(r_d[keep], se_side, n_d[keep], df_d[keep], level, proportion)
    staged = reference_two_stage(frame, indicator, kota_uniq) if reference_variance == TWO_STAGE else None
    parts = []
    for vs, ref_est, ref_T, ref_code, ref_n, ref_df, ref_var2 in (
        ("kota", r_k[kota_of], T_k[:, kota_of], np.asarray(kota_uniq, dtype=object)[kota_of], n_k[kota_of], df_k[kota_of],
         None if staged is None else (staged[0][kota_of], staged[1][kota_of])),
        ("city", np.repeat(r_c, D), np.repeat(T_c, D, axis=1), np.full(D, CITY_CODE, dtype=object), np.repeat(n_c, D), np.repeat(df_c, D),
         None if staged is None else (np.repeat(staged[2], D), np.repeat(staged[3], D))),
    ):
        diff = r_d[keep] - ref_est[keep]
        V1, V2 = _contrast_components(agg, (T_d - ref_T)[:, keep], kel_of_psu, np.flatnonzero(keep))
        var = V1 + V2
        var_u = agg.variances(ref_T[:, keep])
        ref_df_k = ref_df[keep]
        if ref_var2 is not None:
            cov = (var_d + var_u - var) / 2.0
            extra = np.clip(np.nan_to_num(ref_var2[0][keep] - var_u), 0.0, None)
            var_u, V2, ref_df_k = var_u + extra, V2 + extra, np.where(np.isfinite(ref_var2[1][keep]), ref_var2[1][keep], ref_df_k)
            var = np.clip(var_d + var_u - 2.0 * cov, 0.0, None)
        se = np.sqrt(var)
        lo_u, hi_u = _interval(ref_est[keep], np.sqrt(var_u), ref_n[keep], ref_df_k, level, proportion)
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.clip(np.nan_to_num((var_d + var_u - var) / (2.0 * np.sqrt(var_d * var_u))), -1.0, 1.0)
        ci_low, ci_high = mover(r_d[keep], lo_d, hi_d, ref_est[keep], lo_u, hi_u, corr)
        df = satterthwaite_df(V1, V2, df_d[keep], agg.df, DF_METHOD)
        ok = df_d[keep] >= 1

        def interval_at(lv):  # the interval above at confidence level lv (used at once, inside this iteration)
            ld, hd = _interval(r_d[keep], se_side, n_d[keep], df_d[keep], lv, proportion)
            lu, hu = _interval(ref_est[keep], np.sqrt(var_u), ref_n[keep], ref_df_k, lv, proportion)  # noqa: B023
            return mover(r_d[keep], ld, hd, ref_est[keep], lu, hu, corr)  # noqa: B023

        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where((se > 0) & ok, mover_p_value(diff, interval_at), np.nan)
        parts.append(pd.DataFrame({
            "indicator_id": indicator.indicator_id,
            "kode_kemendagri": np.asarray(kel_uniq, dtype=object)[keep],
            "vs": vs,
            "reference_code": ref_code[keep],
            "diff": diff,
            "se": se,
            "ci_low": np.where(ok, ci_low, np.nan),
            "ci_high": np.where(ok, ci_high, np.nan),
            "p_value": p,
            "n": n_d[keep].astype(np.int64),
            "df": df,
            "method": DIRECT,
        }))
    return pd.concat(parts, ignore_index=True)


def _interval(est, se, n, df, level, proportion):
    """Each side's own interval with its domain df, by ``SIDE_INTERVAL``: for a proportion the Wilson interval on
    the effective sample size (``wilson_interval``), the Korn-Graubard interval ("published", "korn-graubard") or
    the logit interval (R ``svyciprop(method = "logit")``; Lumley 2010 sec. 2.4.2) with the t quantile of the
    domain df and Korn-Graubard where the estimated variance is 0 (every sampled unit alike: the logit interval
    would have zero width); for a mean the t interval."""
    df = np.maximum(np.asarray(df, dtype=float), 1.0)
    se = np.asarray(se, dtype=float)
    t = stats.t.ppf(0.5 + level / 2, df)
    if not proportion:
        return est - t * se, est + t * se
    if SIDE_INTERVAL in ("published", "korn-graubard"):
        return korn_graubard_interval(est, se, n, df, level)
    if SIDE_INTERVAL == "wilson":
        return wilson_interval(est, se, n, df, level)
    lo, hi = logit_interval(est, se, t)
    klo, khi = korn_graubard_interval(est, se, n, df, level)
    zero = ~(se > 0) | (np.asarray(est) <= 0) | (np.asarray(est) >= 1)
    return np.where(zero, klo, lo), np.where(zero, khi, hi)


def wilson_interval(p, se, n, df, level: float = 0.95):
    """Wilson (1927) score interval of a proportion on the design-effective sample size, with the degrees-of-freedom
    adjustment Korn & Graubard (1998) apply to theirs: ``n* = p (1 - p) / var * (z / t(df))^2``, capped at ``n``::

        (p + z^2 / (2 n*) +- z sqrt(p (1 - p) / n* + z^2 / (4 n*^2))) / (1 + z^2 / n*),   z the normal quantile

    Kott (2017, *Survey Methodology* 43(2), "A note on Wilson coverage intervals for proportions estimated from
    complex samples") gives its justification for complex samples; Franco, Little, Louis & Slud (2019, *J. Survey
    Stat. Methodol.* 7(3), 334-364) recommend it among seven alternatives to the Wald interval. It is the score
    counterpart of Korn-Graubard (a Clopper-Pearson interval, conservative by construction) on the design-effective
    n and df; for a simple random sample (``var = p (1 - p) / n``, infinite df) it is Wilson's interval, and with zero
    estimated variance (``n* = n``) the Wilson interval of ``n`` units."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    var = np.asarray(se, dtype=float) ** 2
    q = 0.5 + level / 2
    z = stats.norm.ppf(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = z / stats.t.ppf(q, np.maximum(np.asarray(df, dtype=float), 1))
        n_eff = np.where(var > 0, p * (1 - p) / var, n) * ratio**2
        n_eff = np.minimum(np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, n), n)
        z2n = z * z / n_eff
        centre = (p + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(p * (1 - p) / n_eff + z2n / (4 * n_eff)) / (1 + z2n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def mover_p_value(diff, interval_at, iterations: int = 50) -> np.ndarray:
    """The two-sided p-value of no difference that agrees with the published interval by construction: one minus
    the largest confidence level whose interval ``interval_at(level) -> (low, high)`` (the MOVER interval of
    ``mover`` from the sides' intervals at that level) excludes zero. This is test inversion (the p-value as the
    smallest alpha at which the interval excludes the null; e.g. Agresti & Coull 1998 on inverting score
    intervals): the interval widens with the level, so a bisection on the level finds it to 2^-50. A t test
    on the Satterthwaite df could disagree with the asymmetric MOVER interval about zero in a borderline case;
    this cannot. A difference of exactly zero gets 1."""
    diff = np.asarray(diff, dtype=float)
    excluding = np.zeros_like(diff)  # a level whose interval excludes zero (level 0: the point itself)
    including = np.ones_like(diff)  # a level whose interval holds zero
    for _ in range(iterations):
        mid = (excluding + including) / 2
        low, high = interval_at(mid)
        out = (np.asarray(low) > 0) | (np.asarray(high) < 0)
        excluding = np.where(out, mid, excluding)
        including = np.where(out, including, mid)
    p = 1.0 - (excluding + including) / 2
    return np.where(diff == 0, 1.0, np.where(np.isfinite(diff), p, np.nan))


def mover(p1, l1, u1, p2, l2, u2, corr):
    """Interval for ``p1 - p2`` from each estimate's own interval (MOVER, the method of variance estimates
    recovery: Newcombe 1998, *Statistics in Medicine* 17, 873-890 and 2635-2650 for correlated estimates;
    Zou & Donner 2008, *Statistics in Medicine* 27, 1693-1702), with the correlation of the two estimates::

        L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2 - 2 r (p1 - l1)(u2 - p2))
        U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2 - 2 r (u1 - p1)(p2 - l2))

    It inherits the asymmetry, the [0, 1] bound and the small-df width of the Korn-Graubard interval of each
    side, so a kelurahan whose own interval contains the city value is not a "significant" gap because of a
    t quantile with hundreds of df."""
    a, b = p1 - l1, u2 - p2
    c, e = u1 - p1, p2 - l2
    lo = (p1 - p2) - np.sqrt(np.clip(a * a + b * b - 2 * corr * a * b, 0.0, None))
    hi = (p1 - p2) + np.sqrt(np.clip(c * c + e * e - 2 * corr * c * e, 0.0, None))
    return lo, hi


def _domain_psus(agg: PsuAggregator, group: np.ndarray, valid: np.ndarray, n_groups: int):
    """(n_psu, n_groups) mask of the PSUs holding a valid row of each group, and each group's domain df
    (those PSUs minus their strata; Korn & Graubard 1999 sec. 5.2, as ``estimates`` counts it)."""
    ok = valid & (group >= 0)
    present = np.zeros((agg.n_psu, n_groups), dtype=bool)
    present[agg.code[ok], group[ok]] = True
    h, _ = pd.factorize(pd.Series(agg.strata), sort=True)
    strata_of = np.zeros((int(h.max()) + 1 if len(h) else 0, n_groups), dtype=bool)
    for j in range(n_groups):
        strata_of[h[present[:, j]], j] = True
    return present, present.sum(axis=0) - strata_of.sum(axis=0)


def kelurahan_stage_se(direct: pd.DataFrame, households: pd.DataFrame, persons: pd.DataFrame | None) -> pd.DataFrame:
    """``direct`` (rows of ``analysis.stats.estimates.compute``) with the SE of its kelurahan rows replaced by the
    kelurahan-stage SE (the kelurahan's RWs centred within the kelurahan, ``_contrast_components``): the sampling
    variance of a kelurahan's estimate of its own rate, which the small-area model's sampling variances need
    (the kota-centred SE understates it by about ``1 / (m - 1)`` for ``m`` RWs)."""
    frames = {ind.HOUSEHOLD: households}
    if persons is not None and len(persons):
        frames[ind.PERSON] = persons
    out = direct.copy()
    kel_rows = out["level"] == "kelurahan"
    for iid in out.loc[kel_rows, "indicator_id"].unique():
        indicator = ind.get(iid)
        frame = frames.get(indicator.unit)
        if frame is None:
            continue
        agg = PsuAggregator(frame)
        y, universe = indicator.values(frame)
        valid = universe & ~np.isnan(y)
        w = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=float)
        kel_code, kel_uniq = agg.codes("kode_kemendagri")
        _, n_d, T_d = _ratio_scores(agg, np.where(valid, y, 0.0), w, valid, kel_code, len(kel_uniq))
        keep = np.flatnonzero(n_d > 0)
        V1, V2 = _contrast_components(agg, T_d[:, keep], _psu_group(agg, kel_code), keep)
        se = pd.Series(np.sqrt(V1 + V2), index=np.asarray(kel_uniq, dtype=object)[keep].astype(str))
        rows = kel_rows & (out["indicator_id"] == iid)
        out.loc[rows, "se"] = out.loc[rows, "area_code"].astype(str).map(se).to_numpy(dtype=float)
    return out


def _psu_group(agg: PsuAggregator, group: np.ndarray) -> np.ndarray | None:
    """The group (kelurahan) of each PSU when every PSU lies in one group, else None."""
    ok = group >= 0
    first = np.full(agg.n_psu, -1, dtype=np.int64)
    first[agg.code[ok]] = group[ok]
    lo = np.full(agg.n_psu, np.iinfo(np.int64).max)
    np.minimum.at(lo, agg.code[ok], group[ok])
    hi = np.full(agg.n_psu, -1)
    np.maximum.at(hi, agg.code[ok], group[ok])
    mixed = (hi >= 0) & (lo != hi)
    return None if mixed.any() else first


def _contrast_components(agg: PsuAggregator, Z: np.ndarray, kel_of_psu: np.ndarray | None, kel_index: np.ndarray):
    """Variance of a kelurahan-minus-reference contrast (PSU totals ``Z``, one column per kelurahan
    ``kel_index[j]``) as two components: the kelurahan's own PSUs and all the others.

    The kelurahan is a sampled first-stage unit of a two-stage design (kelurahan, then RWs): its rate is a
    property of that kelurahan, so its part of the variance is the *second-stage* variance between its own
    sampled RWs, centred at their mean with ``m / (m - 1)`` for its ``m`` RWs (Sarndal, Swensson & Wretman 1992,
    sec. 4.3, the variance conditional on the first-stage sample; Rao & Molina 2015 sec. 2.4 on direct domain
    estimators of sampled areas). Treating the RWs as PSUs of the kota stratum instead centres them at the kota
    mean with ``n_h / (n_h - 1) ~ 1``, which understates a kelurahan's variance by about ``1 / (m - 1)``
    (a third for three RWs; measured 1.4 on the demo survey). The other PSUs keep the ultimate-cluster form
    within their strata (with the fpc), so the reference's between-kelurahan variance stays in.

    Returns ``(V1, V2)``; without a kelurahan for every PSU (PSUs spanning kelurahan) ``V1 = 0`` and ``V2`` is the
    ultimate-cluster variance of the whole design.
    """
    Z = np.asarray(Z, dtype=float)
    if kel_of_psu is None:
        return np.zeros(Z.shape[1]), agg.variances(Z)
    st = agg.layout.structure
    H, P = st.n_strata, agg.n_psu
    hs = st.psu_stratum
    inside = kel_of_psu[:, None] == np.asarray(kel_index)[None, :]  # (P, k)
    m = inside.sum(axis=0).astype(float)
    Zin = np.where(inside, Z, 0.0)
    mean_in = Zin.sum(axis=0) / np.maximum(m, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        V1 = np.where(m > 1, m / (m - 1) * np.where(inside, (Z - mean_in) ** 2, 0.0).sum(axis=0), 0.0)
    incidence = sparse.csr_matrix((np.ones(P), (hs, np.arange(P))), shape=(H, P))
    Zout = np.where(inside, 0.0, Z)
    S1 = np.asarray(incidence @ Zout)
    S2 = np.asarray(incidence @ (Zout * Zout))
    n_out = np.asarray(incidence @ (~inside).astype(float))
    f_h = np.where(st.n_h > 1, 1.0 - st.scale_h * (st.n_h - 1.0) / st.n_h, 1.0 - st.scale_h)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = (1.0 - f_h)[:, None] * n_out / (n_out - 1.0) * (S2 - S1 * S1 / n_out)
    V2 = np.where(n_out > 1, term, 0.0).sum(axis=0)
    return np.clip(V1, 0.0, None), np.clip(V2, 0.0, None)


def satterthwaite_df(V1: np.ndarray, V2: np.ndarray, df_domain: np.ndarray, df_design: int, method: str = "satterthwaite") -> np.ndarray:
    """Degrees of freedom of a kelurahan-minus-reference contrast whose variance is ``V1`` (the kelurahan's own
    PSUs, with its domain df ``k_1``) plus ``V2`` (every other PSU, with the rest of the design's df ``k_2``).

    ``"satterthwaite"``: ``df = (V1 + V2)^2 / (V1^2 / k_1 + V2^2 / k_2)`` (Satterthwaite 1946), between ``k_1``
    and the design df and close to ``k_1`` when the kelurahan side dominates, as it does for a kelurahan sampled
    in a few RWs (Korn & Graubard 1999, sec. 5.2). ``"domain"``: ``k_1``. ``"design"``: PSUs - strata, as before
    issue 12 (82% coverage on the demo survey).
    """
    df_domain = np.asarray(df_domain, dtype=float)
    if method == "design":
        return np.full(len(df_domain), float(df_design))
    k1 = np.where(df_domain >= 1, df_domain, np.nan)
    if method == "domain":
        return k1
    k2 = np.maximum(df_design - df_domain, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (V1 + V2) ** 2 / (V1**2 / k1 + V2**2 / k2)
    df = np.where(V1 + V2 > 0, df, k1)
    return np.clip(df, k1, float(df_design))


GAP_COLUMNS = ["indicator_id", "kode_kemendagri", "vs", "reference_code", "method", "diff", "se", "ci_low", "ci_high", "p_value", "n", "df", "reliability"]

FIELDS = [
    Field("indicator_id", "Indicator id (see the indicators table)."),
    Field("kode_kemendagri", "Kelurahan (Kemendagri code)."),
    Field("vs", "Reference the kelurahan is compared with: kota (its own kota) or city (DKI Jakarta)."),
    Field("reference_code", "Kemendagri code of the reference: the kota (31.71) or '31' for the city."),
    Field("method", "direct (both sides design-based estimates) or modelled (the kelurahan side is its small-area estimate, MODELLED; for kelurahan without a publishable direct estimate)."),
    Field("diff", "Kelurahan estimate minus reference estimate (proportion points on the 0-1 scale, or the indicator's unit); empty when either side is suppressed.", unit="difference"),
    Field("se", "SE of the difference: design-based, linearising both estimates on the same sample (the kelurahan is part of the reference; its RWs centred within the kelurahan; the reference's variance that of its published estimate, kelurahan-stage design), or sqrt(MSE + Var(reference)) when modelled; empty when suppressed."),
    Field("ci_low", "Lower 95% confidence limit: direct gaps by MOVER from the two sides' Wilson intervals (effective sample size and domain df, as the published Korn-Graubard intervals) and their correlation; modelled gaps normal with sqrt(MSE + Var(reference)); empty when suppressed."),
    Field("ci_high", "Upper 95% confidence limit; empty when suppressed."),
    Field("p_value", "Two-sided p-value of no difference: for direct gaps one minus the largest confidence level whose MOVER interval excludes zero (so p < 0.05 exactly when the 95% interval excludes zero), for modelled gaps normal; empty when suppressed."),
    Field("n", "Unweighted respondents of the kelurahan in the indicator's universe."),
    Field("df", "Degrees of freedom of the difference: Satterthwaite combination of the kelurahan's domain df and the rest of the design's; empty for modelled gaps."),
    Field("reliability", "ok; flag when either estimate is flagged (RSE 25-50%); suppressed when either is suppressed."),
]
TABLE_FIELDS = [*FIELDS, Field("area_name", "Name of the kelurahan (kode_kemendagri) from the kelurahan register.")]  # the published table: the computed columns, then the name


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



def compute(households: pd.DataFrame, persons: pd.DataFrame | None, estimates: pd.DataFrame | None, indicator_ids=None,
            reference_variance: str | None = None) -> pd.DataFrame:
    """Gaps of every registered indicator (``indicator_gaps``; ``reference_variance`` as there), suppressed as
    their sides are in ``estimates``."""
    frames = {ind.HOUSEHOLD: households}
    if persons is not None and len(persons):
        frames[ind.PERSON] = persons
    aggs = {unit: PsuAggregator(f) for unit, f in frames.items()}
    parts = [indicator_gaps(frames[i.unit], i, aggs[i.unit], reference_variance=reference_variance) for i in ind.REGISTRY
             if i.unit in frames and (indicator_ids is None or i.indicator_id in indicator_ids)]
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
    reg = ctx.tables.get("wilayah_register")
    data = with_area_name(data, None if reg is None else reg.data, "kode_kemendagri")
    return [Table(
        "gaps",
        "Kelurahan gaps from their kota and the city" + (" (synthetic demo survey)" if inputs.synthetic else ""),
        "Difference of each sampled kelurahan's estimate from its kota's and from the city's, for every indicator, "
        "with a design-based SE that accounts for the kelurahan being part of the reference.",
        data, TABLE_FIELDS, inputs.sources, synthetic=inputs.synthetic,
    )]
