"""Survey-weighted regression on any ``SurveyDesign``: linear (gaussian) and logistic (binomial) models, as R
``svyglm(y ~ x1 + ... , design, family = gaussian())`` / ``quasibinomial()``.

Estimation (Binder 1983; Lumley 2010, *Complex Surveys*, ch. 5; Lumley & Scott 2017, *Statistical Science* 32):

- coefficients solve the weighted (pseudo-likelihood) score equations ``sum_i w_i x_i (y_i - mu_i) = 0``; for the
  gaussian family that is weighted least squares ``(X'WX)^-1 X'Wy``, for the binomial family Fisher scoring
  (= Newton-Raphson with the canonical logit link) with step halving;
- the covariance is the linearisation (sandwich) estimator ``V = A^-1 B A^-1``, ``A = sum_i w_i v(mu_i) x_i x_i'``
  and ``B`` the design covariance of the score totals ``w_i x_i (y_i - mu_i)`` (PSU totals centred within
  strata, first-stage fpc, lonely-PSU rule): ``SurveyDesign.covariance``, the same linearisation structure
  (``design_structure``) that the access models (``analysis.stats.logit``) take through ``psu_layout``;
- rows with a missing outcome or covariate, or outside ``where``, are outside the model's domain but keep their
  PSU in the variance with a zero score (R subsets a ``survey.design2`` the same way);
- tests and intervals use t with ``df = degf(design) + 1 - p`` (p coefficients), R ``svyglm``'s residual df,
  where ``degf`` counts the PSUs holding model rows minus their strata.

The unit-level fit serves any survey file from the command line (``python -m analysis regress``); the
dashboard's access models use the pattern-aggregated logistic fit of ``analysis.stats.logit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError
from analysis.stats.design import SurveyDesign, check_level
from analysis.stats.logit import expit

FAMILIES = ("gaussian", "binomial")
TABLE_COLUMNS = ["term", "estimate", "se", "t", "p_value", "ci_low", "ci_high", "df"]


@dataclass(frozen=True)
class SurveyRegression:
    """A fitted survey-weighted regression: coefficient names (``"intercept"`` first), estimates, the design
    (sandwich) covariance, the residual df for tests and the unweighted and weighted number of model rows."""

    family: str
    outcome: str
    names: tuple[str, ...]
    coef: np.ndarray
    cov: np.ndarray
    df: int
    n: int
    weighted_n: float
    iterations: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per coefficient: estimate, SE, t, two-sided p value and the t interval at ``level``."""
        level = check_level(level)
        se = self.se
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.coef / se
        if self.df > 0:
            p = 2.0 * stats.t.sf(np.abs(t), self.df)
            crit = stats.t.ppf(0.5 + level / 2.0, self.df)
        else:
            p = np.full(len(t), np.nan)
            crit = np.nan
        return pd.DataFrame({"term": list(self.names), "estimate": self.coef, "se": se, "t": t, "p_value": p,
                             "ci_low": self.coef - crit * se, "ci_high": self.coef + crit * se, "df": self.df})


def fit_survey_regression(design: SurveyDesign, y: str, x, family: str = "gaussian", where=None, intercept: bool = True,
                          tol: float = 1e-10, max_iter: int = 100, factors=()) -> SurveyRegression:
    """Fit ``y ~ x`` on ``design`` (see the module docstring). ``family``: "gaussian" (R ``svyglm`` default) or
    "binomial" (logistic; ``y`` boolean or 0/1, as ``quasibinomial()``). Collinear covariates are an
    ``InputError("collinear")`` naming them; a model with no residual df is refused.

    Covariates are numeric, except those named in ``factors`` and those whose column holds text and no
    numbers (R turns a character column into a factor the same way): a factor enters as one 0/1 column per level but its first
    (R's treatment contrasts: the levels sorted, the first is the reference), named ``x`` + level as R prints
    them (``stypeH``, ``stypeM``); a row with the factor missing is outside the model. A factor with a single
    observed level is refused (R: "contrasts can be applied only to factors with 2 or more levels")."""
    if family not in FAMILIES:
        raise InputError("bad_option", f"family must be one of {', '.join(FAMILIES)}, not '{family}'", design.source)
    covariates = [x] if isinstance(x, str) else list(x)
    if not covariates and not intercept:
        raise InputError("empty_model", "the model has no covariates and no intercept", design.source)
    twice = sorted({c for c in covariates if covariates.count(c) > 1})
    if twice:
        raise InputError("collinear", f"collinear regressors: covariate(s) {', '.join(map(repr, twice))} given more than once", design.source)
    if y in covariates:
        raise InputError("collinear", f"outcome '{y}' is also a covariate", design.source)
    yv = design.numeric(y, binary=family == "binomial")
    unknown = sorted(set(factors) - set(covariates))
    if unknown:
        raise InputError("bad_option", f"factor(s) {', '.join(map(repr, unknown))} are not among the covariates", design.source)
    columns, terms = [], []
    for c in covariates:
        if c in factors or _is_text(design, c):
            dummies = _treatment_dummies(design, c)
            columns += [d for _, d in dummies]
            terms += [name for name, _ in dummies]
        else:
            columns.append(design.numeric(c))
            terms.append(c)
    inside = ~np.isnan(yv) & design.mask(where) & (design.w > 0)
    for col in columns:
        inside &= ~np.isnan(col)
    if not inside.any():
        raise InputError("empty_model", f"no row has '{y}' and every covariate observed (with a positive weight)", design.source)
    names = (("intercept",) if intercept else ()) + tuple(terms)
    X = np.column_stack(([np.ones(design.n)] if intercept else []) + columns)[inside]
    yy, w = yv[inside], design.w[inside]
    _check_rank(X, w, names, design.source)
    beta, A, iterations = _fit(X, yy, w, family, tol, max_iter)
    mu = X @ beta if family == "gaussian" else expit(X @ beta)
    A_inv = np.linalg.inv(A)
    scores = np.zeros((design.n, X.shape[1]))
    scores[inside] = (w * (yy - mu))[:, None] * X
    B = design.covariance(scores)
    cov = A_inv @ B @ A_inv
    df = design.subpopulation_df(inside) + 1 - len(names)
    if df < 1:
        raise InputError("no_residual_df", f"{len(names)} coefficients need more than {design.subpopulation_df(inside)} design degrees of freedom "
                         "(PSUs minus strata holding the model's rows): fewer covariates, or a design with more PSUs", design.source)
    return SurveyRegression(family=family, outcome=y, names=names, coef=beta, cov=cov, df=int(df), n=int(inside.sum()),
                            weighted_n=float(w.sum()), iterations=iterations)


