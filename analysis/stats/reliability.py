"""Reliability rules for published survey estimates (BPS practice).

BPS publishes an estimate only when it rests on enough sample and is precise enough, judged by its relative
standard error (RSE, the coefficient of variation ``se / |estimate|``):

- ``n < 30`` (unweighted respondents in the domain) or ``RSE > 50%``: **suppressed**. The estimate, its SE,
  confidence interval and CV are all withheld (NA); only n and df remain, so a reader sees *that* there is
  too little data, never a number that should not be read.
- ``25% < RSE <= 50%``: **flag** (publish with a warning: "use with caution").
- otherwise: **ok**.

An estimate of exactly zero has no defined RSE: with a zero SE as well (every sampled unit in the domain has
the same value) it is published with a flag; with a positive SE it is suppressed.

For **proportions** the NCHS Data Presentation Standards for Proportions (Parker et al. 2017, *Vital Health
Stat* 2(175), sec. "Standards") apply as well (``nchs_classify``), on the Korn-Graubard interval:

- effective sample size ``n_eff = p (1 - p) / se^2`` (``n`` when the design effect is below 1) under 30:
  **suppressed**;
- absolute CI width of 0.30 (30 percentage points) or more: **suppressed**;
- absolute CI width over 0.05 and relative CI width (width / p) over 130%: **suppressed**;
- otherwise, fewer than 8 degrees of freedom: **flag** (the standard's "review": too few PSUs to trust the
  variance estimate).

A proportion's label is the worse of the BPS and the NCHS labels, so "ok" never stands beside an interval
30 points wide.

References: BPS, *Pedoman Penyajian Statistik* / SUSENAS publication notes (RSE thresholds 25% and 50%);
NCHS Data Presentation Standards for Proportions (Parker et al. 2017, Vital Health Stat 2(175)) for the
minimum-sample rule. Thresholds are parameters so a user can apply a stricter house rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_N = 30
RSE_FLAG = 0.25
RSE_SUPPRESS = 0.50

NCHS_MIN_NEFF = 30
NCHS_MAX_WIDTH = 0.30
NCHS_MIN_WIDTH_RELATIVE = 0.05
NCHS_MAX_RELATIVE_WIDTH = 1.30
NCHS_MIN_DF = 8

OK, FLAG, SUPPRESSED = "ok", "flag", "suppressed"
_RANK = {OK: 0, FLAG: 1, SUPPRESSED: 2}

# Columns that carry the estimated number (or something it can be recovered from) and are blanked on suppression.
SUPPRESSED_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "cv", "deff")


def relative_standard_error(estimate, se) -> np.ndarray:
    """``se / |estimate|``; NaN where the estimate is zero (RSE undefined)."""
    est = np.abs(np.asarray(estimate, dtype=float))
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(est > 0, se / est, np.nan)


def classify(n, estimate, se, min_n: int = MIN_N, rse_flag: float = RSE_FLAG, rse_suppress: float = RSE_SUPPRESS) -> np.ndarray:
    """Reliability label per estimate: ``"ok"``, ``"flag"`` or ``"suppressed"`` (vectorised)."""
    n = np.asarray(n, dtype=float)
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    rse = relative_standard_error(est, se)
    out = np.full(n.shape, OK, dtype=object)
    zero = (est == 0) & np.isfinite(se)
    out[zero & (se == 0)] = FLAG
    out[zero & (se > 0)] = SUPPRESSED
    out[rse > rse_flag] = FLAG
    out[rse > rse_suppress] = SUPPRESSED
    out[~np.isfinite(est) | ~np.isfinite(se)] = SUPPRESSED
    out[n < min_n] = SUPPRESSED
    return out


def nchs_classify(p, se, n, ci_low, ci_high, df) -> np.ndarray:
    """NCHS label of each proportion (Parker et al. 2017; see the module docstring): ``ci_low``/``ci_high`` the
    Korn-Graubard interval, ``df`` its degrees of freedom."""
    p, se, n = (np.asarray(a, dtype=float) for a in (p, se, n))
    width = np.asarray(ci_high, dtype=float) - np.asarray(ci_low, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(se > 0, np.minimum(p * (1 - p) / (se * se), n), n)
        relative = np.where(p > 0, width / p, np.inf)
    out = np.full(p.shape, OK, dtype=object)
    out[df < NCHS_MIN_DF] = FLAG
    out[(width > NCHS_MIN_WIDTH_RELATIVE) & (relative > NCHS_MAX_RELATIVE_WIDTH)] = SUPPRESSED
    out[width >= NCHS_MAX_WIDTH - 1e-12] = SUPPRESSED
    out[n_eff < NCHS_MIN_NEFF] = SUPPRESSED
    out[~np.isfinite(p) | ~np.isfinite(se) | ~np.isfinite(width)] = SUPPRESSED
    return out


def worst(a, b) -> np.ndarray:
    """Element-wise the worse of two label arrays (suppressed > flag > ok)."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    ra = np.array([_RANK.get(x, 2) for x in a])
    rb = np.array([_RANK.get(x, 2) for x in b])
    return np.where(ra >= rb, a, b)


def apply_suppression(frame: pd.DataFrame, columns=SUPPRESSED_COLUMNS) -> pd.DataFrame:
    """Blank every number of a row whose ``reliability`` is ``"suppressed"`` (returns a copy)."""
    out = frame.copy()
    mask = out["reliability"].to_numpy() == SUPPRESSED
    for col in columns:
        if col in out.columns:
            out[col] = out[col].astype("float64")
            out.loc[mask, col] = np.nan
    return out
