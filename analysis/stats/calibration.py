"""Calibration of survey weights to known population totals: post-stratification, raking and linear (GREG)
calibration, each returning a new ``SurveyDesign`` whose variance is the calibrated linearisation variance.

Methods (Deville & Sarndal 1992, *JASA* 87: 376-382; Sarndal, Swensson & Wretman 1992, *Model Assisted Survey
Sampling*, ch. 6-7; Lumley 2010, *Complex Surveys*, ch. 7):

- ``post_stratify``: the weights of each post-stratum (a cell of one or more categorical columns) are scaled
  so that they sum to the cell's population count, ``w_i = d_i N_c / sum_{c} d`` (Sarndal et al. 1992 sec. 7.6);
- ``rake``: iterative proportional fitting (Deming & Stephan 1940) on several margins, each margin's cells
  scaled in turn until every margin matches its totals to a relative tolerance; an ``InputError`` when it has not
  converged within the iteration cap;
- ``calibrate``: the calibration estimator of Deville & Sarndal (1992) on a model matrix ``x`` (categorical
  columns as one indicator per category, numeric columns as they are, an optional intercept) with the linear
  distance (``calfun="linear"``: the GREG weights ``g_i = 1 + x_i' lambda / sigma2_i``, Sarndal et al. 1992
  sec. 6.5) or the raking distance (``calfun="raking"``: ``g_i = exp(x_i' lambda)``, solved by Newton steps).

**Variance** (Sarndal et al. 1992 sec. 6.6, result 6.6.1; Deville & Sarndal 1992 sec. 3): an estimator on
calibrated weights ``w_i = g_i d_i`` is linearised as usual into scores ``z_i = w_i e_i``; the scores are then
replaced by their residuals from the design-weighted regression of ``e`` on the calibration variables,
``z_i <- w_i (e_i - x_i' B)``, ``B = (sum d x x' / sigma2)^- sum d x e / sigma2``, and the ultimate-cluster
variance of ``analysis.stats.design`` is taken of the residual PSU totals. This is what R's ``survey`` package
does for ``calibrate`` (``svyrecvar`` with a ``greg_calibration`` object: ``qr.resid`` on ``x sqrt(d) /
sqrt(sigma2)``), and for ``postStratify`` / ``rake`` when the design weights are constant within cells (R
centres those on unweighted cell means of ``z / w``); the tests reproduce R's published results. A total of a
calibration variable therefore has (numerically) zero SE, and domain estimates keep every PSU: a domain's
scores are zero outside it but its residuals are not (Lumley 2010 sec. 7.2).

Totals are given per category: a ``pandas.DataFrame`` with the category column(s) named as in the data and a
``total`` column (the format of the ``--poststratify`` / ``--rake`` files), or for one column a mapping
``{category: total}``. Categories are matched on their text form. Every sample category must have a total and
every total a sample category (R's ``partial=FALSE``); totals must be positive numbers; calibration columns must
have no missing value unless ``missing="keep"`` leaves such rows at their design weight (``g = 1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.errors import InputError
from analysis.stats.design import SurveyDesign

CALFUNS = ("linear", "raking")
MISSING_OPTIONS = ("error", "keep")
TOTAL_COLUMN = "total"
INTERCEPT = "(Intercept)"


# --- the calibration model a calibrated design carries ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CalibrationModel:
    """What a calibrated ``SurveyDesign`` keeps to linearise its estimates: the calibrated ``weights``, the model
    matrix ``x`` (n, p; sparse: mostly cell indicators) of the calibration variables, the design
    (pre-calibration) weights ``base_weights`` and the per-row model variance ``sigma2`` (1 unless
    heteroscedastic). ``SurveyDesign`` calls ``residual_scores`` / ``residual_psu_totals`` in its covariance
    (Sarndal et al. 1992 result 6.6.1)."""

    weights: np.ndarray
    x: sparse.csr_matrix
    base_weights: np.ndarray
    sigma2: np.ndarray
    method: str
    terms: tuple

    @cached_property
    def _q(self) -> np.ndarray:
        return self.base_weights / self.sigma2

    @cached_property
    def _gram_inverse(self) -> np.ndarray:
        """Moore-Penrose inverse of ``sum q x x'`` (indicator margins are collinear with each other)."""
        gram = self.x.T @ self.x.multiply(self._q[:, None]).tocsr()
        return np.linalg.pinv(np.asarray(gram.todense()))

    @staticmethod
    def _per_weight(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(weights > 0, scores / np.where(weights > 0, weights, 1.0), 0.0)

    def residual_scores(self, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(n, k) residual scores ``w (e - x B)`` of unit scores ``z = w e`` (n, k)."""
        z = np.asarray(scores, dtype=float)
        one = z.ndim == 1
        z = z[:, None] if one else z
        e = self._per_weight(z, weights[:, None])
        B = self._gram_inverse @ np.asarray(self.x.T @ (e * self._q[:, None]))
        out = z - weights[:, None] * np.asarray(self.x @ B)
        return out[:, 0] if one else out

    def residual_psu_totals(self, z: np.ndarray, rows: np.ndarray, group: np.ndarray, n_groups: int, psu: np.ndarray, n_psu: int, weights: np.ndarray) -> np.ndarray:
        """(n_psu, n_groups) PSU totals of the residual scores of many domains at once: ``z`` are the scores of
        the units ``rows`` in domain ``group`` (zero elsewhere)."""
        n = len(weights)
        qe = self._q[rows] * self._per_weight(z, weights[rows])
        member = sparse.csr_matrix((qe, (group, np.arange(len(rows)))), shape=(n_groups, len(rows)))
        A = np.asarray((member @ self.x[rows]).todense())  # (G, p): sum over the domain of q e x
        B = A @ self._gram_inverse  # (G, p); the inverse is symmetric
        raw = np.bincount(psu[rows] * n_groups + group, weights=z, minlength=n_psu * n_groups).reshape(n_psu, n_groups)
        incidence = sparse.csr_matrix((weights, (psu, np.arange(n))), shape=(n_psu, n))
        wx = np.asarray((incidence @ self.x).todense())  # (P, p): PSU totals of w x
        return raw - wx @ B.T


# --- inputs: categories and totals -----------------------------------------------------------------------------


def _source(design: SurveyDesign) -> str | None:
    return design.source


def _require_columns(design: SurveyDesign, columns, role: str) -> list[str]:
    cols = [columns] if isinstance(columns, str) else list(columns)
    if not cols:
        raise InputError("bad_option", f"{role}: give at least one column", _source(design))
    for c in cols:
        if not isinstance(c, str) or c not in design.data.columns:
            raise InputError("unknown_column", f"{role} column '{c}' is not in the data", _source(design))
    return cols


def _missing_rows(design: SurveyDesign, cols: list[str], missing: str, role: str) -> np.ndarray:
    """Boolean per row: some calibration column is missing. With ``missing="error"`` the first such row is an
    ``InputError`` naming the column and the row (1-based data row)."""
    if missing not in MISSING_OPTIONS:
        raise InputError("bad_option", f"missing must be one of {', '.join(MISSING_OPTIONS)}, not '{missing}'", _source(design))
    out = np.zeros(design.n, dtype=bool)
    for c in cols:
        na = design.data[c].isna().to_numpy()
        if na.any() and missing == "error":
            first = int(np.flatnonzero(na)[0])
            raise InputError("missing_calibration_value", f"{role} column '{c}' has {int(na.sum())} missing value(s), first in data row {first + 1}; "
                             "calibration needs every row's category (or missing='keep' to leave such rows at their design weight)", _source(design))
        out |= na
    return out


def _cell_keys(design: SurveyDesign, cols: list[str]) -> pd.Series:
    """Text key of each row's cell (the columns' text forms joined), as the totals are matched."""
    parts = [design.data[c].astype("string").fillna("") for c in cols]
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key.reset_index(drop=True)


def _totals_frame(design: SurveyDesign, cols: list[str], totals, role: str) -> pd.Series:
    """Population totals as a Series indexed by cell key, validated: columns present, totals numeric and
    positive, no duplicated cell."""
    source = _source(design)
    if isinstance(totals, Mapping) and not isinstance(totals, pd.DataFrame):
        if len(cols) != 1:
            raise InputError("bad_totals", f"{role}: totals for {len(cols)} columns must be a table with columns {', '.join(cols)} and '{TOTAL_COLUMN}'", source)
        totals = pd.DataFrame({cols[0]: list(totals.keys()), TOTAL_COLUMN: list(totals.values())})
    if not isinstance(totals, pd.DataFrame):
        raise InputError("bad_totals", f"{role}: population totals must be a table (category columns and '{TOTAL_COLUMN}') or a mapping", source)
    missing_cols = [c for c in [*cols, TOTAL_COLUMN] if c not in totals.columns]
    if missing_cols:
        raise InputError("bad_totals", f"{role}: the totals table has no column '{missing_cols[0]}' (it needs {', '.join(cols)} and '{TOTAL_COLUMN}')", source)
    raw = totals[TOTAL_COLUMN]
    value = pd.to_numeric(raw, errors="coerce")
    bad = value.isna() | ~np.isfinite(value.astype(float))
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError("bad_total", f"{role}: column '{TOTAL_COLUMN}' must be a number; totals row {first + 1} has {raw.iloc[first]!r}", source)
    nonpos = (value <= 0).to_numpy()
    if nonpos.any():
        first = int(np.flatnonzero(nonpos)[0])
        raise InputError("bad_total", f"{role}: column '{TOTAL_COLUMN}' must be positive; totals row {first + 1} has {value.iloc[first]:g}", source)
    for c in cols:
        na = totals[c].isna().to_numpy()
        if na.any():
            raise InputError("bad_totals", f"{role}: totals column '{c}' is empty in totals row {int(np.flatnonzero(na)[0]) + 1}", source)
    parts = [totals[c].astype("string") for c in cols]
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    dup = key.duplicated().to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        raise InputError("bad_totals", f"{role}: totals row {first + 1} repeats the category {_describe(cols, key.iloc[first])}", source)
    return pd.Series(value.to_numpy(dtype=float), index=key.to_numpy())


def _describe(cols: list[str], key: str) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(cols, str(key).split("\x1f")))


def _match_cells(design: SurveyDesign, cols: list[str], totals, role: str, keep: np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """Cell index (0..C-1, -1 for rows left out) of every row and the totals in cell order. Every sample cell
    needs a total (the first uncovered row is named) and every total a sample cell."""
    pop = _totals_frame(design, cols, totals, role)
    key = _cell_keys(design, cols)
    present = key[keep]
    unknown = ~present.isin(pop.index)
    if unknown.any():
        row = int(present.index[unknown.to_numpy()][0])
        raise InputError("uncovered_category", f"{role}: data row {row + 1} has {_describe(cols, key.iloc[row])}, which has no population total "
                         f"({int(present[unknown].nunique())} sample categor(ies) without one)", _source(design))
    absent = ~pop.index.isin(present.unique())
    if absent.any():
        first = pop.index[absent][0]
        raise InputError("empty_category", f"{role}: the totals give {_describe(cols, first)} (and {int(absent.sum()) - 1} more), which no sampled row has; "
                         "a cell without sample cannot be weighted to its total (collapse it with a neighbour)", _source(design))
    code = pd.Index(pop.index).get_indexer(key.to_numpy())
    code = np.where(keep, code, -1).astype(np.int64)
    return code, pop


def _indicators(code: np.ndarray, n_cells: int) -> sparse.csr_matrix:
    ok = np.flatnonzero(code >= 0)
    return sparse.csr_matrix((np.ones(len(ok)), (ok, code[ok])), shape=(len(code), n_cells))


def _new_design(design: SurveyDesign, weights: np.ndarray, x: np.ndarray, sigma2: np.ndarray, method: str, terms) -> SurveyDesign:
    model = CalibrationModel(weights=weights, x=sparse.csr_matrix(x), base_weights=design.w.copy(), sigma2=sigma2, method=method, terms=tuple(terms))
    if design.calibration is not None:
        raise InputError("already_calibrated", "the design is already calibrated: calibrate the design weights once, with all the margins together", _source(design))
    return SurveyDesign(design.data, design.weight_col, strata=design.strata_col, psu=design.psu_col, fpc=design.fpc_col,
                        lonely_psu=design.lonely_psu, source=design.source, missing_fpc=design.missing_fpc, calibration=model,
                        pps=design.pps)


# --- post-stratification ---------------------------------------------------------------------------------------


def post_stratify(design: SurveyDesign, strata_columns, population_totals, missing: str = "error") -> SurveyDesign:
    """Post-stratify ``design`` on the cells of ``strata_columns`` (one column or several: their joint cells) to
    ``population_totals`` (a table with those columns and ``total``, or for one column ``{category: total}``).

    Weights in cell c become ``d_i N_c / sum_c d`` (Sarndal et al. 1992 sec. 7.6; R ``postStratify``); the
    variance centres each score on its design-weighted cell mean (the GREG residual on cell indicators).
    """
    cols = _require_columns(design, strata_columns, "post-stratification")
    keep = ~_missing_rows(design, cols, missing, "post-stratification") & (design.w > 0)
    code, pop = _match_cells(design, cols, population_totals, "post-stratification", keep)
    C = len(pop)
    sample = np.bincount(code[code >= 0], weights=design.w[code >= 0], minlength=C)
    g = np.ones(design.n)
    g[code >= 0] = (pop.to_numpy() / sample)[code[code >= 0]]
    terms = [f"{'x'.join(cols)}={_describe(cols, k)}" for k in pop.index]
    return _new_design(design, design.w * g, _indicators(code, C), np.ones(design.n), "post-stratified", terms)


# --- raking ----------------------------------------------------------------------------------------------------


def rake(design: SurveyDesign, margins, population_totals, epsilon: float = 1e-7, max_iterations: int = 100, missing: str = "error") -> SurveyDesign:
    """Rake ``design`` to several margins by iterative proportional fitting (Deming & Stephan 1940; R ``rake``).

    ``margins`` is a list whose items are a column or a list of columns (a joint margin, e.g. kota x sex);
    ``population_totals`` the list of their totals in the same order. Each pass scales every margin's cells to
    their totals in turn; it stops when every margin's weighted totals are within ``epsilon`` (relative) of the
    population totals, and raises ``InputError("rake_not_converged")`` after ``max_iterations`` passes (margins
    whose totals disagree, e.g. different grand totals, never converge). The variance is that of raking as a
    calibration (Deville, Sarndal & Sautory 1993, *JASA* 88: 1013-1020): GREG residuals on the indicators of all
    the margins' cells.
    """
    if isinstance(margins, str) or len(margins) == 0:
        raise InputError("bad_option", "rake: margins must be a list of columns (or lists of columns), one per margin", _source(design))
    if len(margins) != len(population_totals):
        raise InputError("bad_option", f"rake: {len(margins)} margin(s) but {len(population_totals)} totals table(s)", _source(design))
    keep = design.w > 0
    specs = []
    for k, margin in enumerate(margins):
        role = f"rake margin {k + 1}"
        cols = _require_columns(design, margin, role)
        keep &= ~_missing_rows(design, cols, missing, role)
        specs.append((cols, role))
    coded = []
    for (cols, role), totals in zip(specs, population_totals):
        code, pop = _match_cells(design, cols, totals, role, keep)
        coded.append((cols, code, pop.to_numpy(), list(pop.index)))
    w = design.w.copy()
    rows = np.flatnonzero(keep)
    converged = False
    worst = np.inf
    for _ in range(max_iterations):
        for _cols, code, target, _ in coded:
            sample = np.bincount(code[rows], weights=w[rows], minlength=len(target))
            w[rows] *= (target / sample)[code[rows]]
        worst = max(float(np.max(np.abs(np.bincount(code[rows], weights=w[rows], minlength=len(target)) / target - 1.0))) for _c, code, target, _ in coded)
        if worst < epsilon:
            converged = True
            break
    if not converged:
        raise InputError("rake_not_converged", f"raking did not converge in {max_iterations} iterations (largest relative margin misfit {worst:.3g}); "
                         "check that every margin has the same grand total and that no cell is empty", _source(design))
    x = sparse.hstack([_indicators(code, len(target)) for _c, code, target, _ in coded], format="csr")
    terms = [f"{'x'.join(cols)}={_describe(cols, k)}" for cols, _code, _t, keys in coded for k in keys]
    return _new_design(design, w, x, np.ones(design.n), "raked", terms)


# --- linear and raking calibration (Deville & Sarndal 1992) ---------------------------------------------------


def _model_matrix(design: SurveyDesign, columns, population_totals, intercept: bool, missing: str):
    """Model matrix, population totals vector and term names for ``calibrate``."""
    source = _source(design)
    if not isinstance(population_totals, Mapping):
        raise InputError("bad_totals", "calibrate: population totals must be a mapping {column: total or {category: total}}", source)
    cols = _require_columns(design, columns, "calibration")
    na = _missing_rows(design, cols, missing, "calibration")
    keep = ~na & (design.w > 0)
    blocks, totals, terms = [], [], []
    grand = population_totals.get(INTERCEPT)
    for c in cols:
        if c not in population_totals:
            raise InputError("bad_totals", f"calibration: no population total for column '{c}'", source)
        series = design.data[c]
        categorical = not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
        given = population_totals[c]
        if categorical or isinstance(given, (Mapping, pd.DataFrame)):
            code, pop = _match_cells(design, [c], given, f"calibration column '{c}'", keep)
            blocks.append(_indicators(code, len(pop)))
            totals.extend(pop.to_numpy())
            terms.extend(f"{c}={k}" for k in pop.index)
            if grand is None:
                grand = float(pop.sum())
        else:
            value = pd.to_numeric(pd.Series([given]), errors="coerce").iloc[0]
            if pd.isna(value) or not np.isfinite(value):
                raise InputError("bad_total", f"calibration: the total of numeric column '{c}' must be a number, not {given!r}", source)
            blocks.append(sparse.csr_matrix(np.where(keep, series.to_numpy(dtype=float, na_value=0.0), 0.0)[:, None]))
            totals.append(float(value))
            terms.append(c)
    if intercept:
        if grand is None:
            raise InputError("bad_totals", f"calibration: an intercept needs the population size as totals['{INTERCEPT}'] (or a categorical column)", source)
        grand_value = pd.to_numeric(pd.Series([grand]), errors="coerce").iloc[0]
        if pd.isna(grand_value) or grand_value <= 0:
            raise InputError("bad_total", f"calibration: totals['{INTERCEPT}'] must be a positive number, not {grand!r}", source)
        blocks.insert(0, sparse.csr_matrix(keep.astype(float)[:, None]))
        totals.insert(0, float(grand_value))
        terms.insert(0, INTERCEPT)
    return sparse.hstack(blocks, format="csr"), np.asarray(totals, dtype=float), terms, keep


def calibrate(design: SurveyDesign, columns, population_totals, calfun: str = "linear", intercept: bool = True, variance=None,
              epsilon: float = 1e-7, max_iterations: int = 50, missing: str = "error") -> SurveyDesign:
    """Calibrate ``design`` to population totals of ``columns`` (Deville & Sarndal 1992; R ``calibrate``).

    ``population_totals`` maps each column to its total (numeric column) or to ``{category: total}`` /
    a totals table (categorical column: one indicator per category), plus ``"(Intercept)"`` the population size
    when ``intercept`` and no categorical column gives it. ``calfun="linear"``: GREG weights
    ``g = 1 + x' lambda / sigma2`` in one step (Sarndal et al. 1992 eq. 6.5.9); ``"raking"``: ``g = exp(x'
    lambda)`` by Newton steps until every total matches to ``epsilon`` (relative to ``1 + |total|``, as R's
    ``grake``), else ``InputError("calibration_not_converged")``. ``variance``: a column (or per-row array) of
    model variances ``sigma2`` for the linear distance (e.g. the auxiliary itself, with ``intercept=False``:
    the ratio estimator; R ``calibrate(..., variance=1)`` on ``~x-1``). Linear weights that turn negative are
    refused (use ``calfun="raking"``).
    """
    source = _source(design)
    if calfun not in CALFUNS:
        raise InputError("bad_option", f"calfun must be one of {', '.join(CALFUNS)}, not '{calfun}'", source)
    x, target, terms, keep = _model_matrix(design, columns, population_totals, intercept, missing)
    d = design.w
    if variance is None:
        sigma2 = np.ones(design.n)
    else:
        if calfun != "linear":
            raise InputError("bad_option", "variance applies to calfun='linear' only", source)
        raw = design.data[variance] if isinstance(variance, str) else pd.Series(np.asarray(variance))
        sigma2 = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if len(sigma2) != design.n:
            raise InputError("bad_length", f"variance has {len(sigma2)} values for {design.n} rows", source)
        bad = keep & ~(sigma2 > 0)
        if bad.any():
            raise InputError("bad_variance", f"calibration variance must be positive; data row {int(np.flatnonzero(bad)[0]) + 1} is not", source)
        sigma2 = np.where(keep, sigma2, 1.0)
    q = d / sigma2

    def gram(v: np.ndarray) -> np.ndarray:
        return np.asarray((x.T @ x.multiply(v[:, None]).tocsr()).todense())

    if calfun == "linear":
        lam = np.linalg.pinv(gram(q)) @ (target - x.T @ d)
        g = 1.0 + (x @ lam) / sigma2
    else:
        lam = np.zeros(x.shape[1])
        for _ in range(max_iterations):
            g = np.exp(x @ lam)
            misfit = target - x.T @ (d * g)
            if np.all(np.abs(misfit) / (1.0 + np.abs(target)) < epsilon):
                break
            lam = lam + np.linalg.pinv(gram(d * g)) @ misfit
        else:
            g = np.exp(x @ lam)
            misfit = target - x.T @ (d * g)
            if not np.all(np.abs(misfit) / (1.0 + np.abs(target)) < epsilon):
                raise InputError("calibration_not_converged", f"raking calibration did not converge in {max_iterations} iterations "
                                 f"(largest relative misfit {float(np.max(np.abs(misfit) / (1.0 + np.abs(target)))):.3g})", source)
    g = np.where(keep, g, 1.0)
    w = d * g
    reached = x.T @ w
    if not np.allclose(reached, target, rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(target).max()))):
        worst = int(np.argmax(np.abs(reached - target) / (1.0 + np.abs(target))))
        raise InputError("inconsistent_totals", f"calibration: the totals cannot all be met (term '{terms[worst]}': reached {reached[worst]:g}, wanted {target[worst]:g}); "
                         "margins of the same population must have the same grand total", source)
    if (w < 0).any():
        raise InputError("negative_calibrated_weight", f"linear calibration gives {int((w < 0).sum())} negative weight(s), first in data row {int(np.flatnonzero(w < 0)[0]) + 1}; "
                         "use calfun='raking' (always positive)", source)
    return _new_design(design, w, x, sigma2, f"calibrated ({calfun})", terms)
