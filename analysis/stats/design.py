"""Design-based estimation: means, proportions and totals with Taylor-linearised standard errors.

The estimator is the one every survey package uses for a stratified multi-stage sample analysed as
*ultimate clusters* (Wolter 2007, *Introduction to Variance Estimation*, 2nd ed., ch. 6; Lohr 2022,
*Sampling: Design and Analysis*, 3rd ed., sec. 9.1; Lumley 2010, *Complex Surveys*, sec. 2.2 and 3.2):

- point estimates are Horvitz-Thompson / Hajek: ``t = sum w y``, ``mean = sum w y / sum w`` (a ratio);
- each estimate is linearised into per-unit scores ``z_i`` (for a total ``w_i y_i``; for a mean
  ``w_i (y_i - mean) / sum w``), the scores are summed to PSU totals ``Z_hi`` and the variance is the
  with-replacement between-PSU variance within strata,
  ``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (Z_hi - Zbar_h)^2``,
  with the optional finite population correction ``f_h = n_h / N_h`` of the first stage;
- with an fpc at every stage of a multistage design (``psu=["a", "b"], fpc=["f1", "f2"]``) the later stages'
  without-replacement variance is added, each scaled by the earlier stages' sampling fractions, as R's
  ``svydesign(ids=~a+b, fpc=~f1+f2)`` (Sarndal, Swensson & Wretman 1992 sec. 4.3-4.4; Bellhouse 1985's
  recursion; ``design_structure``). A stratum taken with certainty (f = 1) has no first-stage variance and is
  never a lonely PSU; its later stages still contribute;
- degrees of freedom are ``number of PSUs - number of strata``; confidence intervals are
  ``estimate +- t(df, 1 - alpha/2) * se``, and for proportions a logit interval (as R's
  ``svyciprop(method="logit")``) or the Korn-Graubard (1998) interval can be chosen instead; proportion
  intervals always stay within [0, 1]. ``df="domain"`` counts the degrees of freedom within each domain
  (PSUs holding domain members minus their strata; Korn & Graubard 1999 sec. 5.2) for small domains.

**Domains are subpopulations, never subsets** (Lohr 2022 sec. 4.2 and 10.x; Lumley 2010 sec. 2.3.1): a domain
estimate keeps every PSU of the design; units outside the domain (or with a missing value) contribute a zero
score. Subsetting the data instead drops PSUs that happen to hold no domain member and understates the
variance; ``tests/stats/test_design.py`` shows the difference.

PSU identifiers are treated as nested within strata (R ``svydesign(..., nest=TRUE)``). ``lonely_psu`` says what
to do with a stratum holding a single PSU, with the same names and meaning as R ``options(survey.lonely.psu)``:

- ``"adjust"`` (default): centre the lonely PSU's total at the grand mean of all PSU totals instead of the
  (undefined) stratum mean, a conservative choice; for means and proportions the grand mean of the scores
  is zero, so this equals R exactly;
- ``"remove"`` / ``"certainty"``: the stratum contributes no variance (certainty PSU);
- ``"average"``: the variance is scaled up by (number of strata) / (strata that are not lonely: more than one
  PSU, or a certainty stratum), as R's ``onestage``;
- ``"fail"``: raise ``InputError("lonely_psu")``.

Estimators that sum their scores to PSU totals themselves (the access models' score equations, the gaps'
domain contrasts, the concentration index) take the frame's PSUs from ``psu_layout`` and the variance of the
PSU totals from ``PsuLayout.covariance`` or ``PsuAggregator``; ``design_structure`` / ``DesignStructure`` is the
linearisation covariance structure (PSU codes, strata, per-stratum factors) they all share.

Everything is vectorised with ``numpy.bincount`` over integer codes: domain estimates for many domains cost one
pass over the data (a 1,000,000-person survey by five domain variables takes seconds; see ``bench/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis.errors import InputError
from analysis.stats import reliability

LONELY_PSU_OPTIONS = ("adjust", "remove", "certainty", "average", "fail")
CI_METHODS = ("wald", "logit", "korn-graubard")
DF_METHODS = ("design", "domain")
QUANTILE_CENTRES = ("estimate", "p")  # Woodruff interval centred on R's m = F(qhat), or on p (Woodruff 1952, SAS)
_DENSE_LIMIT = 20_000_000  # domains x PSUs below which PSU totals are accumulated densely
RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "cv", "n", "df", "deff", "reliability"]


# --- the design structure: strata, PSUs, fpc ----------------------------------------------------------------


@dataclass(frozen=True)
class DesignStructure:
    """The linearisation covariance structure of a design: integer-coded PSU of every row, stratum of every
    PSU, and the per-stratum factors of the ultimate-cluster variance (Wolter 2007, eq. 6.2.2)
    ``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (Z_hi - Zbar_h)^2``, with the ``lonely_psu`` rule.

    Built by ``design_structure``; ``covariance`` gives the variance of totals of unit scores, and the fields
    let a caller that aggregates PSU totals itself (``PsuAggregator``) apply the very same centring and factors.
    """

    psu: np.ndarray  # (n,) PSU code 0..P-1 of each row
    psu_stratum: np.ndarray  # (P,) stratum code 0..H-1 of each PSU
    n_h: np.ndarray  # (H,) number of sampled PSUs per stratum
    scale_h: np.ndarray  # (H,) (1 - f_h) n_h / (n_h - 1); (1 - f_h) for a lonely PSU; 0 for a certainty stratum
    lonely_psu: str
    later: tuple = ()  # StageStructure of stages 2, 3, ... of a multistage without-replacement design
    psu_scale: np.ndarray | None = None  # (P,) per-PSU factors of a PPS first stage (``pps="brewer"``), else None

    @property
    def scale_of_psu(self) -> np.ndarray:
        """(P,) each PSU's factor of the first-stage term: ``scale_h`` of its stratum, or with a Brewer PPS first
        stage its own ``(1 - pi_i) n_h / (n_h - 1)`` (``design_structure(pps="brewer")``)."""
        return self.scale_h[self.psu_stratum] if self.psu_scale is None else self.psu_scale

    @property
    def n_psu(self) -> int:
        return int(len(self.psu_stratum))

    @property
    def n_strata(self) -> int:
        return int(len(self.n_h))

    @property
    def single(self) -> np.ndarray:
        """Per stratum: does it hold a single (lonely) PSU. A certainty stratum (f = 1, ``scale_h`` 0) is never
        lonely: it has no first-stage variance to estimate (R ``onestrat``)."""
        return (self.n_h == 1) & (self.scale_h > 0)

    def covariance(self, scores: np.ndarray) -> np.ndarray:
        """Dense (k, k) linearised covariance of the totals of ``scores`` (n, k), one row per unit."""
        return _covariance(self, scores)


def _first_row(mask) -> int:
    """1-based data row number (as a user counts the rows of the file) of the first True of ``mask``."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _codes(values, name: str, source: str | None) -> np.ndarray:
    series = pd.Series(values)
    missing = series.isna().to_numpy()
    if missing.any():
        raise InputError("missing_design", f"design column '{name}' has {int(missing.sum())} missing value(s), the first in data row {_first_row(missing)}", source)
    codes, _ = pd.factorize(series, sort=True)
    return codes.astype(np.int64)


def _as_stages(values) -> list | None:
    """Per-stage list of per-row arrays from one array (a single stage) or a list/tuple of arrays."""
    if values is None:
        return None
    if isinstance(values, (list, tuple)) and len(values) and all(np.ndim(v) == 1 for v in values):
        return [np.asarray(v) if not isinstance(v, pd.Series) else v.to_numpy() for v in values]
    return [values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)]


def _stage_name(names, i: int, default: str) -> str:
    name = names if isinstance(names, str) or names is None else (list(names)[i] if i < len(list(names)) else None)
    return default if name is None else str(name)


def _stage_fraction(values, parent: np.ndarray, n_parent: np.ndarray, name: str, stage: int, source: str | None, allow_missing: bool = True) -> np.ndarray:
    """Sampling fraction ``f = n / N`` of each parent (stratum at stage 1, sampled unit of the previous stage
    after) from a per-row fpc: a population count of units (> 1) or a sampling fraction (<= 1), constant
    within the parent. Every bad value is an ``InputError`` naming the column and its first data row.
    ``allow_missing``: a parent whose fpc is missing in *all* its rows has no fpc (f = 0: sampled with
    replacement at this stage, so the stages below it add nothing); internal callers use it for strata analysed
    with replacement. ``SurveyDesign`` refuses missing fpc values instead."""
    raw = pd.Series(values)
    where = "stratum" if stage == 1 else f"stage-{stage - 1} unit"
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise InputError("bad_fpc", f"fpc column '{name}' is boolean, not a number", source)
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = raw.isna().to_numpy()
    if missing.any():
        partly = np.bincount(parent[missing], minlength=len(n_parent)) < np.bincount(parent, minlength=len(n_parent))
        if not allow_missing or partly[parent[missing]].any():
            first = missing if not allow_missing else missing & partly[parent]
            raise InputError("missing_design", f"fpc column '{name}' has {int(missing.sum())} missing value(s), the first in data row {_first_row(first)}", source)
    bad = np.isnan(num) & ~missing
    if bad.any():
        raise InputError("bad_fpc", f"fpc column '{name}' has {int(bad.sum())} non-numeric value(s), the first in data row {_first_row(bad)}", source)
    bad = np.isinf(num)
    if bad.any():
        raise InputError("bad_fpc", f"fpc column '{name}' is infinite in data row {_first_row(bad)}", source)
    bad = num <= 0  # NaN compares False
    if bad.any():
        raise InputError("bad_fpc", f"fpc column '{name}' must be positive (population units per {where} > 1, or a sampling fraction <= 1); data row {_first_row(bad)} is not", source)
    first_value = np.full(len(n_parent), np.nan)
    order = np.arange(len(num))[::-1]
    first_value[parent[order]] = num[order]  # the value in the first row of each parent
    varies = (num != first_value[parent]) & ~(np.isnan(num) & np.isnan(first_value[parent]))
    if varies.any():
        raise InputError("bad_fpc", f"fpc column '{name}' must be constant within each {where} (stage {stage}); data row {_first_row(varies)} differs from the first row of its {where}", source)
    with np.errstate(divide="ignore"):
        frac = np.where(first_value <= 1.0, first_value, n_parent / first_value)
    over = frac[parent] > 1.0 + 1e-9
    if over.any():
        raise InputError("bad_fpc", f"fpc column '{name}' gives fewer population units than the {int(n_parent[parent[over][0]])} sampled at stage {stage} in the {where} of data row {_first_row(over)}", source)
    return np.clip(np.where(np.isnan(frac), 0.0, frac), 0.0, 1.0)


