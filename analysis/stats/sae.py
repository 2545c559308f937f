"""Small-area estimates for all 267 kelurahan: the Fay-Herriot area-level model.

Model (Fay & Herriot 1979; Rao & Molina 2015, *Small Area Estimation*, 2nd ed., ch. 6)::

    direct_d = theta_d + e_d,      e_d ~ N(0, psi_d)        (sampling error, psi_d treated as known)
    theta_d  = x_d' beta + u_d,    u_d ~ N(0, sigma2_u)     (area effect)

- ``direct_d`` and its design variance come from the survey (Taylor linearisation, design-based).
- The direct variance is the kelurahan-stage one (``analysis.stats.gaps.kelurahan_stage_se``: the kelurahan's
  RWs centred within the kelurahan). The kota-centred SE of the ``estimates`` table understates a kelurahan's
  sampling variance by about ``1 / (m - 1)`` for ``m`` RWs; fed to this model it made ``psi`` too small, the
  shrinkage too weak and the MSE too small (issue 12: intervals covered 84-91%, true RMSE 0.038 against a
  reported 0.032).
- ``psi_d`` is a *smoothed* sampling variance, not the raw design variance: raw variances of a proportion in a
  small sample are noisy, zero when every sampled person answered alike, and correlated with the estimate. We
  use a design-effect generalised variance function (Wolter 2007, *Introduction to Variance Estimation*,
  ch. 7): ``psi_d = deff * p_k (1 - p_k) / n_d`` where ``deff`` is the median design effect over sampled
  kelurahan with a usable direct variance and ``p_k`` is the direct estimate of the kelurahan's kota (stable,
  and independent of the kelurahan's own estimate).
- ``sigma2_u`` by REML with Fisher scoring (Rao & Molina 2015, sect. 6.1.2), started at the Fay-Herriot
  moment estimator and truncated at zero.
- EBLUP for sampled areas: ``gamma_d direct_d + (1 - gamma_d) x_d' beta``, ``gamma_d = sigma2_u / (sigma2_u +
  psi_d)`` (``kind = "composite"``); MSE by the second-order approximation of Prasad & Rao (1990) with the
  ``g3`` term of the estimator of ``sigma2_u`` actually used: for REML ``g1 + g2 + 2 g3`` with
  ``g3 = psi^2 / (sigma2_u + psi)^3 * 2 / sum_d (sigma2_u + psi_d)^-2`` (Datta & Lahiri 2000; Rao & Molina 2015
  eq. 6.2.17-6.2.19; the ML estimator would need an extra bias term, the FH moment estimator a different
  ``V(sigma2_u)``). It is unbiased to o(1/m) under the model; on the demo survey the intervals cover 95-97% of
  the sampled kelurahan's true rates (``bench/bench_coverage.py``).
- Unsampled areas get the synthetic estimate ``x_d' beta`` with MSE ``sigma2_u + x_d' V(beta) x_d``
  (``kind = "synthetic"``; Rao & Molina 2015, sect. 6.2.3).
- Benchmarking: *ratio benchmarking* (Rao & Molina 2015, sect. 6.3.2) so that the population-weighted mean of
  the 267 kelurahan estimates equals the city's direct estimate. A proportion pushed above 1 by the ratio is
  held at 1 and the ratio recomputed on the others until the constraint holds (a bounded ratio benchmark).
  The MSE is scaled by the square of each area's ratio, which is how the estimate itself was scaled.

The core functions take plain arrays (so they can be checked against samplics' ``EblupAreaModel``); ``build``
wires them to the processed tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from analysis.areas import with_area_name
from analysis.stats import estimates as est_mod
from analysis.stats import gaps as gaps_mod
from analysis.stats import indicators as ind
from analysis.tables import Field, Table

STAGE = "analysis.stats.sae"


@dataclass(frozen=True)
class FayHerriotFit:
    """A fitted Fay-Herriot model: fixed effects, their covariance, the area-effect variance and its variance."""

    beta: np.ndarray
    beta_cov: np.ndarray
    sigma2_u: float
    sigma2_u_var: float  # inverse Fisher information of sigma2_u (REML)
    iterations: int
    converged: bool
    n_areas: int


@dataclass(frozen=True)
class AreaPrediction:
    estimate: np.ndarray
    mse: np.ndarray
    gamma: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    g3: np.ndarray


def _check_inputs(y, X, psi):
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    psi = np.asarray(psi, dtype=float)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or psi.shape != y.shape:
        raise ValueError("Fay-Herriot: y, X and psi must describe the same areas")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)) or not np.all(np.isfinite(psi)):
        raise ValueError("Fay-Herriot: y, X and psi must be finite")
    if np.any(psi <= 0):
        raise ValueError("Fay-Herriot: every sampling variance psi must be strictly positive")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("Fay-Herriot: the covariate matrix is rank deficient")
    if y.shape[0] <= X.shape[1]:
        raise ValueError("Fay-Herriot: fewer areas than covariates")
    return y, X, psi


def _gls(y, X, v):
    """Generalised least squares with V = diag(v): beta and (X'V^-1X)^-1."""
    Xw = X / v[:, None]
    info = X.T @ Xw
    cov = np.linalg.inv(info)
    return cov @ (Xw.T @ y), cov


def fh_moment_sigma2(y, X, psi) -> float:
    """Fay & Herriot (1979) moment estimator of sigma2_u, solved by bisection; 0 when the root is negative.

    Solves ``sum_d (y_d - x_d' beta(s))^2 / (s + psi_d) = m - p`` for ``s`` (Rao & Molina 2015, eq. 6.1.16).
    """
    y, X, psi = _check_inputs(y, X, psi)
    m, p = X.shape

    def f(s):
        beta, _ = _gls(y, X, s + psi)
        r = y - X @ beta
        return float(np.sum(r**2 / (s + psi)) - (m - p))

    if f(0.0) <= 0:
        return 0.0
    hi = max(np.var(y), 1e-12)
    while f(hi) > 0:
        hi *= 2.0
    return float(brentq(f, 0.0, hi, xtol=1e-14))


def fit_fay_herriot(y, X, psi, tol: float = 1e-10, maxiter: int = 200) -> FayHerriotFit:
    """Fit the Fay-Herriot model by REML (Fisher scoring; Rao & Molina 2015, sect. 6.1.2).

    Score and information of the restricted likelihood, with ``P = V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1``::

        s(sigma2) = -1/2 tr(P) + 1/2 y' P P y,      I(sigma2) = 1/2 tr(P P).

    ``X`` includes the intercept column. Convergence when the relative change of sigma2_u is below ``tol``.
    """
    y, X, psi = _check_inputs(y, X, psi)
    m = y.shape[0]
    sigma2 = fh_moment_sigma2(y, X, psi)
    if sigma2 <= 0:
        sigma2 = max(float(np.median(psi)) * 0.1, 1e-12)
    converged = False
    it = 0
    info = np.nan
    for it in range(1, maxiter + 1):  # noqa: B007 (``it`` is reported after the loop)
        v = sigma2 + psi
        Vinv = np.diag(1.0 / v)
        XtVinv = X.T / v
        P = Vinv - XtVinv.T @ np.linalg.solve(XtVinv @ X, XtVinv)
        Py = P @ y
        score = -0.5 * np.trace(P) + 0.5 * float(Py @ Py)
        info = 0.5 * float(np.sum(P * P))
        new = sigma2 + score / info
        if new <= 0:
            # the restricted likelihood is maximised at the boundary: sigma2_u = 0
            new = 0.0
        change = abs(new - sigma2) / max(sigma2, 1e-300)
        sigma2 = new
        if sigma2 == 0.0 or change < tol:
            converged = True
            break
    v = sigma2 + psi
    beta, beta_cov = _gls(y, X, v)
    P_info = 0.5 * float(np.sum(1.0 / v**2))  # asymptotic information used by Prasad-Rao / Datta-Lahiri
    return FayHerriotFit(
        beta=beta,
        beta_cov=beta_cov,
        sigma2_u=float(sigma2),
        sigma2_u_var=1.0 / P_info,
        iterations=it,
        converged=converged,
        n_areas=m,
    )


def predict_sampled(fit: FayHerriotFit, y, X, psi) -> AreaPrediction:
    """EBLUP and its Prasad-Rao MSE for sampled areas (REML: ``g1 + g2 + 2 g3``; Datta & Lahiri 2000).

    ``g1 = gamma psi``; ``g2 = (1-gamma)^2 x'(X'V^-1X)^-1 x``; ``g3 = psi^2 / (sigma2_u + psi)^3 * V(sigma2_u)``
    with ``V(sigma2_u) = 2 / sum_d (sigma2_u + psi_d)^-2``.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    psi = np.asarray(psi, dtype=float)
    v = fit.sigma2_u + psi
    gamma = fit.sigma2_u / v
    synth = X @ fit.beta
    est = gamma * y + (1.0 - gamma) * synth
    g1 = gamma * psi
    g2 = (1.0 - gamma) ** 2 * np.einsum("ij,jk,ik->i", X, fit.beta_cov, X)
    g3 = psi**2 / v**3 * fit.sigma2_u_var
    return AreaPrediction(estimate=est, mse=g1 + g2 + 2.0 * g3, gamma=gamma, g1=g1, g2=g2, g3=g3)


def predict_synthetic(fit: FayHerriotFit, X) -> AreaPrediction:
    """Synthetic estimate ``x' beta`` for unsampled areas, MSE ``sigma2_u + x' V(beta) x``."""
    X = np.asarray(X, dtype=float)
    est = X @ fit.beta
    g2 = np.einsum("ij,jk,ik->i", X, fit.beta_cov, X)
    zeros = np.zeros_like(est)
    return AreaPrediction(estimate=est, mse=fit.sigma2_u + g2, gamma=zeros, g1=zeros + fit.sigma2_u, g2=g2, g3=zeros)


def smoothed_sampling_variance(direct, var, n, p_ref) -> tuple[np.ndarray, float]:
    """Design-effect GVF for a proportion (Wolter 2007, ch. 7): ``psi_d = deff p_ref_d (1 - p_ref_d) / n_d``.

    ``deff`` is the median of ``var_d / (p_d (1-p_d) / n_d)`` over areas with ``0 < p_d < 1``, a positive
    variance and ``n_d >= 2``; it is at least 1 only if the data say so (no floor is imposed). ``p_ref`` is a
    stable reference proportion (the kota's direct estimate); it is kept away from 0 and 1 by half an
    observation so that psi stays positive. Returns ``(psi, deff)``.
    """
    direct = np.asarray(direct, dtype=float)
    var = np.asarray(var, dtype=float)
    n = np.asarray(n, dtype=float)
    p_ref = np.asarray(p_ref, dtype=float)
    srs = direct * (1.0 - direct) / n
    ok = (direct > 0) & (direct < 1) & (var > 0) & (n >= 2) & np.isfinite(var)
    deff = float(np.median(var[ok] / srs[ok])) if ok.any() else 1.0
    p = np.clip(p_ref, 0.5 / n, 1.0 - 0.5 / n)
    return deff * p * (1.0 - p) / n, deff


def ratio_benchmark(estimate, weight, target: float, upper: float | None = 1.0, max_iter: int = 50):
    """Ratio benchmarking (Rao & Molina 2015, sect. 6.3.2), bounded above by ``upper``.

    Scales every estimate by one ratio so that ``sum(weight * est) / sum(weight) == target``. When a scaled value
    would exceed ``upper`` (a proportion above 1), it is held at ``upper`` and the ratio is recomputed on the
    remaining areas. Returns ``(benchmarked, ratio_per_area)``.
    """
    est = np.asarray(estimate, dtype=float)
    w = np.asarray(weight, dtype=float) / np.sum(weight)
    out = est.copy()
    fixed = np.zeros(est.shape, dtype=bool)
    for _ in range(max_iter):
        free_total = float(np.sum(w[~fixed] * est[~fixed]))
        need = target - float(np.sum(w[fixed] * (upper if upper is not None else 0.0)))
        ratio = need / free_total if free_total > 0 else 1.0
        out = np.where(fixed, upper if upper is not None else est, est * ratio)
        if upper is None:
            break
        over = (~fixed) & (out > upper)
        if not over.any():
            break
        fixed |= over
    with np.errstate(divide="ignore", invalid="ignore"):
        per_area = np.where(est > 0, out / est, 1.0)
    return out, per_area


@dataclass(frozen=True)
class ProportionSAE:
    """Fay-Herriot estimates of a proportion for sampled and unsampled areas (before benchmarking)."""

    estimate: np.ndarray  # all areas
    mse: np.ndarray
    gamma: np.ndarray
    kind: np.ndarray  # "composite" | "synthetic"
    psi: np.ndarray  # smoothed sampling variance (NaN for unsampled areas)
    deff: float
    fit: FayHerriotFit


def fay_herriot_proportion(direct, var, n, X, p_ref, sampled, smoothing_rounds: int = 2) -> ProportionSAE:
    """Fay-Herriot for a proportion with a smoothed sampling variance, over all areas.

    ``direct``, ``var``, ``n``: the direct estimate, its design variance and unweighted sample size per area
    (ignored where ``sampled`` is False); ``X``: covariates with intercept for all areas; ``p_ref``: a first
    reference proportion for the variance smoothing (the kota direct estimate). After the first fit the
    reference is replaced by the model's synthetic prediction ``x_d' beta`` (clipped to [0.01, 0.99]) and the
    model refitted (``smoothing_rounds`` fits in all): the kota proportion over- or understates ``p(1-p)``
    where kelurahan differ much within a kota, which biases ``sigma2_u``; the synthetic prediction follows
    the covariates and stays independent of the area's own direct estimate (Rao & Molina 2015, sect. 6.4;
    Wolter 2007, ch. 7).
    """
    direct = np.asarray(direct, dtype=float)
    var = np.asarray(var, dtype=float)
    n = np.asarray(n, dtype=float)
    X = np.asarray(X, dtype=float)
    sampled = np.asarray(sampled, dtype=bool)
    ref = np.asarray(p_ref, dtype=float)[sampled]
    s = sampled
    fit = None
    for _ in range(max(1, smoothing_rounds)):
        psi, deff = smoothed_sampling_variance(direct[s], var[s], n[s], ref)
        fit = fit_fay_herriot(direct[s], X[s], psi)
        ref = np.clip(X[s] @ fit.beta, 0.01, 0.99)
    est = np.full(len(direct), np.nan)
    mse = np.full(len(direct), np.nan)
    gamma = np.zeros(len(direct))
    psi_all = np.full(len(direct), np.nan)
    comp = predict_sampled(fit, direct[s], X[s], psi)
    syn = predict_synthetic(fit, X[~s])
    est[s], mse[s], gamma[s], psi_all[s] = comp.estimate, comp.mse, comp.gamma, psi
    est[~s], mse[~s] = syn.estimate, syn.mse
    kind = np.where(s, "composite", "synthetic")
    return ProportionSAE(estimate=est, mse=mse, gamma=gamma, kind=kind, psi=psi_all, deff=deff, fit=fit)


# --- build stage ---------------------------------------------------------------------------------------------

# Every proportion of the registry (issue 12: it was a hand-picked 8 of the 22 indicators, which is why 14 had
# no small-area estimate). quota_burden, a mean of a ratio, is left out: the binomial variance function and
# the [0, 1] bound of the benchmark are for proportions.
SAE_INDICATORS = tuple(i.indicator_id for i in ind.REGISTRY if i.measure == ind.PROPORTION)
# Dukcapil 2019 register covariates (kelurahan_covariates); density enters on the log scale. Standardised
# before fitting (the fit is invariant to that; it only helps the conditioning of X'V^-1X).
COVARIATES = ("share_adult_no_diploma", "share_adult_tertiary", "share_60plus", "share_0_14", "log_density")
KELURAHAN_STAGE_VARIANCE = True
MIN_SAMPLE = 2  # a kelurahan with fewer respondents in the universe is treated as unsampled
Z95 = 1.959963984540054

FIELDS = [
    Field("indicator_id", "Indicator id (see the indicators table)."),
    Field("kode_kemendagri", "Kelurahan (Kemendagri code); all 267."),
    Field("estimate", "Small-area estimate (Fay-Herriot EBLUP, ratio-benchmarked to the city's direct estimate); MODELLED, not a direct survey estimate.", unit="proportion"),
    Field("mse", "Estimated mean squared error: Prasad-Rao (g1 + g2 + 2 g3) for sampled kelurahan, sigma2_u + x'V(beta)x for unsampled; scaled by the benchmark ratio squared."),
    Field("rmse", "Root MSE."),
    Field("ci_low", "Lower limit of estimate - 1.96 rmse, clipped to [0, 1] (model-based interval)."),
    Field("ci_high", "Upper limit of estimate + 1.96 rmse, clipped to [0, 1]."),
    Field("kind", "composite (sampled kelurahan: weighted mix of the direct and the model estimate) or synthetic (unsampled: model only)."),
    Field("direct_estimate", "Direct design-based estimate; empty when unsampled or suppressed (BPS: n < 30 or RSE > 50%; proportions also NCHS: effective n < 30 or CI too wide)."),
    Field("direct_se", "SE of the direct estimate as the model uses it: the kelurahan-stage SE (its RWs centred within the kelurahan, analysis.stats.gaps.kelurahan_stage_se), larger than the estimates table's kota-centred SE; empty when unsampled or suppressed."),
    Field("gamma", "Shrinkage weight of the direct estimate, sigma2_u / (sigma2_u + psi); 0 for synthetic."),
    Field("n", "Unweighted respondents of the kelurahan in the indicator's universe (0 when unsampled)."),
    Field("psi", "Smoothed sampling variance used by the model (design-effect GVF); empty when unsampled."),
    Field("estimate_unbenchmarked", "EBLUP before benchmarking."),
    Field("benchmark_ratio", "Ratio applied by the benchmarking (1 = unchanged)."),
    Field("sigma2_u", "Estimated area-effect variance (REML) of the indicator's model."),
    Field("deff", "Design effect used in the variance smoothing (median over sampled kelurahan)."),
]
TABLE_FIELDS = [*FIELDS, Field("area_name", "Name of the kelurahan (kode_kemendagri) from the kelurahan register.")]  # the published table: the computed columns, then the name


def covariate_matrix(covariates: pd.DataFrame, columns=COVARIATES) -> tuple[np.ndarray, list[str]]:
    """Intercept + standardised covariates for every row of ``covariates``; names of the columns used."""
    cov = covariates.copy()
    if "log_density" in columns and "log_density" not in cov:
        cov["log_density"] = np.log(pd.to_numeric(cov["density"], errors="coerce").clip(lower=1.0))
    used = [c for c in columns if c in cov and pd.to_numeric(cov[c], errors="coerce").notna().all()]
    Z = cov[used].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    sd = Z.std(axis=0)
    keep = sd > 0
    Z = (Z[:, keep] - Z[:, keep].mean(axis=0)) / sd[keep]
    return np.column_stack([np.ones(len(cov)), Z]), [c for c, k in zip(used, keep) if k]


def compute(direct: pd.DataFrame, covariates: pd.DataFrame, published: pd.DataFrame | None = None, indicator_ids=SAE_INDICATORS,
            kota_of: dict | None = None) -> pd.DataFrame:
    """Small-area estimates for every kelurahan of ``covariates`` and every indicator.

    ``direct``: unsuppressed direct estimates (``analysis.stats.estimates.compute(..., suppress=False)``) with
    city, kota and kelurahan rows; ``published``: the published ``estimates`` table, whose reliability decides
    whether the direct estimate is shown next to the small-area one; ``kota_of``: kelurahan code -> Kemendagri
    kota code (from ``wilayah_register``; without it the dotted Kemendagri code's own kota part is used).
    """
    cov = covariates.sort_values("kode_kemendagri").reset_index(drop=True)
    codes = cov["kode_kemendagri"].astype(str).to_numpy()
    kota_of = np.array([(kota_of or {}).get(c, c[:5]) for c in codes], dtype=object)
    X, _ = covariate_matrix(cov)
    parts = []
    for iid in indicator_ids:
        indicator = ind.get(iid)
        d = direct[(direct["indicator_id"] == iid) & direct["domain_var"].isna()]
        if d.empty:
            continue
        city = d.loc[d["level"] == "city", "estimate"]
        if city.empty or not np.isfinite(city.iloc[0]):
            continue
        kel = d[d["level"] == "kelurahan"].set_index("area_code")
        kota = d[d["level"] == "kota"].set_index("area_code")["estimate"]
        est = kel["estimate"].reindex(codes).to_numpy(dtype=float)
        se = kel["se"].reindex(codes).to_numpy(dtype=float)
        n = kel["n"].reindex(codes).fillna(0).to_numpy(dtype=float)
        sampled = (n >= MIN_SAMPLE) & np.isfinite(est) & np.isfinite(se)
        if sampled.sum() <= X.shape[1] + 2:
            continue
        p_ref = pd.Series(kota_of).map(kota).fillna(city.iloc[0]).to_numpy(dtype=float)
        res = fay_herriot_proportion(est, se**2, np.maximum(n, 1), X, p_ref, sampled)
        bounded = np.clip(res.estimate, 0.0, 1.0)
        weight_col = "population" if indicator.unit == ind.PERSON else "households"
        weight = pd.to_numeric(cov[weight_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        bench, ratio = ratio_benchmark(bounded, weight, float(city.iloc[0]))
        mse = res.mse * ratio**2
        rmse = np.sqrt(mse)
        shown_est, shown_se = est.copy(), se.copy()
        if published is not None:
            pub = published[(published["indicator_id"] == iid) & (published["level"] == "kelurahan")].set_index("area_code")
            ok = pub["reliability"].reindex(codes).isin(["ok", "flag"]).to_numpy()
        else:
            ok = np.ones(len(codes), dtype=bool)
        shown_est[~(ok & sampled)] = np.nan
        shown_se[~(ok & sampled)] = np.nan
        parts.append(pd.DataFrame({
            "indicator_id": iid,
            "kode_kemendagri": codes,
            "estimate": bench,
            "mse": mse,
            "rmse": rmse,
            "ci_low": np.clip(bench - Z95 * rmse, 0, 1),
            "ci_high": np.clip(bench + Z95 * rmse, 0, 1),
            "kind": res.kind,
            "direct_estimate": shown_est,
            "direct_se": shown_se,
            "gamma": res.gamma,
            "n": n.astype(np.int64),
            "psi": res.psi,
            "estimate_unbenchmarked": res.estimate,
            "benchmark_ratio": ratio,
            "sigma2_u": res.fit.sigma2_u,
            "deff": res.deff,
        }))
    if not parts:
        return pd.DataFrame(columns=[f.name for f in FIELDS])
    return pd.concat(parts, ignore_index=True)[[f.name for f in FIELDS]]


def build(ctx) -> list[Table]:
    hh = ctx.tables.get("survey_households")
    cov = ctx.tables.get("kelurahan_covariates")
    published = ctx.tables.get("estimates")
    if hh is None or cov is None or published is None or len(hh.data) == 0:
        missing = [n for n, t in (("survey_households", hh), ("kelurahan_covariates", cov), ("estimates", published)) if t is None]
        ctx.note(STAGE, f"small-area estimates skipped: missing {', '.join(missing) or 'survey rows'}", "warning")
        return []
    pe = est_mod.stage_persons(ctx)  # the raked person weights of the published estimates
    direct = est_mod.compute(hh.data, None if pe is None else pe.data, suppress=False, indicator_ids=SAE_INDICATORS)
    direct = gaps_mod.kelurahan_stage_se(direct, hh.data, None if pe is None else pe.data)
    reg = ctx.tables.get("wilayah_register")
    kota_of = dict(zip(reg.data["kode_kemendagri"], reg.data["kode_kab_kemendagri"])) if reg is not None else None
    data = compute(direct, cov.data, published.data, kota_of=kota_of)
    synthetic = bool(hh.synthetic or published.synthetic)
    sources = sorted(set(hh.sources) | set(cov.sources) | (set(pe.sources) if pe is not None else set()))
    n_ind = data["indicator_id"].nunique()
    comp = int((data["kind"] == "composite").sum())
    ctx.note(STAGE, f"Fay-Herriot small-area estimates: {n_ind} indicators x {data['kode_kemendagri'].nunique()} kelurahan ({comp} composite rows, the rest synthetic), benchmarked to the city")
    tables = []
    gaps_table = ctx.tables.get("gaps")
    if gaps_table is not None and len(data):
        both = with_area_name(modelled_gaps(data, gaps_table.data, published.data), None if reg is None else reg.data, "kode_kemendagri")
        added = int((both["method"] == gaps_mod.MODELLED).sum())
        ctx.note(STAGE, f"{added} modelled gaps (small-area estimate minus the reference) added to gaps for kelurahan without a publishable direct gap")
        tables.append(Table(gaps_table.name, gaps_table.title, gaps_table.description + " Kelurahan without a publishable direct "
                            "estimate have a MODELLED gap (method = modelled) from their small-area estimate.",
                            both, gaps_table.fields, sorted(set(gaps_table.sources) | set(sources)), synthetic=gaps_table.synthetic))
    return [Table(
        "sae_estimates",
        "Small-area estimates for all kelurahan (modelled)" + (" (synthetic demo survey)" if synthetic else ""),
        "Fay-Herriot area-level EBLUP of each main indicator on Dukcapil 2019 kelurahan covariates, with MSE; "
        "composite for sampled and synthetic for unsampled kelurahan; ratio-benchmarked to the city's direct estimate.",
        with_area_name(data, None if reg is None else reg.data, "kode_kemendagri"), TABLE_FIELDS, sources, synthetic=synthetic,
    )] + tables


def modelled_gaps(sae: pd.DataFrame, gaps: pd.DataFrame, published: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``gaps`` with a MODELLED row (``method = "modelled"``) for each kelurahan x indicator x reference whose
    direct gap is missing (unsampled) or suppressed, replacing the suppressed direct row.

    ``diff = sae_d - ref`` with ``ref`` the reference's published direct estimate; ``se = sqrt(MSE_d +
    Var(ref))``, a normal interval (the small-area MSE is a model-based mean squared error, Rao & Molina 2015
    sec. 6.2; its interval is normal). The covariance of the two is left out: a kelurahan's small-area estimate
    and the city's direct estimate are positively correlated (benchmarking, and the kelurahan's sample is part
    of the city's), so leaving it out overstates the SE slightly. A modelled gap is suppressed when the
    reference is; otherwise its reliability is that of the reference (the small-area estimate has no RSE rule).
    """
    from scipy import stats

    ref = published[published["domain_var"].isna() & published["level"].isin(["kota", "city"])]
    ref = ref.set_index(["indicator_id", "level", "area_code"])
    direct_ok = gaps[gaps["reliability"] != "suppressed"].set_index(["indicator_id", "kode_kemendagri", "vs"]).index
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for vs, lvl in (("kota", "kota"), ("city", "city")):
        s = sae[["indicator_id", "kode_kemendagri", "estimate", "mse", "n"]].copy()
        s["reference_code"] = s["kode_kemendagri"].str[:5] if vs == "kota" else "31"
        key = pd.MultiIndex.from_arrays([s["indicator_id"], pd.Series(lvl, index=s.index), s["reference_code"]])
        r_est = ref["estimate"].reindex(key).to_numpy(dtype=float)
        r_se = ref["se"].reindex(key).to_numpy(dtype=float)
        r_rel = ref["reliability"].reindex(key).fillna("suppressed").to_numpy()
        have = pd.MultiIndex.from_arrays([s["indicator_id"], s["kode_kemendagri"], pd.Series(vs, index=s.index)]).isin(direct_ok)
        diff = s["estimate"].to_numpy(dtype=float) - r_est
        se = np.sqrt(s["mse"].to_numpy(dtype=float) + r_se**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.norm.sf(np.abs(diff / se))
        out = pd.DataFrame({
            "indicator_id": s["indicator_id"], "kode_kemendagri": s["kode_kemendagri"], "vs": vs,
            "reference_code": s["reference_code"], "method": gaps_mod.MODELLED, "diff": diff, "se": se,
            "ci_low": diff - z * se, "ci_high": diff + z * se, "p_value": p, "n": s["n"].astype(np.int64),
            "df": np.nan, "reliability": r_rel,
        })[~have]
        sup = out["reliability"] == "suppressed"
        out.loc[sup, ["diff", "se", "ci_low", "ci_high", "p_value"]] = np.nan
        rows.append(out)
    modelled = pd.concat(rows, ignore_index=True)
    replaced = pd.MultiIndex.from_frame(gaps[["indicator_id", "kode_kemendagri", "vs"]]).isin(
        pd.MultiIndex.from_frame(modelled[["indicator_id", "kode_kemendagri", "vs"]]))
    return pd.concat([gaps[~replaced], modelled], ignore_index=True)[gaps_mod.GAP_COLUMNS]