def _is_text(design: SurveyDesign, column: str) -> bool:
    """Does ``column`` hold text, none of it a number (then it is a factor)? A column of numbers with some text
    among them is not: ``design.numeric`` refuses it naming the first such row (a data-entry slip, not a
    factor of hundreds of levels)."""
    design._require(column, "covariate")
    series = design.data[column]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return False
    observed = series.dropna()
    return bool(len(observed)) and bool(pd.to_numeric(observed.astype(str), errors="coerce").isna().all())


def _treatment_dummies(design: SurveyDesign, column: str) -> list[tuple[str, np.ndarray]]:
    """``(R's coefficient name, 0/1 column with NaN where missing)`` for every level of ``column`` but the first."""
    levels = design.levels(column)
    if len(levels) < 2:
        raise InputError("constant_factor", f"factor '{column}' has {len(levels)} observed level(s); a factor needs 2 or more", design.source)
    return [(f"{column}{level}", design.category_indicator(column, level).to_numpy(dtype=float)) for level in levels[1:]]


def _check_rank(X: np.ndarray, w: np.ndarray, names, source) -> None:
    """Refuse collinear covariates, naming the first column that is a combination of the ones before it."""
    Xw = X * np.sqrt(w)[:, None]
    scale = np.linalg.norm(Xw, axis=0)
    scale[scale == 0] = 1.0
    Z = Xw / scale
    for j in range(Z.shape[1]):
        if np.linalg.matrix_rank(Z[:, : j + 1], tol=1e-9 * max(Z.shape)) <= j:
            others = ", ".join(f"'{n}'" for n in names[:j]) or "nothing"
            if not np.any(X[:, j] != X[0, j]):
                reason = f"covariate '{names[j]}' is constant in the model's rows" + (" (collinear with the intercept)" if "intercept" in names[:j] else "")
            else:
                reason = f"covariate '{names[j]}' is a linear combination of {others}"
            raise InputError("collinear", f"collinear regressors: {reason}; drop one of them", source)


def _fit(X, y, w, family, tol, max_iter):
    """Weighted least squares (gaussian), or Fisher scoring with step halving (binomial); returns the
    coefficients, the information ``A = X' diag(w v(mu)) X`` and the number of iterations."""
    if family == "gaussian":
        A = (X * w[:, None]).T @ X
        beta = np.linalg.solve(A, (X * w[:, None]).T @ y)
        return beta, A, 1

    def loglik(b):
        eta = X @ b
        return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))

    beta = np.zeros(X.shape[1])
    ll = loglik(beta)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count of iterations is reported after the loop
        mu = expit(X @ beta)
        A = (X * (w * mu * (1 - mu))[:, None]).T @ X
        step = np.linalg.solve(A, X.T @ (w * (y - mu)))
        size = 1.0
        for _ in range(40):
            candidate = beta + size * step
            new = loglik(candidate)
            if new >= ll - 1e-12 * abs(ll):
                break
            size *= 0.5
        beta, gain, ll = candidate, new - ll, new
        if np.max(np.abs(size * step)) < tol or abs(gain) <= 1e-14 * abs(ll):
            break
    mu = expit(X @ beta)
    A = (X * (w * mu * (1 - mu))[:, None]).T @ X
    return beta, A, it