def _scale(f: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``(1 - f) n / (n - 1)``, and ``1 - f`` for a single sampled unit (Wolter 2007 eq. 6.2.2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 1, (1.0 - f) * n / (n - 1.0), 1.0 - f)


def _is_certain(f: np.ndarray) -> np.ndarray:
    """Units taken with certainty (f = 1, R ``onestrat``'s ``(N - n) / N < 1e-7``): no variance at that stage."""
    return f >= 1.0 - 1e-7


@dataclass(frozen=True)
class StageStructure:
    """A later stage (2, 3, ...) of a multistage without-replacement design: the stage's sampled units of every
    row, nested in their parent (the sampled unit of the previous stage, which acts as the stratum of this
    stage, R ``svydesign``'s ``strata[, i] = interaction(strata, ids[, i - 1])``), and the per-parent factor
    ``(prod of the earlier stages' sampling fractions) (1 - f_p) n_p / (n_p - 1)`` of the stage's term of the
    variance (Sarndal, Swensson & Wretman 1992, *Model Assisted Survey Sampling*, sec. 4.3, eq. 4.3.22 and
    sec. 4.4; Cochran 1977 sec. 10.8 for the two-stage case; the recursion of Bellhouse 1985, R ``multistage``).
    """

    stage: int
    unit: np.ndarray  # (n,) unit code 0..U-1 of each row
    unit_parent: np.ndarray  # (U,) parent code 0..Pa-1 of each unit
    n_h: np.ndarray  # (Pa,) sampled units per parent
    scale_h: np.ndarray  # (Pa,) product of earlier fractions x (1 - f_p) n_p / (n_p - 1)
    single: np.ndarray  # (Pa,) parent holds one sampled unit and is not a certainty unit

    @property
    def n_units(self) -> int:
        return int(len(self.unit_parent))


def _stage_covariance(stage: StageStructure, z: np.ndarray, lonely_psu: str) -> np.ndarray:
    """This stage's term of the covariance of the totals of ``z`` (n, k): the between-unit variance within each
    parent, with the ``lonely_psu`` rule applied to parents holding one non-certainty unit."""
    U, k = stage.n_units, z.shape[1]
    Z = np.column_stack([np.bincount(stage.unit, weights=z[:, j], minlength=U) for j in range(k)])
    D, factor = _stage_deviations(stage, Z, lonely_psu)
    return (D.T @ D) * factor


def _stage_total_variances(stage: StageStructure, Z: np.ndarray, lonely_psu: str) -> np.ndarray:
    """This stage's term of the variance of each column's total from dense unit totals ``Z`` (U, k)."""
    D, factor = _stage_deviations(stage, Z, lonely_psu)
    return (D * D).sum(axis=0) * factor


def _stage_deviations(stage: StageStructure, Z: np.ndarray, lonely_psu: str) -> tuple[np.ndarray, float]:
    """Unit totals centred within their parent and scaled (``StageStructure.scale_h``, the lonely rule), and the
    factor of the "average" rule: the stage's term is ``D' D * factor``."""
    U, Pa, k = stage.n_units, len(stage.n_h), Z.shape[1]
    hs = stage.unit_parent
    mean = np.column_stack([np.bincount(hs, weights=Z[:, j], minlength=Pa) for j in range(k)]) / stage.n_h[:, None]
    centre = mean[hs]
    single = stage.single[hs]
    weight = stage.scale_h[hs].copy()
    if lonely_psu == "adjust":
        centre[single] = Z.sum(axis=0) / U
    else:
        weight[single] = 0.0
    D = (Z - centre) * np.sqrt(weight)[:, None]
    factor = 1.0
    if lonely_psu == "average" and stage.single.any():
        ok = int((~stage.single).sum())
        factor = Pa / ok if ok else np.nan
    return D, factor


def _stage_domain_variance(stage: StageStructure, z: np.ndarray, rows: np.ndarray, g: np.ndarray, G: int, lonely_psu: str) -> np.ndarray:
    """This stage's term of the variance of the total of ``z`` (one per row in ``rows``) for each domain ``g``;
    the sparse form of ``_stage_covariance`` (units without domain rows are zero totals, counted via ``n_h``)."""
    U, Pa = stage.n_units, len(stage.n_h)
    uniq, inv = np.unique(g * U + stage.unit[rows], return_inverse=True)
    Z = np.bincount(inv, weights=z, minlength=len(uniq))
    gg, uu = uniq // U, uniq % U
    key = gg * Pa + stage.unit_parent[uu]
    u2, inv2 = np.unique(key, return_inverse=True)
    S1 = np.bincount(inv2, weights=Z, minlength=len(u2))
    S2 = np.bincount(inv2, weights=Z * Z, minlength=len(u2))
    g2, p2 = u2 // Pa, u2 % Pa
    n_p = stage.n_h[p2]
    single = stage.single[p2]
    with np.errstate(divide="ignore", invalid="ignore"):
        contrib = np.where(~single & (n_p > 1), stage.scale_h[p2] * (S2 - S1 * S1 / n_p), 0.0)
    V = np.bincount(g2, weights=contrib, minlength=G)
    if lonely_psu == "adjust" and stage.single.any():
        m = np.bincount(g, weights=z, minlength=G) / U
        lonely = np.where(single, stage.scale_h[p2] * (S2 - 2.0 * m[g2] * S1), 0.0)
        V = V + np.bincount(g2, weights=lonely, minlength=G) + m * m * stage.scale_h[stage.single].sum()
    elif lonely_psu == "average" and stage.single.any():
        ok = int((~stage.single).sum())
        V = V * (Pa / ok) if ok else V * np.nan
    return V


PPS_OPTIONS = ("brewer",)


def _psu_probability(values, psu_row: np.ndarray, psu_stratum: np.ndarray, name: str, source: str | None, allow_missing: bool) -> np.ndarray:
    """(P,) first-stage inclusion probability of each PSU from a per-row column (``pps="brewer"``): in (0, 1],
    constant within a PSU (it may vary within a stratum); a stratum whose probabilities are missing in all its
    rows has none (NaN: analysed with replacement) when ``allow_missing``. Bad values are an ``InputError``
    naming the column and its first data row."""
    raw = pd.Series(values)
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise InputError("bad_fpc", f"fpc column '{name}' is boolean, not a probability", source)
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = raw.isna().to_numpy()
    P, H = len(psu_stratum), int(psu_stratum.max()) + 1 if len(psu_stratum) else 0
    if missing.any():
        h_row = psu_stratum[psu_row]
        partly = np.bincount(h_row[missing], minlength=H) < np.bincount(h_row, minlength=H)
        if not allow_missing or partly[h_row[missing]].any():
            first = missing if not allow_missing else missing & partly[h_row]
            raise InputError("missing_design", f"fpc column '{name}' has {int(missing.sum())} missing value(s), the first in data row {_first_row(first)}", source)
    bad = (np.isnan(num) & ~missing) | np.isinf(num)
    if bad.any():
        raise InputError("bad_fpc", f"fpc column '{name}' has {int(bad.sum())} non-numeric or infinite value(s), the first in data row {_first_row(bad)}", source)
    bad = (num <= 0) | (num > 1.0 + 1e-12)
    if bad.any():
        raise InputError("bad_fpc", f"fpc column '{name}' must be the PSU's first-stage inclusion probability (0 < pi <= 1) with pps='brewer'; data row {_first_row(bad)} is not", source)
    first_value = np.full(P, np.nan)
    order = np.arange(len(num))[::-1]
    first_value[psu_row[order]] = num[order]
    varies = (num != first_value[psu_row]) & ~(np.isnan(num) & np.isnan(first_value[psu_row]))
    if varies.any():
        raise InputError("bad_fpc", f"fpc column '{name}' must be constant within each PSU (stage 1); data row {_first_row(varies)} differs from the first row of its PSU", source)
    return np.minimum(first_value, 1.0)


def design_structure(n: int, strata=None, psu=None, fpc=None, lonely_psu: str = "adjust", source: str | None = None, names=("strata", "psu", "fpc"), allow_missing_fpc: bool = True, pps: str | None = None) -> DesignStructure:
    """The ``DesignStructure`` of ``n`` rows from per-row ``strata`` and ``psu`` labels (``None``: one stratum /
    each row its own PSU; PSUs nested within strata, R ``svydesign(nest=TRUE)``) and the optional per-row
    ``fpc`` (population units > 1, or a sampling fraction <= 1, constant within a stratum).

    Multistage: ``psu`` may be a list of per-row label arrays, one per stage (stage-k units nested in the
    stage-(k-1) unit), and ``fpc`` a list of the same length (stage k's fpc constant within its parent unit).
    With the fpc of every stage the variance is R's ``svydesign(ids=~a+b, fpc=~f1+f2)``: the first stage's
    stratified without-replacement term plus, for each later stage, the between-unit variance within each
    sampled parent scaled by the earlier stages' sampling fractions (Sarndal et al. 1992 sec. 4.3-4.4; Cochran
    1977 sec. 10.8). Without an fpc the later stages add nothing: the ultimate-cluster (with-replacement)
    estimator of the first stage (Wolter 2007 ch. 6; Lumley 2010 sec. 3.2).

    A later-stage parent holding a single sampled unit (not a certainty one) follows ``lonely_psu`` within its
    stage: "fail" raises, "remove"/"certainty" drop it, "adjust" centres it at the grand mean of that stage's
    unit totals (zero for the scores of a mean, as R), "average" scales the stage's term by parents / parents
    with variance (R returns NaN for the whole variance there instead).

    A stratum (or later-stage parent) whose fpc makes f = 1 (N = n) is a *certainty* unit: it contributes no
    variance at that stage, is never lonely (``lonely_psu`` does not apply to it and it counts as a stratum
    with variance for ``"average"``, as R's ``onestrat``), and its later stages contribute with factor 1.
    ``names`` are the column names quoted in ``InputError`` messages (for a multistage design ``names[1]``
    and ``names[2]`` may be lists). ``allow_missing_fpc``: a stratum (parent) whose fpc is missing in all its
    rows is sampled with replacement at that stage (f = 0; the stages below it then add nothing, the
    ultimate-cluster estimator covers them, Lumley 2010 sec. 3.2).

    ``pps="brewer"``: the first stage was drawn with probability proportional to size WITHOUT replacement and
    the stage-1 ``fpc`` is each PSU's inclusion probability ``pi_i`` (constant within a PSU, varying within a
    stratum). Brewer's approximation (Brewer 2002, *Combined Survey Sampling Inference*, sec. 9.5; Berger 2004),
    as R ``svydesign(ids=~a+b, fpc=~pi+f2, pps="brewer")``: the first-stage term is
    ``sum_h n_h / (n_h - 1) sum_i (1 - pi_i) (Z_hi - Zbar_h)^2`` (each PSU's deviation scaled by its own
    ``1 - pi_i``, R ``onestrat`` with a per-PSU fpc) and the later stages are carried with factor ``pi_i`` (R
    ``multistage``: ``nPSU / popsize``). A PSU with ``pi = 1`` is a certainty unit; a stratum whose
    probabilities are all missing is analysed with replacement (``allow_missing_fpc``).
    """
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise InputError("bad_option", f"lonely_psu must be one of {', '.join(LONELY_PSU_OPTIONS)}, not '{lonely_psu}'", source)
    psu_stages = _as_stages(psu)
    fpc_stages = _as_stages(fpc)
    if psu_stages is not None and fpc_stages is not None and len(fpc_stages) != len(psu_stages):
        raise InputError("bad_fpc", f"{len(fpc_stages)} fpc column(s) for {len(psu_stages)} sampling stage(s): give one fpc per stage, or none", source)
    if psu_stages is None and fpc_stages is not None and len(fpc_stages) != 1:
        raise InputError("bad_fpc", f"{len(fpc_stages)} fpc columns for a one-stage design without PSUs", source)
    if pps is not None and pps not in PPS_OPTIONS:
        raise InputError("bad_option", f"pps must be one of {', '.join(PPS_OPTIONS)} or None, not '{pps}'", source)
    if pps is not None and fpc_stages is None:
        raise InputError("bad_fpc", "pps='brewer' needs the first stage's inclusion probabilities as its fpc", source)
    h_row = np.zeros(n, dtype=np.int64) if strata is None else _codes(strata, names[0], source)
    if psu_stages is None:
        psu_row = np.arange(n, dtype=np.int64)
        psu_stratum = h_row.copy()
    else:
        p_raw = _codes(psu_stages[0], _stage_name(names[1], 0, "psu"), source)
        # PSUs nested within strata: the pair (stratum, psu) identifies a PSU.
        pair = h_row * (int(p_raw.max()) + 1 if n else 1) + p_raw
        psu_row, uniq = pd.factorize(pair, sort=True)
        psu_row = psu_row.astype(np.int64)
        psu_stratum = np.empty(len(uniq), dtype=np.int64)
        psu_stratum[psu_row] = h_row
    H = int(h_row.max()) + 1 if n else 0
    n_h = np.bincount(psu_stratum, minlength=H).astype(float)
    f_h = np.zeros(H)
    psu_scale = None
    if pps is not None:
        pi = _psu_probability(fpc_stages[0], psu_row, psu_stratum, _stage_name(names[2], 0, "fpc"), source, allow_missing_fpc)
        f_psu = np.where(np.isnan(pi), 0.0, pi)  # no probability: with replacement (f = 0)
        psu_scale = np.where(_is_certain(f_psu), 0.0, _scale(f_psu, n_h[psu_stratum]))
        f_h = np.bincount(psu_stratum, weights=f_psu, minlength=H) / np.maximum(n_h, 1)  # stratum mean, for certainty
        f_h = np.where(np.bincount(psu_stratum, weights=_is_certain(f_psu).astype(float), minlength=H) == n_h, 1.0, np.minimum(f_h, 1.0 - 1e-6))
    elif fpc_stages is not None:
        f_h = _stage_fraction(fpc_stages[0], h_row, n_h, _stage_name(names[2], 0, "fpc"), 1, source, allow_missing_fpc)
    lonely = (n_h == 1) & ~_is_certain(f_h)
    if lonely_psu == "fail" and lonely.any():
        raise InputError("lonely_psu", f"{int(lonely.sum())} stratum/strata have a single PSU; choose lonely_psu='adjust', 'remove' or 'average'", source)
    scale_h = np.where(_is_certain(f_h), 0.0, _scale(f_h, n_h))
    if psu_scale is not None:  # per stratum: the mean of its PSUs' factors (exact for a single PSU)
        scale_h = np.where(_is_certain(f_h), 0.0, np.bincount(psu_stratum, weights=psu_scale, minlength=H) / np.maximum(n_h, 1))
    later: list[StageStructure] = []
    if psu_stages is not None and fpc_stages is not None and len(psu_stages) > 1:
        parent_row, n_parent_units = psu_row, len(psu_stratum)
        # (units of the previous stage,) product of the earlier sampling fractions; a PPS first stage: pi_i
        carried = f_h[psu_stratum] if pps is None else f_psu
        for k in range(1, len(psu_stages)):
            raw = _codes(psu_stages[k], _stage_name(names[1], k, f"psu{k + 1}"), source)
            unit_row, uniq = pd.factorize(parent_row * (int(raw.max()) + 1 if n else 1) + raw, sort=True)
            unit_row = unit_row.astype(np.int64)
            unit_parent = np.empty(len(uniq), dtype=np.int64)
            unit_parent[unit_row] = parent_row
            n_p = np.bincount(unit_parent, minlength=n_parent_units).astype(float)
            f_p = _stage_fraction(fpc_stages[k], parent_row, n_p, _stage_name(names[2], k, f"fpc{k + 1}"), k + 1, source, allow_missing_fpc)
            single = (n_p == 1) & ~_is_certain(f_p)
            if lonely_psu == "fail" and single.any():
                raise InputError("lonely_psu", f"{int(single.sum())} stage-{k} unit(s) hold a single sampled stage-{k + 1} unit; choose lonely_psu='adjust', 'remove' or 'average'", source)
            scale_p = carried * np.where(_is_certain(f_p), 0.0, _scale(f_p, n_p))
            later.append(StageStructure(stage=k + 1, unit=unit_row, unit_parent=unit_parent, n_h=n_p, scale_h=scale_p, single=single))
            carried = (carried * f_p)[unit_parent]
            parent_row, n_parent_units = unit_row, len(unit_parent)
    return DesignStructure(psu=psu_row, psu_stratum=psu_stratum, n_h=n_h, scale_h=scale_h, lonely_psu=lonely_psu, later=tuple(later), psu_scale=psu_scale)


def _covariance(structure: DesignStructure, scores: np.ndarray) -> np.ndarray:
    """Dense (k, k) linearised covariance of the totals of ``scores`` (n, k)."""
    z = np.asarray(scores, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    P, k = structure.n_psu, z.shape[1]
    Z = np.column_stack([np.bincount(structure.psu, weights=z[:, j], minlength=P) for j in range(k)]) if k else np.zeros((P, 0))
    D, factor = _scaled_deviations(structure, Z)
    V = (D.T @ D) * factor
    for stage in structure.later:
        V = V + _stage_covariance(stage, z, structure.lonely_psu)
    return V


def _psu_total_variances(structure: DesignStructure, Z: np.ndarray) -> np.ndarray:
    """First-stage variance of each column's total from dense PSU totals ``Z`` (P, k): the diagonal of the first
    term of ``_covariance`` (a calibrated design's residual totals; the later stages: ``_stage_total_variances``)."""
    D, factor = _scaled_deviations(structure, Z)
    return (D * D).sum(axis=0) * factor


def _scaled_deviations(structure: DesignStructure, Z: np.ndarray) -> tuple[np.ndarray, float]:
    """PSU totals centred within strata and scaled by sqrt((1 - f_h) n_h / (n_h - 1)), with the lonely-PSU rule,
    and the overall factor of the "average" rule: ``V = D' D * factor``."""
    P, H, k = structure.n_psu, structure.n_strata, Z.shape[1]
    hs = structure.psu_stratum
    mean_h = np.column_stack([np.bincount(hs, weights=Z[:, j], minlength=H) for j in range(k)]) / structure.n_h[:, None]
    centre = mean_h[hs]
    single = structure.single[hs]
    weight = structure.scale_of_psu.copy()
    if structure.lonely_psu == "adjust":
        centre[single] = Z.sum(axis=0) / P
    elif structure.lonely_psu in ("remove", "certainty", "average"):
        weight[single] = 0.0
    D = (Z - centre) * np.sqrt(weight)[:, None]
    factor = 1.0
    if structure.lonely_psu == "average":
        ok = int((~structure.single).sum())
        factor = H / ok if ok else np.nan
    return D, factor


def linearized_covariance(scores, strata, psu, fpc=None, lonely_psu: str = "adjust") -> np.ndarray:
    """Covariance matrix of the estimated totals of linearised ``scores`` (shape (n, k) -> (k, k)).

    With-replacement (ultimate cluster) variance between PSU totals within strata, with the optional
    first-stage finite population correction (Wolter 2007, eq. 6.2.2; Binder 1983). ``strata`` and ``psu`` are
    per-row labels (``None`` for an unstratified design / each row its own PSU); ``fpc`` per-row population
    PSUs per stratum (> 1) or sampling fractions (<= 1). The scores of a statistic ``theta`` are its influence
    values, e.g. ``SurveyDesign.scores_mean``; for a regression they are ``w_i x_i (y_i - mu_i)`` premultiplied
    by the inverse information (the sandwich).
    """
    z = np.asarray(scores, dtype=float)
    n = z.shape[0]
    return design_structure(n, strata, psu, fpc, lonely_psu).covariance(z)



# --- PSU totals of a survey frame -----------------------------------------------------------------------------


def _factor_codes(values) -> tuple[np.ndarray, int]:
    """Sorted integer codes of a column (-1 for missing) and the number of distinct values (at least 1)."""
    codes, uniq = pd.factorize(values if isinstance(values, pd.Series) else pd.Series(values), sort=True)
    return codes.astype(np.int64), max(len(uniq), 1)


@dataclass(frozen=True, eq=False)
class PsuLayout:
    """The PSUs of a survey frame: the PSU of every row (PSUs nested within strata) and, per PSU, its stratum
    label and first-stage fpc. Estimators that sum their linearised scores to PSU totals themselves (a
    regression's score equations, many domain contrasts at once) take the design variance of those totals
    from ``covariance``: the ultimate-cluster estimator of Wolter (2007, ch. 6; Lohr 2022 sec. 9.1) applied
    with one "row" per PSU, so it is the same variance ``linearized_covariance`` gives on the unit scores.
    """

    row_psu: np.ndarray  # (n,) PSU code 0..P-1 of each row of the frame
    strata: np.ndarray  # (P,) stratum label of each PSU
    fpc: np.ndarray | None  # (P,) the frame's fpc_psu of each PSU; None when unknown

    @property
    def n_psu(self) -> int:
        return int(len(self.strata))

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata."""
        return int(self.n_psu - len(np.unique(self.strata)))

    @cached_property
    def structure(self) -> DesignStructure:
        """The linearisation covariance structure at PSU level (one row per PSU; ``lonely_psu="adjust"``)."""
        return design_structure(self.n_psu, self.strata, np.arange(self.n_psu), self.fpc)

    def covariance(self, psu_scores) -> np.ndarray:
        """Design covariance (m, m) of the totals of PSU-level scores (P, m): PSU totals centred within strata,
        with the fpc and the lonely-PSU rule (``linearized_covariance`` with each PSU as one row)."""
        return self.structure.covariance(psu_scores)


def psu_layout(frame: pd.DataFrame) -> PsuLayout:
    """The ``PsuLayout`` of a survey frame with columns ``stratum``, ``psu`` and optionally ``fpc_psu``.

    PSU labels are nested within strata (the pair identifies a PSU, R ``svydesign(nest=TRUE)``); PSUs are
    numbered in sorted (stratum, psu) order. The fpc is None when the column is missing or entirely empty.
    """
    h, _ = _factor_codes(frame["stratum"])
    p, npsu = _factor_codes(frame["psu"])
    _, first, inv = np.unique(h * (npsu + 1) + p, return_index=True, return_inverse=True)
    strata = frame["stratum"].iloc[first].to_numpy()
    fpc = pd.to_numeric(frame["fpc_psu"], errors="coerce").to_numpy(dtype=float) if "fpc_psu" in frame else None
    fpc = None if fpc is None or np.isnan(fpc).all() else fpc[first]
    return PsuLayout(row_psu=inv.astype(np.int64), strata=strata, fpc=fpc)


class PsuAggregator:
    """Sums per-unit quantities to PSU totals once, keeping each PSU's stratum and fpc, so that many domain
    contrasts cost one pass over the units and a small PSU-level covariance each (the domain-contrast
    linearisation of Lohr 2022 sec. 10.x and Wolter 2007 ch. 6 in ``analysis.stats.gaps``)."""

    def __init__(self, frame: pd.DataFrame):
        self.layout = psu_layout(frame)
        self.code, self.strata, self.fpc = self.layout.row_psu, self.layout.strata, self.layout.fpc
        self.n_psu = self.layout.n_psu
        self.df = self.layout.df
        self._frame = frame
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes (sorted labels) of a column of the frame, computed once."""
        if column not in self._codes:
            code, uniq = pd.factorize(self._frame[column], sort=True)
            self._codes[column] = (code.astype(np.int64), np.asarray(uniq, dtype=object))
        return self._codes[column]

    def totals(self, values: np.ndarray, group: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
        """(n_psu, n_groups) PSU totals of ``values``; rows with ``group < 0`` are left out."""
        values = np.asarray(values, dtype=float)
        if group is None:
            return np.bincount(self.code, weights=values, minlength=self.n_psu)[:, None]
        ok = group >= 0
        flat = self.code[ok] * n_groups + group[ok]
        return np.bincount(flat, weights=values[ok], minlength=self.n_psu * n_groups).reshape(self.n_psu, n_groups)

    def variances(self, psu_scores: np.ndarray) -> np.ndarray:
        """Design variance of the total of each column of PSU-level scores: the diagonal of
        ``linearized_covariance`` (same strata centring, fpc and lonely-PSU rule), computed in O(PSUs x
        columns) instead of forming the full covariance matrix of hundreds of kelurahan."""
        Z = np.asarray(psu_scores, dtype=float)
        Z = Z[:, None] if Z.ndim == 1 else Z
        if Z.shape[1] <= 2:
            return np.clip(np.diag(linearized_covariance(Z, self.strata, np.arange(self.n_psu), self.fpc)), 0.0, None)
        return np.clip(self.contributions(Z).sum(axis=0), 0.0, None)

    def contributions(self, psu_scores: np.ndarray) -> np.ndarray:
        """(n_psu, k) each PSU's term of the variance of each column's total,
        ``(1 - f_h) n_h / (n_h - 1) (Z_hi - Zbar_h)^2`` (lonely-PSU rule applied): their column sums are
        ``variances``. What a Satterthwaite degrees-of-freedom approximation splits into components."""
        Z = np.asarray(psu_scores, dtype=float)
        Z = Z[:, None] if Z.ndim == 1 else Z
        s = self.layout.structure
        H = len(s.n_h)
        hs = s.psu_stratum
        incidence = sparse.csr_matrix((np.ones(self.n_psu), (hs, np.arange(self.n_psu))), shape=(H, self.n_psu))
        centre = (np.asarray(incidence @ Z) / s.n_h[:, None])[hs]
        single = s.single[hs]
        weight = s.scale_h[hs].copy()
        if s.lonely_psu == "adjust":
            centre[single] = Z.sum(axis=0) / self.n_psu
        else:
            weight[single] = 0.0
        C = (Z - centre) ** 2 * weight[:, None]
        if s.lonely_psu == "average" and s.single.any():
            ok = int((~s.single).sum())
            C = C * (H / ok) if ok else C * np.nan
        return C


# --- the design -------------------------------------------------------------------------------------------


class SurveyDesign:
    """A complex sample: data, weights, strata, PSUs and an optional fpc (see the module docstring).

    ``data`` is a pandas DataFrame; ``weight``, ``strata``, ``psu`` and ``fpc`` are column names. Rows are kept
    whole: estimates for a subpopulation use ``by`` (domains) or ``where`` (a mask or boolean column), never a
    subset of rows.

    Multistage designs: ``psu`` a list of columns, one per stage (``["district", "school"]``), and ``fpc`` a
    list of the same length, stage k's fpc constant within its stage-(k-1) unit: R ``svydesign(ids=~a+b,
    fpc=~f1+f2)`` (see ``design_structure``). ``weight=None`` with an fpc at every stage computes the weights
    from the fpcs as R does, ``w = prod_k N_k / n_k`` (simple random sampling within strata at each stage).
    ``missing_fpc``: "error" (default: a missing fpc value is an ``InputError``) or "with_replacement": a
    stratum (or later-stage parent) whose fpc is missing in all its rows is analysed as sampled with
    replacement at that stage (f = 0, the stages below it add nothing), e.g. a PPS stage without joint
    inclusion probabilities (Lumley 2010 sec. 3.2; Sarndal et al. 1992 sec. 4.5).
    ``pps="brewer"``: the first stage is PPS without replacement and its fpc column holds each PSU's inclusion
    probability; Brewer's approximation (``design_structure``; R ``svydesign(..., pps="brewer")``).
    """

    def __init__(self, data: pd.DataFrame, weight: str | None, strata: str | None = None, psu: str | list[str] | None = None, fpc: str | list[str] | None = None, lonely_psu: str = "adjust", source: str | None = None, missing_fpc: str = "error", calibration=None, pps: str | None = None):
        if not isinstance(data, pd.DataFrame):
            raise InputError("bad_data", "the survey data must be a pandas DataFrame", source)
        self.source = source
        self.data = data
        if missing_fpc not in ("error", "with_replacement"):
            raise InputError("bad_option", f"missing_fpc must be 'error' or 'with_replacement', not '{missing_fpc}'", source)
        psu_cols = None if psu is None else ([psu] if isinstance(psu, str) else list(psu))
        fpc_cols = None if fpc is None else ([fpc] if isinstance(fpc, str) else list(fpc))
        for role, cols in (("weight", [weight]), ("strata", [strata]), ("psu", psu_cols or []), ("fpc", fpc_cols or [])):
            for col in cols:
                if col is not None:
                    self._require(col, role)
        if psu_cols is not None and len(psu_cols) == 0:
            raise InputError("bad_design", "psu must name at least one column", source)
        if fpc_cols is not None and len(fpc_cols) != (len(psu_cols) if psu_cols else 1):
            raise InputError("bad_fpc", f"{len(fpc_cols)} fpc column(s) ({', '.join(repr(c) for c in fpc_cols)}) for {len(psu_cols) if psu_cols else 1} sampling stage(s) ({', '.join(repr(c) for c in psu_cols) if psu_cols else 'one row per unit'}): give one fpc per stage, or none", source)
        self.weight_col, self.strata_col, self.psu_col, self.fpc_col = weight, strata, psu, fpc
        self.lonely_psu = lonely_psu
        self.missing_fpc = missing_fpc
        self.pps = pps
        self._group_cache: dict = {}
        self._s = design_structure(
            len(data),
            None if strata is None else data[strata].to_numpy(),
            None if psu_cols is None else [data[c].to_numpy() for c in psu_cols],
            None if fpc_cols is None else [data[c].to_numpy() for c in fpc_cols],
            lonely_psu,
            source,
            names=(strata, psu_cols, fpc_cols),
            allow_missing_fpc=missing_fpc == "with_replacement",
            pps=pps,
        )
        self.w = self._weights(data[weight]) if weight is not None else self._weights_from_fpc(psu_cols, fpc_cols)
        # a calibrated design (analysis.stats.calibration) carries its calibrated weights and the model whose
        # residuals replace the scores in every variance (Sarndal, Swensson & Wretman 1992 result 6.6.1)
        self.calibration = calibration
        if calibration is not None:
            if len(calibration.weights) != len(data):
                raise InputError("bad_length", f"calibrated weights have {len(calibration.weights)} values for {len(data)} rows", source)
            self.w = self._weights(pd.Series(np.asarray(calibration.weights, dtype=float), name=f"{weight or 'weights'} (calibrated)"))

    # -- design facts --

    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def n_psu(self) -> int:
        return self._s.n_psu

    @property
    def n_strata(self) -> int:
        return self._s.n_strata

    @property
    def df(self) -> int:
        """Design degrees of freedom: number of PSUs minus number of strata."""
        return int(self._s.n_psu - self._s.n_strata)

    def covariance(self, scores) -> np.ndarray:
        """Linearised covariance of the totals of ``scores`` (n, k) under this design (see ``linearized_covariance``);
        on a calibrated design, of their calibration residuals."""
        if self.calibration is not None:
            scores = self.calibration.residual_scores(np.asarray(scores, dtype=float), self.w)
        return self._s.covariance(scores)

    # -- validation helpers --

    def _require(self, col, role: str) -> None:
        if not isinstance(col, str) or col not in self.data.columns:
            raise InputError("unknown_column", f"{role} column '{col}' is not in the data (columns: {', '.join(map(str, self.data.columns[:40]))})", self.source)

    def _weights(self, series: pd.Series) -> np.ndarray:
        name = series.name
        if pd.api.types.is_bool_dtype(series.dtype) or not (pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == object):
            raise InputError("non_numeric_weight", f"weight column '{name}' is not numeric", self.source)
        values = pd.to_numeric(series, errors="coerce")
        bad = (values.isna() & series.notna()).to_numpy()
        if bad.any():
            raise InputError("non_numeric_weight", f"weight column '{name}' has {int(bad.sum())} non-numeric value(s), the first in data row {_first_row(bad)}", self.source)
        w = values.to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(w).any():
            raise InputError("missing_weight", f"weight column '{name}' has {int(np.isnan(w).sum())} missing value(s), the first in data row {_first_row(np.isnan(w))}", self.source)
        if not np.isfinite(w).all():
            raise InputError("non_numeric_weight", f"weight column '{name}' is infinite in data row {_first_row(~np.isfinite(w))}", self.source)
        if (w < 0).any():
            raise InputError("negative_weight", f"weight column '{name}' has {int((w < 0).sum())} negative value(s), the first in data row {_first_row(w < 0)}", self.source)
        if len(w) and not (w > 0).any():
            raise InputError("zero_weights", f"weight column '{name}' is zero in every row: nothing to estimate", self.source)
        return w

    def _weights_from_fpc(self, psu_cols, fpc_cols) -> np.ndarray:
        """Weights of a design given by its fpcs alone: ``prod_k N_k / n_k`` over the stages, the inverse of the
        simple-random-sampling inclusion probabilities (R ``svydesign`` without weights, ``weights.survey_fpc``)."""
        if fpc_cols is None:
            raise InputError("missing_weight", "no weight column given and no fpc to compute the weights from: give --weight, or the fpc (population sizes) of every stage", self.source)
        s = self._s
        parent = pd.factorize(self.data[self.strata_col], sort=True)[0] if self.strata_col is not None else np.zeros(self.n, dtype=np.int64)
        fractions = []
        for k, col in enumerate(fpc_cols):
            unit = np.arange(self.n) if psu_cols is None else (s.psu if k == 0 else s.later[k - 1].unit)
            n_parent = np.bincount(np.unique(np.column_stack([parent, unit]), axis=0)[:, 0], minlength=int(parent.max()) + 1).astype(float)
            value = pd.to_numeric(self.data[col]).to_numpy(dtype=float)
            fractions.append(np.where(value <= 1.0, value, n_parent[parent] / value))
            parent = unit
        prob = np.prod(np.vstack(fractions), axis=0)
        if not (np.isfinite(prob) & (prob > 0)).all():
            raise InputError("missing_weight", f"no weight column given and the fpc is missing in data row {_first_row(~(np.isfinite(prob) & (prob > 0)))}: the weights cannot be computed", self.source)
        return 1.0 / prob

    def _variable(self, y, binary: bool = False) -> np.ndarray:
        if isinstance(y, str):
            self._require(y, "analysis variable")
            series = self.data[y]
        else:
            series = pd.Series(y)
            if len(series) != self.n:
                raise InputError("bad_length", f"analysis variable has {len(series)} values for {self.n} rows", self.source)
        name = series.name if series.name is not None else "y"
        if pd.api.types.is_bool_dtype(series.dtype):
            values = series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        elif pd.api.types.is_numeric_dtype(series.dtype):
            values = series.to_numpy(dtype=float, na_value=np.nan)
        else:
            mapped = series.map(lambda v: v if not isinstance(v, str) else {"true": 1.0, "false": 0.0}.get(v.strip().lower(), v))
            numeric = pd.to_numeric(mapped, errors="coerce")
            bad = numeric.isna() & series.notna()
            if bad.any():
                first = int(np.flatnonzero(bad.to_numpy())[0]) + 1
                raise InputError("non_numeric", f"analysis variable '{name}' has {int(bad.sum())} non-numeric value(s), the first in data row {first}", self.source)
            values = numeric.to_numpy(dtype=float, na_value=np.nan)
        if not np.isfinite(values[~np.isnan(values)]).all():
            raise InputError("non_numeric", f"analysis variable '{name}' has infinite values", self.source)
        if binary:
            observed = values[~np.isnan(values)]
            if not np.isin(observed, (0.0, 1.0)).all():
                raise InputError("non_binary", f"proportion variable '{name}' must be boolean or 0/1 (missing allowed)", self.source)
        return values

    def _mask(self, where) -> np.ndarray:
        """Boolean mask of a subpopulation: a boolean column or array, or 0/1 (or "true"/"false") values; missing
        is False. Anything else (text categories, other numbers) is refused: read as truthy it kept every row."""
        if where is None:
            return np.ones(self.n, dtype=bool)
        if isinstance(where, str):
            self._require(where, "where")
            series = self.data[where]
            name = where
        else:
            series = pd.Series(np.asarray(where))
            name = "where"
            if len(series) != self.n:
                raise InputError("bad_length", f"'where' mask has {len(series)} values for {self.n} rows", self.source)
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.fillna(False).astype(bool).to_numpy()
        mapped = series.map(lambda v: {"true": 1.0, "false": 0.0}.get(v.strip().lower(), v) if isinstance(v, str) else v)
        numeric = pd.to_numeric(mapped, errors="coerce")
        present = series.notna()
        bad = present & ~numeric.isin([0.0, 1.0])
        if bad.any():
            first = series[bad].iloc[0]
            raise InputError("non_boolean", f"where column '{name}' must be boolean or 0/1 (missing = outside); it has {int(bad.sum())} other value(s), e.g. {first!r}", self.source)
        return (numeric.fillna(0.0) == 1.0).to_numpy()

    def _groups(self, by) -> tuple[np.ndarray, pd.DataFrame]:
        """Group code per row (-1 where a by-variable is missing) and the group labels, sorted."""
        if by is None:
            return np.zeros(self.n, dtype=np.int64), pd.DataFrame(index=range(1))
        cols = [by] if isinstance(by, str) else list(by)
        cache_key = tuple(cols)
        if cache_key in self._group_cache:
            return self._group_cache[cache_key]
        result = self._factorize_groups(cols)
        self._group_cache[cache_key] = result
        return result

    def _factorize_groups(self, cols: list) -> tuple[np.ndarray, pd.DataFrame]:
        for c in cols:
            self._require(c, "by")
        codes, levels = [], []
        for c in cols:
            k, u = pd.factorize(self.data[c], sort=True)
            codes.append(k.astype(np.int64))
            levels.append(u)
        combined = np.zeros(self.n, dtype=np.int64)
        missing = np.zeros(self.n, dtype=bool)
        for k, u in zip(codes, levels):
            missing |= k < 0
            combined = combined * max(len(u), 1) + np.maximum(k, 0)
        combined[missing] = -1
        g, uniq = pd.factorize(combined, sort=True)
        g = np.where(combined < 0, -1, g).astype(np.int64)
        if len(uniq) and uniq[0] == -1:
            g = np.where(g >= 0, g - 1, -1)
            uniq = uniq[1:]
        labels = {}
        rest = np.asarray(uniq, dtype=np.int64)
        for c, u in reversed(list(zip(cols, levels))):
            size = max(len(u), 1)
            labels[c] = np.asarray(u, dtype=object)[rest % size] if len(u) else np.array([], dtype=object)
            rest = rest // size
        frame = pd.DataFrame({c: labels[c] for c in cols})
        for c in cols:
            frame[c] = frame[c].astype(self.data[c].dtype) if not isinstance(self.data[c].dtype, pd.CategoricalDtype) else frame[c]
        return g, frame

    # -- variance over many domains at once --

    def _domain_variance(self, z: np.ndarray, rows: np.ndarray, g: np.ndarray, G: int) -> np.ndarray:
        """Variance of the total of scores ``z`` (one per row in ``rows``) separately for each domain ``g``, and
        each domain's degrees of freedom: PSUs holding domain rows minus their strata (Korn & Graubard 1999,
        *Analysis of Health Surveys*, sec. 5.2; the NCHS rule for small domains).

        Domain scores are zero outside the domain; zero PSU totals are not materialised, only counted through
        ``n_h`` (sparse form of ``sum_i (Z_hi - Zbar_h)^2 = S2 - S1^2 / n_h``).
        """
        s = self._s
        P, H = s.n_psu, s.n_strata
        if len(rows) == 0:
            return np.zeros(G), np.zeros(G, dtype=np.int64)
        if self.calibration is not None:
            return self._calibrated_domain_variance(z, rows, g, G)
        key = g * P + s.psu[rows]
        if G * P <= _DENSE_LIMIT:
            # dense PSU totals per domain: O(n), no sort; absent (domain, PSU) cells are zero and dropped
            dense = np.bincount(key, weights=z, minlength=G * P)
            present = np.bincount(key, minlength=G * P) > 0
            uniq = np.flatnonzero(present)
            Z = dense[uniq]
        else:
            uniq, inv = np.unique(key, return_inverse=True)
            Z = np.bincount(inv, weights=z, minlength=len(uniq))
        gg, pp = uniq // P, uniq % P
        hh = s.psu_stratum[pp]
        key2 = gg * H + hh
        u2, inv2 = np.unique(key2, return_inverse=True)
        S1 = np.bincount(inv2, weights=Z, minlength=len(u2))
        S2 = np.bincount(inv2, weights=Z * Z, minlength=len(u2))
        g2, h2 = u2 // H, u2 % H
        # domain df (PSUs holding domain rows minus their strata), a by-product of the same keys
        domain_df = (np.bincount(gg, minlength=G) - np.bincount(g2, minlength=G)).astype(np.int64)
        n_h = s.n_h[h2]
        multi = n_h > 1
        if s.psu_scale is None:
            contrib = np.where(multi, s.scale_h[h2] * (S2 - S1 * S1 / n_h), 0.0)
        else:  # per-PSU factors c_i: sum_i c_i (Z_i - S1/n_h)^2 over every PSU of the stratum, zero totals included
            c = s.psu_scale[pp]
            C1 = np.bincount(inv2, weights=c * Z, minlength=len(u2))
            C2 = np.bincount(inv2, weights=c * Z * Z, minlength=len(u2))
            c_h = np.bincount(s.psu_stratum, weights=s.psu_scale, minlength=H)[h2]
            mean = S1 / n_h
            contrib = np.where(multi, C2 - 2.0 * mean * C1 + mean * mean * c_h, 0.0)
        V = np.bincount(g2, weights=contrib, minlength=G)
        single = ~multi
        if s.lonely_psu == "adjust" and s.single.any():
            # (Z - m)^2 = Z^2 - 2 m Z + m^2 with m the grand mean of the domain's PSU totals; every lonely
            # stratum contributes m^2 even when the domain has no unit in it.
            m = np.bincount(g, weights=z, minlength=G) / P
            lonely = np.where(single, s.scale_h[h2] * (S2 - 2.0 * m[g2] * S1), 0.0)
            V = V + np.bincount(g2, weights=lonely, minlength=G) + m * m * s.scale_h[s.single].sum()
        elif s.lonely_psu == "average" and s.single.any():
            ok = int((~s.single).sum())
            V = V * (H / ok) if ok else V * np.nan
        for stage in s.later:
            V = V + _stage_domain_variance(stage, z, rows, g, G, s.lonely_psu)
        return np.maximum(V, 0.0), domain_df

    def _calibrated_domain_variance(self, z: np.ndarray, rows: np.ndarray, g: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray]:
        """``_domain_variance`` on a calibrated design: a domain's residual scores are not zero outside it, so
        its PSU totals are dense (PSUs x domains); the domain df is counted as for an uncalibrated design."""
        s = self._s
        Z = self.calibration.residual_psu_totals(z, rows, g, G, s.psu, s.n_psu, self.w)
        V = _psu_total_variances(s, Z)
        for stage in s.later:
            units = self.calibration.residual_psu_totals(z, rows, g, G, stage.unit, stage.n_units, self.w)
            V = V + _stage_total_variances(stage, units, s.lonely_psu)
        pairs = np.unique(g * s.n_psu + s.psu[rows])
        gg, pp = pairs // s.n_psu, pairs % s.n_psu
        strata = np.unique(gg * s.n_strata + s.psu_stratum[pp]) // s.n_strata
        domain_df = (np.bincount(gg, minlength=G) - np.bincount(strata, minlength=G)).astype(np.int64)
        return np.maximum(V, 0.0), domain_df

    # -- estimators --

    def _prepare(self, y, by, where, binary=False):
        values = self._variable(y, binary=binary)
        g_all, labels = self._groups(by)
        # a zero-weight row stands for nobody: it is not a respondent of the estimate (nor counts toward n)
        valid = ~np.isnan(values) & self._mask(where) & (g_all >= 0) & (self.w > 0)
        rows = np.flatnonzero(valid)
        return values[rows], rows, g_all[rows], labels

    def mean(self, y, by=None, where=None, ci: str = "wald", level: float = 0.95, suppress: bool = True, df: str = "design") -> pd.DataFrame:
        """Ratio mean of ``y`` over its non-missing values, overall or per domain of ``by`` (str or list).

        ``where`` restricts to a subpopulation (mask or boolean column) as a domain. ``suppress`` blanks numbers
        the reliability rule withholds (see ``analysis.stats.reliability``); set it False only for internal
        use (e.g. as input to a small-area model), never for a published table. ``df``: "design" (PSUs minus
        strata of the whole design, as R ``svyby`` and Stata) or "domain" (PSUs minus strata that hold domain
        members: wider, honest intervals for small domains such as a kelurahan sampled in a few RWs).
        """
        return self._ratio_mean(y, by, where, ci, level, suppress, binary=False, df=df)

    def prop(self, y, by=None, where=None, ci: str = "wald", level: float = 0.95, suppress: bool = True, df: str = "design") -> pd.DataFrame:
        """Proportion of ``y`` true (boolean or 0/1; missing excluded). ``ci``: "wald" (clipped to [0, 1]),
        "logit" (R ``svyciprop(method="logit")``) or "korn-graubard" (Korn & Graubard 1998)."""
        return self._ratio_mean(y, by, where, ci, level, suppress, binary=True, df=df)

    def _check_df(self, df: str) -> None:
        if df not in DF_METHODS:
            raise InputError("bad_option", f"df must be one of {DF_METHODS}, not '{df}'", self.source)

    def _ratio_mean(self, y, by, where, ci, level, suppress, binary, df="design"):
        if ci not in CI_METHODS or (ci != "wald" and not binary):
            raise InputError("bad_option", f"ci must be one of {CI_METHODS} ('logit' and 'korn-graubard' for proportions only)", self.source)
        self._check_df(df)
        yy, rows, g, labels = self._prepare(y, by, where, binary)
        G = len(labels)
        w = self.w[rows]
        W = np.bincount(g, weights=w, minlength=G)
        T = np.bincount(g, weights=w * yy, minlength=G)
        n = np.bincount(g, minlength=G)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = T / W
            resid = yy - est[g]
            z = w * resid / W[g]
            var, domain_df = self._domain_variance(z, rows, g, G)
            s2 = np.bincount(g, weights=w * resid * resid, minlength=G) / W * n / (n - 1.0)
            var_srs = s2 / n
        dfs = domain_df if df == "domain" else None
        return self._result(labels, est, var, var_srs, n, ci, level, suppress, binary, dfs)

    def total(self, y, by=None, where=None, level: float = 0.95, suppress: bool = True, df: str = "design") -> pd.DataFrame:
        """Estimated population total of ``y`` (missing values count as outside the domain)."""
        self._check_df(df)
        yy, rows, g, labels = self._prepare(y, by, where)
        G = len(labels)
        w = self.w[rows]
        z = w * yy
        est = np.bincount(g, weights=z, minlength=G)
        n = np.bincount(g, minlength=G)
        var, domain_df = self._domain_variance(z, rows, g, G)
        # SRS (with replacement, same n) reference for the Kish deff: y set to 0 outside the domain.
        N, m = self.w.sum(), self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            ybar = est / N
            s2 = (np.bincount(g, weights=w * yy * yy, minlength=G) - N * ybar * ybar) / N * m / (m - 1.0)
            var_srs = N * N * s2 / m
        dfs = domain_df if df == "domain" else None
        return self._result(labels, est, var, var_srs, n, "wald", level, suppress, False, dfs)

    def scores_mean(self, y, domain_mask=None) -> np.ndarray:
        """Linearised scores ``z_i = w_i d_i (y_i - mean_d) / sum_d w`` of a (domain) mean; zero outside.

        ``sum(z) == 0`` and ``covariance(z)`` is the variance of the mean. Stack several into (n, k) for the
        covariance of a contrast (e.g. a kelurahan minus its kota, which overlap).
        """
        values = self._variable(y)
        d = ~np.isnan(values) & self._mask(domain_mask)
        W = self.w[d].sum()
        z = np.zeros(self.n)
        if W > 0:
            est = (self.w[d] * values[d]).sum() / W
            z[d] = self.w[d] * (values[d] - est) / W
        return z

    # -- public access for estimators built on the design (analysis.stats.linear) --

    def numeric(self, y, binary: bool = False) -> np.ndarray:
        """Float values of column (or array) ``y``, NaN where missing; ``InputError("non_numeric")`` naming the
        column and its first offending row (``binary``: also require 0/1, ``"non_binary"``)."""
        return self._variable(y, binary=binary)

    def mask(self, where) -> np.ndarray:
        """Boolean subpopulation mask from a boolean (or 0/1) column or array; ``None`` is every row."""
        return self._mask(where)

    def subpopulation_df(self, rows) -> int:
        """Degrees of freedom of a subpopulation (boolean mask): PSUs holding its rows minus their strata, as R
        ``degf`` of the design subsetted to those rows (zero weight elsewhere)."""
        rows = np.asarray(rows, dtype=bool)
        psus = np.unique(self._s.psu[rows])
        return int(len(psus) - len(np.unique(self._s.psu_stratum[psus])))

    # -- categorical variables: the proportion in one level (R svymean(~factor(V)) row L) --

    MAX_LISTED_LEVELS = 20

    def is_binary(self, y) -> bool:
        """Is column ``y`` a proportion variable as ``prop`` reads it (boolean, 0/1, "true"/"false"; missing allowed)."""
        self._require(y, "analysis variable")
        try:
            self._variable(y, binary=True)
        except InputError:
            return False
        return True

    def levels(self, y) -> list:
        """The distinct non-missing values of column ``y``, sorted (as R ``levels(factor(V))``)."""
        self._require(y, "analysis variable")
        return sorted(self.data[y].dropna().unique().tolist(), key=lambda v: (str(type(v)), v))

    def levels_text(self, y) -> str:
        """``y``'s levels for an error message: at most ``MAX_LISTED_LEVELS``, then how many more; a value that
        holds personal data (a NIK, phone number, name: ``analysis.privacy``) is shown as its redaction marker."""
        from analysis.privacy import scrub_text  # only on this error path: keeps the estimator's import light

        values = self.levels(y)
        shown = ", ".join(scrub_text(str(v))[0] for v in values[: self.MAX_LISTED_LEVELS])
        more = len(values) - self.MAX_LISTED_LEVELS
        return shown + (f" ... and {more} more" if more > 0 else "")

    def category_indicator(self, y, category) -> pd.Series:
        """0/1 indicator of ``y == category`` (missing where ``y`` is missing), named ``"y=category"``.

        ``category`` may be given as text (from a command line) for a numeric column: it is read as a number
        then. A category that is not among ``y``'s levels is an ``InputError`` listing the levels."""
        self._require(y, "analysis variable")
        series = self.data[y]
        target = category
        if isinstance(category, str) and pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            number = pd.to_numeric(pd.Series([category]), errors="coerce").iloc[0]
            target = category if pd.isna(number) else float(number)
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype) and not isinstance(target, str):
            hit = series.astype(float) == float(target)
        else:
            hit = series.astype(str) == str(target)
            hit = hit & series.notna()
        if not hit.any():
            raise InputError("unknown_level", f"level '{category}' does not occur in column '{y}' (its levels: {self.levels_text(y)})", self.source)
        indicator = hit.astype(float).where(series.notna())
        indicator.name = f"{y}={category}"
        return indicator

    def factor_prop(self, y, category, by=None, where=None, ci: str = "wald", level: float = 0.95, suppress: bool = True, df: str = "design") -> pd.DataFrame:
        """Proportion of units with ``y == category`` among those with ``y`` observed: R ``svymean(~factor(y))``
        row ``category`` (with ``na.rm=TRUE``), or ``svyciprop(~I(y == category))`` for the logit and
        Korn-Graubard intervals (Lumley 2010, *Complex Surveys*, sec. 2.4)."""
        return self.prop(self.category_indicator(y, category).to_numpy(), by=by, where=where, ci=ci, level=level, suppress=suppress, df=df)

    # -- ratio of two totals (R svyratio) --

    def ratio(self, num, den, by=None, where=None, level: float = 0.95, suppress: bool = True, df: str = "design") -> pd.DataFrame:
        """Ratio of totals ``R = sum w y / sum w x`` of ``num`` (y) over ``den`` (x), overall or per domain, with
        the linearised variance of R ``svyratio``: scores ``z_i = w_i (y_i - R x_i) / sum w x`` (Cochran 1977,
        *Sampling Techniques*, sec. 6.4; Wolter 2007 sec. 6.6; Lumley 2010 sec. 2.3.3). Rows with either
        variable missing are outside the estimate (R ``na.rm=TRUE``). A domain whose denominator total is zero is
        an ``InputError("zero_denominator")`` naming the domain."""
        self._check_df(df)
        check_level(level, self.source)
        y_all = self._variable(num)
        x_all = self._variable(den)
        g_all, labels = self._groups(by)
        valid = ~np.isnan(y_all) & ~np.isnan(x_all) & self._mask(where) & (g_all >= 0) & (self.w > 0)
        rows = np.flatnonzero(valid)
        y, x, g, w = y_all[rows], x_all[rows], g_all[rows], self.w[rows]
        G = len(labels)
        n = np.bincount(g, minlength=G)
        Y = np.bincount(g, weights=w * y, minlength=G)
        X = np.bincount(g, weights=w * x, minlength=G)
        zero = (n > 0) & (X == 0)
        if zero.any():
            which = labels.iloc[int(np.flatnonzero(zero)[0])].to_dict() if len(labels.columns) else "the whole sample"
            raise InputError("zero_denominator", f"the weighted total of denominator '{den}' is zero in domain {which}: the ratio is undefined", self.source)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Y / X
            resid = y - est[g] * x
            z = w * resid / X[g]
            var, domain_df = self._domain_variance(z, rows, g, G)
            W = np.bincount(g, weights=w, minlength=G)
            xbar = X / W
            s2 = np.bincount(g, weights=w * resid * resid, minlength=G) / W * n / (n - 1.0)
            var_srs = s2 / n / (xbar * xbar)
        return self._result(labels, est, var, var_srs, n, "wald", level, suppress, False, domain_df if df == "domain" else None)

    # -- quantiles with Woodruff (1952) intervals (R svyquantile) --

    def quantile(self, y, q=(0.5,), by=None, where=None, level: float = 0.95, suppress: bool = True, centre: str = "estimate") -> pd.DataFrame:
        """Quantiles of ``y`` with Woodruff (1952) confidence intervals, as R ``survey`` (>= 4.1)
        ``svyquantile(~y, design, q, interval.type = "mean", qrule = "math")`` (and ``svyby`` for domains).

        The quantile inverts the estimated distribution function (``weighted_quantile``, R qrule "math"). Woodruff's
        interval: estimate the proportion ``m`` of the domain with ``y <= qhat`` and its design-based SE, form the
        Wald interval ``m +- t * SE`` and map its ends back through the quantile rule; an end outside [0, 1] is
        undefined (NaN), as in R. The SE is derived from the interval, ``(upper - lower) / (2 t)`` (R
        ``SE.newsvyquantile``; Dorfman & Valliant 1993; Lumley 2010 sec. 2.4.3). ``t`` has the domain's degrees of
        freedom (PSUs holding domain members minus their strata), which is what ``svyby`` gives R's ``degf`` of
        the subsetted design; for the whole sample it is the design df.

        ``centre``: "estimate" (R: the Wald interval is centred on ``m``, the estimated share at or below the
        quantile) or "p" (Woodruff 1952 and SAS PROC SURVEYMEANS: centred on the probability ``p`` itself, with
        the same SE). They differ when many units share the quantile's value (rounded amounts): R's lower end then
        never falls below the estimate.

        One row per domain and probability (column ``quantile``); ``deff`` is not defined for a quantile (NaN).
        """
        if centre not in QUANTILE_CENTRES:
            raise InputError("bad_option", f"centre must be one of {', '.join(QUANTILE_CENTRES)}, not '{centre}'", self.source)
        level = check_level(level, self.source)
        try:
            probs = np.atleast_1d(np.asarray(q, dtype=float)).ravel()
        except (TypeError, ValueError):
            raise InputError("bad_quantile", f"quantile probabilities must be numbers between 0 and 1, not {q!r}", self.source) from None
        if probs.size == 0 or np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
            raise InputError("bad_quantile", f"quantile probabilities must be numbers between 0 and 1, not {list(np.atleast_1d(q))}", self.source)
        yy, rows, g, labels = self._prepare(y, by, where)
        G = len(labels)
        w = self.w[rows]
        n = np.bincount(g, minlength=G)
        W = np.bincount(g, weights=w, minlength=G)
        order = np.lexsort((yy, g))
        sorted_groups = [order[g[order] == k] for k in range(G)]
        per_group = [sorted_cumulative(yy[idx], w[idx]) for idx in sorted_groups]
        # the domain df, from the PSUs holding members of each domain (zero scores give the df alone)
        _, domain_df = self._domain_variance(np.zeros(len(rows)), rows, g, G)
        with np.errstate(invalid="ignore"):
            t = np.where(domain_df > 0, stats.t.ppf(0.5 + level / 2.0, np.maximum(domain_df, 1)), np.nan)
        frames = []
        for p in probs:
            qhat = np.array([quantile_math(*per_group[k], p)[0] for k in range(G)])
            below = (yy <= qhat[g]).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                m = np.bincount(g, weights=w * below, minlength=G) / W
                z = w * (below - m[g]) / W[g]
            var_m, _ = self._domain_variance(z, rows, g, G)
            se_m = np.sqrt(var_m)
            middle = m if centre == "estimate" else np.full(G, p)
            p_lo, p_hi = middle - t * se_m, middle + t * se_m
            lo = np.array([quantile_math(*per_group[k], p_lo[k])[0] if p_lo[k] >= 0 else np.nan for k in range(G)])
            hi = np.array([quantile_math(*per_group[k], p_hi[k])[0] if p_hi[k] <= 1 else np.nan for k in range(G)])
            se = (hi - lo) / (2.0 * t)
            frames.append(self._quantile_frame(labels, p, qhat, se, lo, hi, n, domain_df, suppress))
        out = pd.concat(frames, ignore_index=True)
        if len(labels.columns):
            out = out.sort_values([*labels.columns, "quantile"], kind="stable").reset_index(drop=True)
        return out

    def _quantile_frame(self, labels, p, est, se, lo, hi, n, df, suppress) -> pd.DataFrame:
        with np.errstate(divide="ignore", invalid="ignore"):
            cv = reliability.relative_standard_error(est, se)
        label = reliability.classify(n, est, se)
        label[df < 1] = reliability.SUPPRESSED
        columns = {"estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "cv": cv}
        if suppress:
            blank = label == reliability.SUPPRESSED
            columns = {k: np.where(blank, np.nan, np.asarray(v, dtype=float)) for k, v in columns.items()}
        keep = n > 0
        data = {c: labels[c].to_numpy()[keep] for c in labels.columns}
        data["quantile"] = np.full(int(keep.sum()), float(p))
        data.update({k: np.asarray(v, dtype=float)[keep] for k, v in columns.items()})
        data["n"] = n.astype(np.int64)[keep]
        data["df"] = np.asarray(df, dtype=np.int64)[keep]
        data["deff"] = np.full(int(keep.sum()), np.nan)
        data["reliability"] = label[keep]
        out = pd.DataFrame(data)
        for c in labels.columns:
            out[c] = out[c].astype(labels[c].dtype)
        return out

    # -- result frame --

    def _result(self, labels, est, var, var_srs, n, ci, level, suppress, binary, dfs=None) -> pd.DataFrame:
        check_level(level, self.source)
        keep = n > 0
        se = np.sqrt(var)
        df = np.full(len(n), self.df, dtype=np.int64) if dfs is None else dfs
        with np.errstate(invalid="ignore"):
            t = np.where(df > 0, stats.t.ppf(0.5 + level / 2.0, np.maximum(df, 1)), np.nan)
        if ci == "wald":
            lo, hi = est - t * se, est + t * se
            if binary:
                lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        elif ci == "logit":
            lo, hi = _logit_interval(est, se, t)
        else:
            lo, hi = _korn_graubard_interval(est, se, n, df, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            cv = reliability.relative_standard_error(est, se)
            deff = np.where(var_srs > 0, var / var_srs, np.nan)
        label = reliability.classify(n, est, se)
        if binary:
            # NCHS standard for proportions (Parker et al. 2017), judged on the Korn-Graubard interval
            kg_lo, kg_hi = (lo, hi) if ci == "korn-graubard" else _korn_graubard_interval(est, se, n, np.maximum(df, 1), level)
            label = reliability.worst(label, reliability.nchs_classify(est, se, n, kg_lo, kg_hi, df))
        label[df < 1] = reliability.SUPPRESSED  # no degrees of freedom: no variance estimate to publish
        columns = {"estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "cv": cv, "deff": deff}
        if suppress:
            blank = label == reliability.SUPPRESSED
            columns = {k: np.where(blank, np.nan, np.asarray(v, dtype=float)) for k, v in columns.items()}
        data = {c: labels[c].to_numpy()[keep] for c in labels.columns}
        data.update({k: np.asarray(columns[k], dtype=float)[keep] for k in ("estimate", "se", "ci_low", "ci_high", "cv")})
        data["n"] = n.astype(np.int64)[keep]
        data["df"] = df[keep]
        data["deff"] = np.asarray(columns["deff"], dtype=float)[keep]
        data["reliability"] = label[keep]
        out = pd.DataFrame(data)
        for c in labels.columns:
            out[c] = out[c].astype(labels[c].dtype)
        return out


def check_level(level, source: str | None = None) -> float:
    """The confidence level as a float strictly between 0 and 1, or ``InputError("bad_level")``."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InputError("bad_level", f"the confidence level must be a number between 0 and 1 (exclusive), not {level!r}", source) from None
    if not 0.0 < value < 1.0:
        raise InputError("bad_level", f"the confidence level must be between 0 and 1 (exclusive), e.g. 0.95, not {level!r}", source)
    return value


def logit_interval(p, se, t):
    """The logit interval of a proportion for a given t quantile (public form of the one ``SurveyDesign.prop`` uses)."""
    return _logit_interval(p, se, t)


def _logit_interval(p, se, t):
    """CI on the logit scale, back-transformed (R ``svyciprop(method = "logit")``; Lumley 2010 sec. 2.4.2)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = (p > 0) & (p < 1)
        logit = np.log(p / (1 - p))
        half = t * se / (p * (1 - p))
        lo = np.where(inner, 1 / (1 + np.exp(-(logit - half))), p)
        hi = np.where(inner, 1 / (1 + np.exp(-(logit + half))), p)
    return lo, hi


def korn_graubard_interval(p, se, n, df, level: float = 0.95):
    """The Korn & Graubard (1998) interval of a proportion (public form of the one ``SurveyDesign.prop`` uses)."""
    return _korn_graubard_interval(p, se, n, df, level)


def _korn_graubard_interval(p, se, n, df, level):
    """Korn & Graubard (1998) Clopper-Pearson interval with the design-effective sample size, df-adjusted:
    ``n* = p (1 - p) / var * (t(n - 1) / t(df))^2`` capped at n (NCHS presentation standards, Parker et al. 2017)."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - level
    var = np.asarray(se, dtype=float) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(var > 0, p * (1 - p) / var, n)
        df = np.asarray(df, dtype=float)
        ratio = np.where(df > 0, stats.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1)) / stats.t.ppf(1 - alpha / 2, np.maximum(df, 1)), 1.0)
        n_eff = n_eff * ratio**2
        n_eff = np.minimum(np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, n), n)
        x = p * n_eff
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n_eff - x + 1), 0.0)
        hi = np.where(x < n_eff, stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x), 1.0)
    return lo, hi


# --- weighted quantiles (the rule SurveyDesign.quantile inverts the distribution function with) -----------------

def sorted_cumulative(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``y`` sorted (stable), the cumulative weights in that order and the total weight; zero weights dropped."""
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    keep = w != 0
    y, w = y[keep], w[keep]
    order = np.argsort(y, kind="stable")
    cumw = np.cumsum(w[order].astype(np.longdouble)).astype(float)
    total = float(np.sum(w.astype(np.longdouble)))
    return y[order], cumw, total


def quantile_math(y_sorted: np.ndarray, cumw: np.ndarray, total: float, p) -> np.ndarray:
    """R ``qrule_math`` at probabilities ``p`` (scalar or array) from ``sorted_cumulative``'s output; NaN for a
    NaN ``p`` or an empty sample."""
    p = np.atleast_1d(np.asarray(p, dtype=float))
    out = np.full(p.shape, np.nan)
    n = len(y_sorted)
    ok = ~np.isnan(p)
    if n == 0 or not ok.any():
        return out
    target = p[ok] * total
    pos = np.searchsorted(cumw, target, side="right") - 1  # last k with C_k <= p W
    pos = np.maximum(pos, 0)
    nxt = np.minimum(pos + 1, n - 1)
    wlow = p[ok] - cumw[pos] / total
    out[ok] = np.where(wlow == 0, y_sorted[pos], y_sorted[nxt])
    return out


def weighted_quantile(y, w, p) -> np.ndarray:
    """The weighted ``p``-quantile(s) of ``y`` by R ``survey``'s ``qrule = "math"``.

    The population ``p``-quantile is the value where the estimated distribution function
    ``F(t) = sum_i w_i [y_i <= t] / sum_i w_i`` reaches ``p`` (Sarndal, Swensson & Wretman 1992, sec. 5.11; Lumley
    2010, *Complex Surveys*, sec. 2.4.3). ``F`` is a step function, so a rule is needed between two observations;
    this implements R ``survey`` (>= 4.1) ``qrule = "math"`` (its default, the same as ``"hf1"``, the weighted
    analogue of Hyndman & Fan 1996 type 1), read from ``R/qrule.R`` of the package:

    - drop zero weights, sort ``y`` (ties kept in their original order), ``C_k`` the cumulative weights;
    - ``k`` the last position with ``C_k <= p W`` (the first position when there is none);
    - the quantile is ``y_(k)`` if ``p - C_k / W`` is exactly zero and otherwise ``y_(k+1)`` (``y_(n)`` at the end).

    R accumulates sums in extended precision before rounding to double; the cumulative weights here are summed
    in ``numpy.longdouble`` too, so the exact-zero test above falls the same way on equal weights. One property of
    the rule, kept for parity with R: for ``p`` below the first cumulative weight the answer is ``y_(2)``, not
    ``y_(1)``.
    """
    return quantile_math(*sorted_cumulative(y, w), p)
