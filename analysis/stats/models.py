"""Access models: survey-weighted logistic regressions of internet use, household internet access and JAKI
awareness on income quintile and education (plus age group, sex, household size and kota).

Estimation (design-based, Binder 1983; Lumley 2010, *Complex Surveys*, ch. 5; Lumley & Scott 2017):

- Coefficients solve the weighted (pseudo-likelihood) score equations ``sum_i w_i x_i (y_i - mu_i) = 0``,
  the same estimator as statsmodels ``GLM(y, X, family=Binomial(), var_weights=w)`` and R ``svyglm``.
  Every covariate is categorical or a small integer, so the fit runs on the distinct covariate patterns with
  weighted counts (sufficient statistics): the estimate is identical to the unit-level fit and takes well
  under a second on a million persons (statsmodels' pinv-based IRLS on the unit rows took 23 s there).
- Standard errors: the linearisation (sandwich) estimator ``V = A^-1 B A^-1``, ``A = sum w mu (1-mu) x x'``,
  with ``B`` the design covariance of the score totals ``w_i x_i (y_i - mu_i)``: PSU totals centred within
  strata, the first-stage fpc when known, PSUs nested in strata (``analysis.stats.design.PsuLayout.covariance``).
  statsmodels ``GLM(..., var_weights=w).fit(cov_type="cluster", cov_kwds={"groups": psu})`` gives nearly the
  same SEs (it ignores strata and applies a G/(G-1) factor); ``freq_weights`` with raw weights would treat
  every weighted person as an observation and give SEs about 15 times too small: never do that.
  ``tests/stats/test_models.py`` checks coefficients and SEs against ``svy`` (a second implementation).
- The modelled population is a *domain* (persons aged 5+; adult respondents): units outside it keep their PSU
  in the variance with a zero score (never a subset of PSUs).
- Tests use t with ``design df - (number of coefficients - 1)`` degrees of freedom, as R ``svyglm``.
- Odds ratios ``exp(b)`` with t intervals; average marginal effects (AME; the change in the predicted
  probability averaged over the weighted population, Graubard & Korn 2004 "predictive margins") and the
  predicted probability for every income x education cell with the other covariates at their observed
  weighted distribution. Their SEs linearise both the averaging over the sample and the estimated
  coefficients: ``z_i = w_i (f_i - F) / W + g' A^-1 w_i x_i (y_i - mu_i)`` with ``g = dF/dbeta``, then the
  design covariance of ``z``.
- Fit: unweighted and weighted n, McFadden's pseudo-R2 on the weighted log-likelihood, the weighted AUC
  (area under the ROC curve, ties counted one half), the design-based Wald test of the income x education
  interaction (F-adjusted, Korn & Graubard 1990: ``F = (d - q + 1) / (d q) W`` on ``(q, d - q + 1)`` df), and
  the Archer & Lemeshow (2006) goodness-of-fit test for survey data: mean residuals in ten groups of the
  weighted deciles of the predicted probability, design-based Wald test, ``F = (f - g + 2) / (f (g - 1)) W`` on
  ``(g - 1, f - g + 2)`` df with ``f`` the design df.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.linalg import cho_factor, cho_solve

from analysis.errors import InputError
from analysis.stats.design import PsuLayout, psu_layout
from analysis.tables import Field, Table

STAGE = "analysis.stats.models"

INCOME_QUINTILES = (1, 2, 3, 4, 5)
EDUCATION_LEVELS = ("no_diploma", "sd", "smp", "sma", "tertiary")
AGE_GROUPS = ("5-14", "15-24", "25-44", "45-59", "60+")
SEXES = ("L", "P")
MIN_INTERACTION_CELL = 30  # units in an income x education cell for it to get its own interaction coefficient
ADULT_AGE = 17  # KTP age: a resident gets an NIK-bearing identity card, needed to log in to JAKI


@dataclass(frozen=True)
class Term:
    """One covariate: ``levels`` for a categorical term (first level present is the reference unless
    ``reference`` says otherwise), ``None`` for a numeric one."""

    column: str
    levels: tuple | None = None
    reference: object = None

    @property
    def categorical(self) -> bool:
        return self.levels is not None


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    label_en: str
    label_id: str
    table: str  # survey_persons | survey_households
    outcome: str
    universe: str  # in words
    terms: tuple[Term, ...]


def _kota_term(levels=None) -> Term:
    return Term("kota", tuple(levels) if levels is not None else None, None)


BASE_TERMS = (
    Term("income_quintile", INCOME_QUINTILES, 1),
    Term("education", EDUCATION_LEVELS, "no_diploma"),
    Term("age_group", AGE_GROUPS, "25-44"),
    Term("sex", SEXES, "L"),
    Term("hh_size"),
)

MODELS = (
    ModelSpec("internet_use", "Persons 5+: used the internet (last 3 months)", "Penduduk 5+: mengakses internet (3 bulan terakhir)",
              "survey_persons", "uses_internet", "persons aged 5 and over", BASE_TERMS),
    ModelSpec("household_internet", "Households: internet access", "Rumah tangga: akses internet",
              "survey_households", "has_internet", "all households; education, age and sex of the adult respondent", BASE_TERMS),
    ModelSpec("jaki_awareness", "Adult respondents: know the JAKI app", "Responden dewasa: mengetahui aplikasi JAKI",
              "survey_households", "knows_jaki", f"households whose respondent is aged {ADULT_AGE}+", BASE_TERMS),
)


# --- data preparation ----------------------------------------------------------------------------------------


def _respondent_age_group(age: pd.Series) -> pd.Series:
    a = pd.to_numeric(age, errors="coerce")
    bins = [5, 15, 25, 45, 60, np.inf]
    return pd.cut(a, bins=bins, right=False, labels=list(AGE_GROUPS)).astype("object").where(a.notna() & (a >= 5))


def model_frame(spec: ModelSpec, households: pd.DataFrame | None = None, persons: pd.DataFrame | None = None) -> pd.DataFrame:
    """The analysis frame of a model: outcome ``y`` (float, NaN outside the model), covariate columns named as
    the terms, ``in_model`` (the domain) and the design columns. All rows are kept (domain, not subset)."""
    if spec.table == "survey_persons":
        if persons is None:
            raise InputError("missing_table", "survey_persons is needed for the persons' internet-use model")
        src = persons
        frame = pd.DataFrame({
            "income_quintile": src["income_quintile"], "education": src["education"], "age_group": src["age_group"],
            "sex": src["sex"], "hh_size": src["hh_size"],
        })
        in_universe = pd.to_numeric(src["age"], errors="coerce").fillna(-1).to_numpy() >= 5
    else:
        if households is None:
            raise InputError("missing_table", "survey_households is needed for the household models")
        src = households
        frame = pd.DataFrame({
            "income_quintile": src["income_quintile"], "education": src["respondent_education"],
            "age_group": _respondent_age_group(src["respondent_age"]), "sex": src["respondent_sex"], "hh_size": src["hh_size"],
        })
        age = pd.to_numeric(src["respondent_age"], errors="coerce").fillna(-1).to_numpy()
        in_universe = age >= (ADULT_AGE if spec.model_id == "jaki_awareness" else 0)
    frame["kota"] = src["kode_kab_kemendagri"].astype(str)
    y = src[spec.outcome]
    y = y.astype("Float64").to_numpy(dtype=float, na_value=np.nan) if not pd.api.types.is_float_dtype(y.dtype) else y.to_numpy(dtype=float)
    frame["y"] = y
    for col in ("weight", "stratum", "psu", "fpc_psu"):
        frame[col] = src[col].to_numpy() if col in src else np.nan
    complete = frame[["y", "income_quintile", "education", "age_group", "sex", "hh_size"]].notna().all(axis=1).to_numpy()
    frame["in_model"] = in_universe & complete
    frame.loc[~frame["in_model"], "y"] = np.nan
    return frame


# --- the fitted model ----------------------------------------------------------------------------------------


@dataclass
class SurveyLogit:
    """A design-based logistic regression fitted on covariate patterns (see the module docstring)."""

    names: list[str]  # coefficient names: "intercept", "income_quintile[2]", ..., "hh_size"
    term_of: list[str | None]  # the term column of each coefficient (None for the intercept)
    level_of: list[object]
    terms: tuple[Term, ...]  # terms with resolved levels and reference
    beta: np.ndarray
    cov: np.ndarray
    A_inv: np.ndarray  # inverse weighted information
    patterns: pd.DataFrame  # one row per covariate pattern: term values, Sw, Swy, n, mu
    Xp: np.ndarray  # design matrix of the patterns
    S_w: sparse.csr_matrix  # (n_psu, n_patterns) sum of weights of the model's units per PSU and pattern
    S_wy: sparse.csr_matrix  # same for weight x outcome
    psu: PsuLayout  # all PSUs of the design, also those without model units
    n: int
    weighted_n: float
    design_df: int
    df: int  # residual df for tests: design df - (k - 1)
    iterations: int
    interactions: list[tuple[object, object]] = field(default_factory=list)
    row_pattern: np.ndarray | None = None  # pattern index of every row of the model frame (-1 outside the model)

    # -- linearisation helpers --

    def residual_totals(self) -> sparse.csr_matrix:
        """(n_psu, n_patterns) sums of ``w (y - mu)``: the PSU x pattern totals of the logistic scores."""
        mu = self.patterns["mu"].to_numpy()
        return (self.S_wy - self.S_w @ sparse.diags(mu)).tocsr()

    def covariance_of(self, psu_scores: np.ndarray) -> np.ndarray:
        """Design covariance of the totals of PSU-level scores (n_psu, m)."""
        return self.psu.covariance(psu_scores)

    def margin_scores(self, f_pattern: np.ndarray, grad: np.ndarray) -> tuple[float, np.ndarray]:
        """Estimate ``F = sum w f / sum w`` of a pattern-level function and the PSU totals of its linearised scores.

        ``f_pattern`` (n_patterns,) or (n_patterns, m); ``grad`` (k,) or (k, m): ``dF/dbeta``. The unit score is
        ``w_i (f_i - F) / W + g' A^-1 w_i x_i (y_i - mu_i)``; units share their pattern's ``f`` and ``x``.
        """
        f = np.asarray(f_pattern, dtype=float)
        single = f.ndim == 1
        f = f[:, None] if single else f
        g = np.asarray(grad, dtype=float)
        g = g[:, None] if g.ndim == 1 else g
        sw = self.patterns["Sw"].to_numpy()
        W = sw.sum()
        F = (sw[:, None] * f).sum(axis=0) / W
        c = self.Xp @ (self.A_inv @ g)  # (n_patterns, m): g' A^-1 x_p
        Z = np.asarray(self.S_w @ (f - F)) / W + np.asarray(self.residual_totals() @ c)
        return (F[0] if single else F), Z

    def predict(self, X: np.ndarray) -> np.ndarray:
        return _expit(X @ self.beta)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def _resolve_terms(frame: pd.DataFrame, terms) -> tuple[Term, ...]:
    resolved = []
    for t in terms:
        if t.column == "kota":
            levels = tuple(sorted(frame.loc[frame["in_model"], "kota"].dropna().unique()))
            resolved.append(Term("kota", levels, levels[0] if levels else None))
            continue
        if not t.categorical:
            resolved.append(t)
            continue
        present = set(frame.loc[frame["in_model"], t.column].dropna().unique())
        levels = tuple(v for v in t.levels if v in present)
        ref = t.reference if t.reference in present else (levels[0] if levels else None)
        resolved.append(Term(t.column, levels, ref))
    return tuple(resolved)


def _columns(terms, interactions=()):
    names, term_of, level_of = ["intercept"], [None], [None]
    for t in terms:
        if t.categorical:
            for lv in t.levels:
                if lv != t.reference:
                    names.append(f"{t.column}[{lv}]")
                    term_of.append(t.column)
                    level_of.append(lv)
        else:
            names.append(t.column)
            term_of.append(t.column)
            level_of.append(None)
    for a, b in interactions:
        names.append(f"income_quintile[{a}]:education[{b}]")
        term_of.append("income_quintile:education")
        level_of.append((a, b))
    return names, term_of, level_of


def design_matrix(values: pd.DataFrame, terms, names, term_of, level_of) -> np.ndarray:
    """Treatment-coded design matrix for rows of term values (patterns or a counterfactual grid)."""
    X = np.zeros((len(values), len(names)))
    X[:, 0] = 1.0
    cols = {c: values[c].to_numpy() for c in values.columns}
    for j, (t, lv) in enumerate(zip(term_of, level_of)):
        if t is None:
            continue
        if t == "income_quintile:education":
            X[:, j] = (cols["income_quintile"] == lv[0]) & (cols["education"] == lv[1])
        elif lv is None:
            X[:, j] = cols[t].astype(float)
        else:
            X[:, j] = cols[t] == lv
    return X


def _loglik(X, sw, swy, beta):
    eta = X @ beta
    # sum w [y eta - log(1 + e^eta)], computed stably
    return float(np.sum(swy * eta - sw * np.logaddexp(0.0, eta)))


def _newton_logit(X, sw, swy, tol=1e-9, max_iter=100):
    """Weighted logistic MLE on aggregated patterns: Newton-Raphson (= IRLS with the canonical link) with step
    halving, so a poor start or a nearly saturated cell cannot make it diverge."""
    k = X.shape[1]
    beta = np.zeros(k)
    p0 = np.clip(swy.sum() / sw.sum(), 1e-6, 1 - 1e-6)
    beta[0] = np.log(p0 / (1 - p0))
    ll = _loglik(X, sw, swy, beta)
    it = 0
    for it in range(1, max_iter + 1):
        mu = _expit(X @ beta)
        grad = X.T @ (swy - sw * mu)
        H = (X * (sw * mu * (1 - mu))[:, None]).T @ X
        try:
            step = cho_solve(cho_factor(H), grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, grad, rcond=None)[0]
        t = 1.0
        for _ in range(40):
            cand = beta + t * step
            ll_new = _loglik(X, sw, swy, cand)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
        gain = ll_new - ll
        beta, ll = cand, ll_new
        # converged when the step is tiny or the log-likelihood no longer moves (large weighted sums put a
        # floor under the attainable step size)
        if np.max(np.abs(t * step)) < tol or abs(gain) <= 1e-13 * abs(ll):
            break
    mu = _expit(X @ beta)
    H = (X * (sw * mu * (1 - mu))[:, None]).T @ X
    return beta, H, it


def _int_codes(values) -> tuple[np.ndarray, int]:
    codes, uniq = pd.factorize(values if isinstance(values, pd.Series) else pd.Series(values), sort=True)
    return codes.astype(np.int64), max(len(uniq), 1)


def _pattern_codes(sub: pd.DataFrame, cols) -> tuple[np.ndarray, np.ndarray]:
    """Pattern index of every row (distinct combinations of ``cols``, sorted) and the first row of each."""
    key = np.zeros(len(sub), dtype=np.int64)
    for c in cols:
        codes, size = _int_codes(sub[c])
        key = key * (size + 1) + (codes + 1)
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return inv.astype(np.int64), first


def fit_survey_logit(frame: pd.DataFrame, terms=BASE_TERMS, interaction: bool = False, kota: bool = True, cache: dict | None = None) -> SurveyLogit:
    """Fit a design-based logistic regression on a ``model_frame`` (columns y, in_model, term columns, weight,
    stratum, psu, fpc_psu). ``interaction`` adds the income x education interaction; ``kota`` adds kota.
    ``cache``: a dict shared by fits on the same frame (PSU structure and covariate patterns are computed once)."""
    cache = {} if cache is None else cache
    if not frame["in_model"].any():
        raise InputError("empty_model", "no unit in the model's universe has the outcome and all covariates")
    all_terms = tuple(terms) + ((_kota_term(),) if kota and "kota" in frame.columns else ())
    if interaction:
        # With interactions, a main effect is estimated from the reference row/column of the income x education
        # table alone; the poorest quintile x tertiary cell can be nearly empty. Use the weighted modal levels
        # as references (the fit, predictions and the Wald test do not depend on the coding otherwise).
        sel = frame.loc[frame["in_model"].to_numpy()]
        modal = {c: pd.to_numeric(sel["weight"], errors="coerce").groupby(sel[c]).sum().idxmax() for c in ("income_quintile", "education")}
        all_terms = tuple(Term(t.column, t.levels, modal[t.column]) if t.column in modal else t for t in all_terms)
    terms_r = _resolve_terms(frame, all_terms)
    term_cols = [t.column for t in terms_r]
    m = frame["in_model"].to_numpy()
    sub = frame.loc[m, term_cols].copy()
    # covariate patterns (sufficient statistics of the logistic score equations)
    key = ("patterns", tuple(term_cols))
    if key not in cache:
        cache[key] = _pattern_codes(sub, term_cols)
    pattern_code, first = cache[key]
    w_all = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=float)
    y = frame.loc[m, "y"].to_numpy(dtype=float)
    w = w_all[m]
    n_pat = int(pattern_code.max()) + 1
    Sw = np.bincount(pattern_code, weights=w, minlength=n_pat)
    Swy = np.bincount(pattern_code, weights=w * y, minlength=n_pat)
    patterns = sub.iloc[first].reset_index(drop=True)
    patterns["Sw"] = Sw
    patterns["Swy"] = Swy
    patterns["n"] = np.bincount(pattern_code, minlength=n_pat)

    interactions = []
    if interaction:
        inc = next(t for t in terms_r if t.column == "income_quintile")
        edu = next(t for t in terms_r if t.column == "education")
        for a in inc.levels:
            for b in edu.levels:
                if a == inc.reference or b == edu.reference:
                    continue
                cell = (patterns["income_quintile"] == a) & (patterns["education"] == b)
                # a sparse cell, or one with all yes / all no, is not estimable: it gets no interaction
                # coefficient and follows the main effects
                s, sy = patterns.loc[cell, "Sw"].sum(), patterns.loc[cell, "Swy"].sum()
                if patterns.loc[cell, "n"].sum() >= MIN_INTERACTION_CELL and 0 < sy < s:
                    interactions.append((a, b))
    names, term_of, level_of = _columns(terms_r, interactions)
    Xp = design_matrix(patterns, terms_r, names, term_of, level_of)
    # drop coefficients of levels nobody has (cannot happen after _resolve_terms, kept as a guard)
    beta, H, iterations = _newton_logit(Xp, Sw, Swy)
    A_inv = np.linalg.inv(H)
    patterns["mu"] = _expit(Xp @ beta)

    # PSU x pattern sums over the model's units; PSUs come from *all* rows (units outside the model keep their
    # PSU in the variance with a zero score)
    if "psu" not in cache:
        cache["psu"] = psu_layout(frame)
    layout = cache["psu"]
    psu_code, n_psu = layout.row_psu, layout.n_psu
    pat_all = np.full(len(frame), -1, dtype=np.int64)
    pat_all[m] = pattern_code
    S_w = sparse.csr_matrix((w, (psu_code[m], pattern_code)), shape=(n_psu, n_pat))
    S_wy = sparse.csr_matrix((w * y, (psu_code[m], pattern_code)), shape=(n_psu, n_pat))
    design_df = layout.df

    # Binder sandwich: A^-1 B A^-1 with B the design covariance of the score totals
    R = (S_wy - S_w @ sparse.diags(patterns["mu"].to_numpy())).tocsr()
    U = np.asarray(R @ Xp)
    B = layout.covariance(U)
    cov = A_inv @ B @ A_inv
    k = len(names)
    df = design_df - (k - 1) if design_df - (k - 1) > 0 else max(design_df, 1)
    return SurveyLogit(
        names=names, term_of=term_of, level_of=level_of, terms=terms_r, beta=beta, cov=cov, A_inv=A_inv,
        patterns=patterns, Xp=Xp, S_w=S_w, S_wy=S_wy, psu=layout,
        n=int(m.sum()), weighted_n=float(w.sum()),
        design_df=design_df, df=int(df), iterations=iterations, interactions=interactions, row_pattern=pat_all,
    )


# --- reports -------------------------------------------------------------------------------------------------


def _t(df, level=0.95):
    return stats.t.ppf(0.5 + level / 2, df)


def odds_ratios(model_id: str, fit: SurveyLogit, level: float = 0.95) -> pd.DataFrame:
    se = np.sqrt(np.diag(fit.cov))
    t = _t(fit.df, level)
    tstat = fit.beta / se
    rows = []
    ref = {t_.column: t_.reference for t_ in fit.terms}
    for j, name in enumerate(fit.names):
        if name == "intercept":
            continue
        term = fit.term_of[j]
        rows.append({
            "model": model_id,
            "term": name,
            "variable": term,
            "level": "" if fit.level_of[j] is None else str(fit.level_of[j]),
            "reference": "" if ref.get(term) is None else str(ref.get(term)),
            "coef": fit.beta[j],
            "se": se[j],
            "odds_ratio": float(np.exp(fit.beta[j])),
            "ci_low": float(np.exp(fit.beta[j] - t * se[j])),
            "ci_high": float(np.exp(fit.beta[j] + t * se[j])),
            "p_value": float(2 * stats.t.sf(abs(tstat[j]), fit.df)),
            "df": fit.df,
        })
    return pd.DataFrame(rows)


def _counterfactual(fit: SurveyLogit, column: str, value) -> np.ndarray:
    values = fit.patterns[[t.column for t in fit.terms]].copy()
    values[column] = value
    return design_matrix(values, fit.terms, fit.names, fit.term_of, fit.level_of)


def marginal_effects(model_id: str, fit: SurveyLogit, level: float = 0.95) -> pd.DataFrame:
    """Average marginal effects (percentage points of probability) with linearised design-based SEs."""
    stats_f, grads, labels = [], [], []
    for term in fit.terms:
        if term.categorical:
            X0 = _counterfactual(fit, term.column, term.reference)
            mu0 = fit.predict(X0)
            for lv in term.levels:
                if lv == term.reference:
                    continue
                X1 = _counterfactual(fit, term.column, lv)
                mu1 = fit.predict(X1)
                sw = fit.patterns["Sw"].to_numpy()
                g = ((sw * mu1 * (1 - mu1))[:, None] * X1 - (sw * mu0 * (1 - mu0))[:, None] * X0).sum(axis=0) / sw.sum()
                stats_f.append(mu1 - mu0)
                grads.append(g)
                labels.append((term.column, str(lv), str(term.reference)))
        else:
            j = fit.names.index(term.column)
            mu = fit.patterns["mu"].to_numpy()
            sw = fit.patterns["Sw"].to_numpy()
            bj = fit.beta[j]
            d = bj * mu * (1 - mu)
            g = (sw[:, None] * (bj * (mu * (1 - mu) * (1 - 2 * mu))[:, None] * fit.Xp)).sum(axis=0) / sw.sum()
            g[j] += (sw * mu * (1 - mu)).sum() / sw.sum()
            stats_f.append(d)
            grads.append(g)
            labels.append((term.column, "per unit", ""))
    F, z = fit.margin_scores(np.column_stack(stats_f), np.column_stack(grads))
    V = fit.covariance_of(z)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    t = _t(fit.df, level)
    rows = []
    for i, (var, lv, ref) in enumerate(labels):
        rows.append({
            "model": model_id, "variable": var, "level": lv, "reference": ref, "ame": F[i], "se": se[i],
            "ci_low": F[i] - t * se[i], "ci_high": F[i] + t * se[i],
            "p_value": float(2 * stats.t.sf(abs(F[i] / se[i]), fit.df)) if se[i] > 0 else np.nan, "df": fit.df,
        })
    return pd.DataFrame(rows)


def predicted_grid(model_id: str, fit: SurveyLogit, specification: str, level: float = 0.95) -> pd.DataFrame:
    """Predictive margins for every income quintile x education cell (other covariates as observed)."""
    inc = next(t for t in fit.terms if t.column == "income_quintile")
    edu = next(t for t in fit.terms if t.column == "education")
    sw = fit.patterns["Sw"].to_numpy()
    fs, gs, cells = [], [], []
    base = fit.patterns[[t.column for t in fit.terms]]
    for a in inc.levels:
        for b in edu.levels:
            values = base.copy()
            values["income_quintile"] = a
            values["education"] = b
            X = design_matrix(values, fit.terms, fit.names, fit.term_of, fit.level_of)
            mu = fit.predict(X)
            fs.append(mu)
            gs.append(((sw * mu * (1 - mu))[:, None] * X).sum(axis=0) / sw.sum())
            cell = (fit.patterns["income_quintile"] == a) & (fit.patterns["education"] == b)
            cells.append((a, b, int(fit.patterns.loc[cell, "n"].sum())))
    F, z = fit.margin_scores(np.column_stack(fs), np.column_stack(gs))
    V = fit.covariance_of(z)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    t = _t(fit.df, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(F / (1 - F))
        half = t * se / (F * (1 - F))
    rows = []
    for i, (a, b, n) in enumerate(cells):
        rows.append({
            "model": model_id, "specification": specification, "income_quintile": int(a), "education": str(b),
            "predicted": F[i], "se": se[i], "ci_low": float(_expit(logit[i] - half[i])), "ci_high": float(_expit(logit[i] + half[i])),
            "n_cell": n,
        })
    return pd.DataFrame(rows)


def wald_test(fit: SurveyLogit, names: list[str]) -> dict:
    """Design-based Wald test that the named coefficients are all zero, F-adjusted (Korn & Graubard 1990)."""
    idx = [fit.names.index(n) for n in names]
    q = len(idx)
    if q == 0:
        return {"wald_chi2": np.nan, "df_num": 0, "df_den": np.nan, "f": np.nan, "p_value": np.nan}
    b = fit.beta[idx]
    V = fit.cov[np.ix_(idx, idx)]
    W = float(b @ np.linalg.pinv(V) @ b)
    d = fit.design_df
    df_den = d - q + 1
    if df_den <= 0:
        return {"wald_chi2": W, "df_num": q, "df_den": np.nan, "f": np.nan, "p_value": float(stats.chi2.sf(W, q))}
    F = W * df_den / (d * q)
    return {"wald_chi2": W, "df_num": q, "df_den": df_den, "f": F, "p_value": float(stats.f.sf(F, q, df_den))}


def weighted_auc(score: np.ndarray, pos_w: np.ndarray, neg_w: np.ndarray) -> float:
    """Weighted area under the ROC curve: P(score of a positive > score of a negative), ties one half."""
    order = np.argsort(score, kind="mergesort")
    s, p, q = score[order], pos_w[order], neg_w[order]
    uniq, start = np.unique(s, return_index=True)
    P = np.add.reduceat(p, start)
    N = np.add.reduceat(q, start)
    neg_below = np.concatenate([[0.0], np.cumsum(N)[:-1]])
    num = np.sum(P * (neg_below + 0.5 * N))
    den = P.sum() * N.sum()
    return float(num / den) if den > 0 else np.nan


def archer_lemeshow(fit: SurveyLogit, groups: int = 10) -> dict:
    """Archer & Lemeshow (2006) F-adjusted mean-residual goodness-of-fit test for survey logistic models."""
    mu = fit.patterns["mu"].to_numpy()
    sw = fit.patterns["Sw"].to_numpy()
    order = np.argsort(mu, kind="mergesort")
    cum = np.cumsum(sw[order]) / sw.sum()
    grp = np.empty(len(mu), dtype=np.int64)
    grp[order] = np.minimum((np.ceil(cum * groups) - 1).astype(np.int64), groups - 1).clip(0)
    g_used = np.unique(grp)
    G = len(g_used)
    remap = {g: i for i, g in enumerate(g_used)}
    grp = np.array([remap[g] for g in grp])
    Wg = np.bincount(grp, weights=sw, minlength=G)
    res = fit.patterns["Swy"].to_numpy() - sw * mu
    m = np.bincount(grp, weights=res, minlength=G) / Wg
    # unit score for group g: 1[i in g] w_i (y_i - mu_i - m_g) / W_g, summed to PSU totals through the
    # pattern -> group incidence matrix
    Gm = sparse.csr_matrix((1.0 / Wg[grp], (np.arange(len(grp)), grp)), shape=(len(grp), G))
    Z = (fit.residual_totals() @ Gm).toarray() - (fit.S_w @ Gm).toarray() * m[None, :]
    V = fit.covariance_of(Z)
    W = float(m @ np.linalg.pinv(V) @ m)
    f = fit.design_df
    df1, df2 = G - 1, f - G + 2
    if df2 <= 0 or df1 <= 0:
        return {"al_f": np.nan, "al_df_num": df1, "al_df_den": df2, "al_p_value": np.nan}
    F = (f - G + 2) / (f * (G - 1)) * W
    return {"al_f": F, "al_df_num": df1, "al_df_den": df2, "al_p_value": float(stats.f.sf(F, df1, df2))}


def fit_summary(model_id: str, fit: SurveyLogit, interaction_fit: SurveyLogit | None) -> dict:
    sw = fit.patterns["Sw"].to_numpy()
    swy = fit.patterns["Swy"].to_numpy()
    mu = np.clip(fit.patterns["mu"].to_numpy(), 1e-15, 1 - 1e-15)
    ll = float(np.sum(swy * np.log(mu) + (sw - swy) * np.log(1 - mu)))
    p0 = swy.sum() / sw.sum()
    ll0 = float(swy.sum() * np.log(p0) + (sw.sum() - swy.sum()) * np.log(1 - p0))
    out = {
        "model": model_id,
        "n": fit.n,
        "weighted_n": fit.weighted_n,
        "n_psu": fit.psu.n_psu,
        "design_df": fit.design_df,
        "n_coefficients": len(fit.names),
        "weighted_mean_outcome": p0,
        "pseudo_r2_mcfadden": 1 - ll / ll0 if ll0 != 0 else np.nan,
        "auc": weighted_auc(fit.patterns["mu"].to_numpy(), swy, sw - swy),
    }
    if interaction_fit is not None and interaction_fit.interactions:
        names = [n for n in interaction_fit.names if ":" in n]
        w = wald_test(interaction_fit, names)
    else:
        w = {"wald_chi2": np.nan, "df_num": 0, "df_den": np.nan, "f": np.nan, "p_value": np.nan}
    out.update({
        "interaction_wald_chi2": w["wald_chi2"], "interaction_df_num": int(w["df_num"]), "interaction_df_den": w["df_den"],
        "interaction_f": w["f"], "interaction_p_value": w["p_value"],
    })
    out.update(archer_lemeshow(fit))
    return out


# --- build stage ---------------------------------------------------------------------------------------------

OR_FIELDS = [
    Field("model", "Model id: internet_use (persons 5+), household_internet, jaki_awareness (adult respondents)."),
    Field("term", "Coefficient name: variable[level] (treatment coding) or a numeric variable."),
    Field("variable", "Covariate."),
    Field("level", "Level compared with the reference (empty for a numeric covariate)."),
    Field("reference", "Reference level of the covariate."),
    Field("coef", "Log-odds coefficient (survey-weighted pseudo-maximum likelihood)."),
    Field("se", "Design-based standard error of the coefficient (Binder 1983 linearisation; strata, PSU, fpc)."),
    Field("odds_ratio", "Odds ratio exp(coef)."),
    Field("ci_low", "Lower 95% confidence limit of the odds ratio (t with df)."),
    Field("ci_high", "Upper 95% confidence limit of the odds ratio."),
    Field("p_value", "Two-sided p-value of coef = 0 (t with df)."),
    Field("df", "Degrees of freedom: PSUs - strata - (coefficients - 1), as R svyglm."),
]
AME_FIELDS = [
    Field("model", "Model id."),
    Field("variable", "Covariate."),
    Field("level", "Level compared with the reference ('per unit' for a numeric covariate)."),
    Field("reference", "Reference level."),
    Field("ame", "Average marginal effect: change in the probability (0-1 scale) averaged over the weighted population.", unit="probability"),
    Field("se", "Design-based SE (linearised over the averaging and the coefficients)."),
    Field("ci_low", "Lower 95% confidence limit."),
    Field("ci_high", "Upper 95% confidence limit."),
    Field("p_value", "Two-sided p-value of AME = 0."),
    Field("df", "Degrees of freedom."),
]
GRID_FIELDS = [
    Field("model", "Model id."),
    Field("specification", "main_effects (the model of model_odds_ratios) or interaction (with income x education)."),
    Field("income_quintile", "Expenditure quintile (1 poorest - 5 richest)."),
    Field("education", "Education level (persons: own; households: the respondent's)."),
    Field("predicted", "Predicted probability for the cell, other covariates at their observed weighted distribution (predictive margin).", unit="probability"),
    Field("se", "Design-based SE of the predictive margin."),
    Field("ci_low", "Lower 95% confidence limit (logit interval)."),
    Field("ci_high", "Upper 95% confidence limit (logit interval)."),
    Field("n_cell", "Unweighted sample in the cell (0: the prediction is an extrapolation of the model)."),
]
FIT_FIELDS = [
    Field("model", "Model id."),
    Field("n", "Unweighted number of units in the model."),
    Field("weighted_n", "Sum of weights of the units in the model."),
    Field("n_psu", "Number of PSUs (all of the design; the model universe is a domain)."),
    Field("design_df", "Design degrees of freedom: PSUs - strata."),
    Field("n_coefficients", "Number of coefficients including the intercept."),
    Field("weighted_mean_outcome", "Weighted share of the outcome in the model universe."),
    Field("pseudo_r2_mcfadden", "McFadden pseudo-R2 on the weighted log-likelihood."),
    Field("auc", "Weighted area under the ROC curve."),
    Field("interaction_wald_chi2", "Design-based Wald statistic of the income x education interaction."),
    Field("interaction_df_num", "Number of interaction coefficients tested."),
    Field("interaction_df_den", "Denominator df of the F-adjusted Wald test (design df - q + 1)."),
    Field("interaction_f", "F-adjusted Wald statistic (Korn & Graubard 1990)."),
    Field("interaction_p_value", "p-value of the interaction test."),
    Field("al_f", "Archer-Lemeshow (2006) F-adjusted goodness-of-fit statistic (10 weighted deciles of the prediction)."),
    Field("al_df_num", "Numerator df (groups - 1)."),
    Field("al_df_den", "Denominator df (design df - groups + 2)."),
    Field("al_p_value", "p-value of the goodness-of-fit test (small: the model fits poorly)."),
]


def run_models(households: pd.DataFrame | None, persons: pd.DataFrame | None, specs=MODELS) -> dict[str, pd.DataFrame]:
    """Fit every model and return the four report frames."""
    ors, ames, grids, fits = [], [], [], []
    for spec in specs:
        frame = model_frame(spec, households, persons)
        cache: dict = {}
        main = fit_survey_logit(frame, spec.terms, cache=cache)
        inter = fit_survey_logit(frame, spec.terms, interaction=True, cache=cache)
        ors.append(odds_ratios(spec.model_id, main))
        ames.append(marginal_effects(spec.model_id, main))
        grids.append(predicted_grid(spec.model_id, main, "main_effects"))
        grids.append(predicted_grid(spec.model_id, inter, "interaction"))
        fits.append(fit_summary(spec.model_id, main, inter))
    return {
        "model_odds_ratios": pd.concat(ors, ignore_index=True),
        "model_marginal_effects": pd.concat(ames, ignore_index=True),
        "model_predicted_grid": pd.concat(grids, ignore_index=True),
        "model_fit": pd.DataFrame(fits),
    }


def build(ctx) -> list[Table]:
    hh = ctx.tables.get("survey_households")
    pe = ctx.tables.get("survey_persons")
    if hh is None or pe is None:
        ctx.note(STAGE, "access models skipped: survey_households / survey_persons not built", "warning")
        return []
    synthetic = bool(hh.synthetic or pe.synthetic)
    frames = run_models(hh.data, pe.data)
    sources = sorted(set(hh.sources) | set(pe.sources))
    tag = " (synthetic demo survey)" if synthetic else ""
    spec = {
        "model_odds_ratios": ("Access models: odds ratios" + tag, "Survey-weighted logistic regressions of internet use (persons 5+), household internet access and JAKI awareness (adult respondents) on income quintile, education, age group, sex, household size and kota; design-based SEs.", OR_FIELDS),
        "model_marginal_effects": ("Access models: average marginal effects" + tag, "Average marginal effects (probability scale) of each covariate level against its reference, with design-based SEs.", AME_FIELDS),
        "model_predicted_grid": ("Access models: predicted probability by income and education" + tag, "Predictive margins for every income quintile x education cell, from the main-effects and the interaction model.", GRID_FIELDS),
        "model_fit": ("Access models: fit and tests" + tag, "Sample sizes, pseudo-R2, AUC, the Wald test of the income x education interaction and the Archer-Lemeshow goodness-of-fit test.", FIT_FIELDS),
    }
    out = []
    for name, (title, desc, fields) in spec.items():
        data = frames[name][[f.name for f in fields]]
        out.append(Table(name, title, desc, data, fields, sources, synthetic=synthetic))
    return out
