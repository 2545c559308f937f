"""Weighted sample quantiles: the rule ``SurveyDesign.quantile`` inverts the estimated distribution function with.

The population ``p``-quantile is the value where the estimated distribution function
``F(t) = sum_i w_i [y_i <= t] / sum_i w_i`` reaches ``p`` (Sarndal, Swensson & Wretman 1992, sec. 5.11; Lumley
2010, *Complex Surveys*, sec. 2.4.3). ``F`` is a step function, so a rule is needed between two observations;
this module implements R ``survey`` (>= 4.1) ``qrule = "math"`` (its default, the same as ``"hf1"``, the weighted
analogue of Hyndman & Fan 1996 type 1), read from ``R/qrule.R`` of the package:

- drop zero weights, sort ``y`` (ties kept in their original order), ``C_k`` the cumulative weights;
- ``k`` the last position with ``C_k <= p W`` (the first position when there is none);
- the quantile is ``y_(k)`` if ``p - C_k / W`` is exactly zero and otherwise ``y_(k+1)`` (``y_(n)`` at the end).

R accumulates sums in extended precision before rounding to double; the cumulative weights here are summed
in ``numpy.longdouble`` too, so the exact-zero test above falls the same way on equal weights. One property of
the rule, kept for parity with R: for ``p`` below the first cumulative weight the answer is ``y_(2)``, not
``y_(1)``.

Confidence intervals are Woodruff's (1952): see ``SurveyDesign.quantile``.
"""

from __future__ import annotations

import numpy as np


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
    """The weighted ``p``-quantile(s) of ``y`` by R ``survey``'s ``qrule = "math"`` (see the module docstring)."""
    return quantile_math(*sorted_cumulative(y, w), p)
