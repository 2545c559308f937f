"""Design-based (survey-weighted) logistic regression: the estimator behind the access models
(``analysis.stats.models``) and the gap decomposition (``analysis.stats.inequality``).

Estimation (Binder 1983; Lumley 2010, *Complex Surveys*, ch. 5; Lumley & Scott 2017):

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
- Inference (``fit_survey_logit(inference=...)``); both use the sandwich above (R ``svyglm``'s SEs):

  ``PLAIN`` (``"svyglm"``, the default, reproducible in R): t on ``design df - (number of coefficients - 1)``
  degrees of freedom for every coefficient, as R ``svyglm`` (``tests/stats/test_models.py`` pins it to
  R/``svy`` results).

  ``SATTERTHWAITE`` (``"satterthwaite"``, what the build publishes: ``analysis.stats.models``): every
  coefficient and margin gets its own degrees of freedom by Satterthwaite (1946) on the strata's
  contributions to its variance, ``df = (sum_h v_h)^2 / sum_h v_h^2 / (n_h - 1)`` (Korn & Graubard 1999,
  *Analysis of Health Surveys*, sec. 5.2; Cochran 1977, *Sampling Techniques*, sec. 5.4), capped at the
  svyglm df. A coefficient whose variance comes mostly from one small stratum (a kota dummy against a
  reference kota sampled in 6 PSUs) has about 5 degrees of freedom, not 300.

- The kota term's reference is the first kota code (R's default) unless ``kota_reference`` says otherwise;
  the build uses ``MOST_PSUS``, the kota sampled in the most PSUs (the best-measured contrast: Jakarta Timur
  in the demo, which also holds the two oversampled kelurahan). Measured on the demo survey
  (``bench/bench_coverage.py``, issue 12): against Kepulauan Seribu (the first code: 6 PSUs, 2 kelurahan)
  every kota odds ratio is a contrast with the islands' few PSUs, its variance is underestimated (mean
  ``((b - beta) / se)^2`` 2.2 instead of 1) and its interval covered the census value in 81% of cases; against
  Jakarta Timur (about 100 PSUs) the same SEs are right (1.05) and the kota terms cover about 97%.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve

from analysis.errors import InputError
from analysis.stats.design import PsuLayout, psu_layout

MIN_INTERACTION_CELL = 30  # units in an income x education cell for it to get its own interaction coefficient
PLAIN = "svyglm"  # ultimate-cluster variance with the design's fpc, t on design df - (k - 1): R svyglm
SATTERTHWAITE = "satterthwaite"  # the same variance, each estimate's Satterthwaite df over the strata's contributions
INFERENCE_METHODS = (PLAIN, SATTERTHWAITE)
MOST_PSUS = "most_psus"  # kota_reference: the kota with the most PSUs holding units of the model


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



def _kota_term(reference=None) -> Term:
    """The kota term: reference the first kota code (R's default treatment coding) unless ``reference`` is a
    kota code or ``MOST_PSUS`` (the kota with the most PSUs holding units of the model)."""
    return Term("kota", None, reference)



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
    inference: str = PLAIN  # PLAIN or SATTERTHWAITE (module docstring)
    influence: np.ndarray | None = None  # (n_psu, k) PSU totals of the coefficients' linearised scores, A^-1 U
    coef_df: np.ndarray | None = None  # (k,) degrees of freedom of each coefficient under ``inference``

    # -- linearisation helpers --

    def residual_totals(self) -> sparse.csr_matrix:
        """(n_psu, n_patterns) sums of ``w (y - mu)``: the PSU x pattern totals of the logistic scores."""
        mu = self.patterns["mu"].to_numpy()
        return (self.S_wy - self.S_w @ sparse.diags(mu)).tocsr()

    def covariance_of(self, psu_scores: np.ndarray) -> np.ndarray:
        """Design covariance of the totals of PSU-level scores (n_psu, m)."""
        return self.psu.covariance(psu_scores)

    def df_of(self, psu_scores: np.ndarray) -> np.ndarray:
        """Degrees of freedom of the total of each column of PSU-level scores (n_psu, m): the svyglm df for
        every column (``PLAIN``), or each column's Satterthwaite df (``SATTERTHWAITE``, ``stratum_satterthwaite_df``)
        capped at it."""
        Z = np.asarray(psu_scores, dtype=float)
        Z = Z[:, None] if Z.ndim == 1 else Z
        if self.inference == PLAIN:
            return np.full(Z.shape[1], float(self.df))
        return np.minimum(stratum_satterthwaite_df(self.psu, Z), float(self.df))

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
        return expit(X @ self.beta)


def stratum_variance_components(layout: PsuLayout, psu_scores: np.ndarray) -> np.ndarray:
    """(n_strata, m) each stratum's term ``v_h`` of the ultimate-cluster variance of the total of each column of
    PSU-level scores: ``(1 - f_h) n_h / (n_h - 1) sum_i (Z_hi - Zbar_h)^2`` with the layout's fpc and lonely-PSU
    rule (a lonely PSU centred at the grand mean); the columns sum to the diagonal of ``layout.covariance``."""
    Z = np.asarray(psu_scores, dtype=float)
    Z = Z[:, None] if Z.ndim == 1 else Z
    st = layout.structure
    hs = st.psu_stratum
    incidence = sparse.csr_matrix((np.ones(layout.n_psu), (hs, np.arange(layout.n_psu))), shape=(st.n_strata, layout.n_psu))
    centre = (np.asarray(incidence @ Z) / st.n_h[:, None])[hs]
    single = st.single[hs]
    if single.any():
        centre[single] = Z.sum(axis=0) / layout.n_psu
    return np.asarray(incidence @ (st.scale_h[hs][:, None] * (Z - centre) ** 2))


def stratum_satterthwaite_df(layout: PsuLayout, psu_scores: np.ndarray) -> np.ndarray:
    """Satterthwaite (1946) degrees of freedom of the variance of the total of each column of PSU-level scores,
    treating each stratum's component ``v_h`` (``stratum_variance_components``) as ``n_h - 1`` df::

        df = (sum_h v_h)^2 / sum_h (v_h^2 / (n_h - 1))

    (Korn & Graubard 1999, *Analysis of Health Surveys*, sec. 5.2; Cochran 1977, *Sampling Techniques*, 3rd
    ed., sec. 5.4). It equals the design df ``PSUs - strata`` when every stratum contributes in proportion to
    its df and falls towards one stratum's ``n_h - 1`` when that stratum carries the variance, as the
    reference kota of a kota coefficient does. A lonely PSU counts as 1 df; a zero variance gets the design df."""
    v_h = stratum_variance_components(layout, psu_scores)
    k_h = np.maximum(layout.structure.n_h - 1.0, 1.0)[:, None]
    v = v_h.sum(axis=0)
    den = (v_h**2 / k_h).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(den > 0, v * v / den, float(layout.df))
    return np.clip(df, 1.0, max(float(layout.df), 1.0))


def expit(x):
    """The logistic function ``1 / (1 + e^-x)``, with ``x`` clipped to +-40 so it never overflows."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def _resolve_terms(frame: pd.DataFrame, terms) -> tuple[Term, ...]:
    resolved = []
    for t in terms:
        if t.column == "kota":
            sel = frame.loc[frame["in_model"], ["kota", "weight"]].dropna(subset=["kota"])
            levels = tuple(sorted(sel["kota"].unique()))
            ref = levels[0] if levels else None
            if t.reference == MOST_PSUS and levels:
                units = frame.loc[frame["in_model"] & frame["kota"].notna(), ["kota", "stratum", "psu"]]
                ref = units.drop_duplicates().groupby("kota").size().idxmax()  # ties: the first code
            elif t.reference in levels:
                ref = t.reference
            resolved.append(Term("kota", levels, ref))
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
    for it in range(1, max_iter + 1):  # noqa: B007 - the count of iterations taken is reported after the loop
        mu = expit(X @ beta)
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
    mu = expit(X @ beta)
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


def fit_survey_logit(frame: pd.DataFrame, terms, interaction: bool = False, kota: bool = True, cache: dict | None = None,
                     inference: str = PLAIN, kota_reference=None) -> SurveyLogit:
    """Fit a design-based logistic regression on a ``model_frame`` (columns y, in_model, term columns, weight,
    stratum, psu, fpc_psu). ``interaction`` adds the income x education interaction; ``kota`` adds kota.
    ``cache``: a dict shared by fits on the same frame (PSU structure and covariate patterns are computed once).
    ``inference``: ``PLAIN`` (R svyglm) or ``SATTERTHWAITE`` (the published intervals; module docstring).
    ``kota_reference``: the kota the kota coefficients compare with: the first code (None, R's default), a
    code, or ``MOST_PSUS``."""
    if inference not in INFERENCE_METHODS:
        raise InputError("bad_inference", f"inference must be one of {', '.join(INFERENCE_METHODS)}, not {inference!r}")
    cache = {} if cache is None else cache
    if not frame["in_model"].any():
        raise InputError("empty_model", "no unit in the model's universe has the outcome and all covariates")
    all_terms = tuple(terms) + ((_kota_term(kota_reference),) if kota and "kota" in frame.columns else ())
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
    patterns["mu"] = expit(Xp @ beta)

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
    influence = U @ A_inv  # A is symmetric: the PSU totals of each coefficient's linearised score
    cov = layout.covariance(influence)
    k = len(names)
    df = design_df - (k - 1) if design_df - (k - 1) > 0 else max(design_df, 1)
    coef_df = (np.full(k, float(df)) if inference == PLAIN
               else np.minimum(stratum_satterthwaite_df(layout, influence), float(df)))
    return SurveyLogit(
        names=names, term_of=term_of, level_of=level_of, terms=terms_r, beta=beta, cov=cov, A_inv=A_inv,
        patterns=patterns, Xp=Xp, S_w=S_w, S_wy=S_wy, psu=layout,
        n=int(m.sum()), weighted_n=float(w.sum()),
        design_df=design_df, df=int(df), iterations=iterations, interactions=interactions, row_pattern=pat_all,
        inference=inference, influence=influence, coef_df=coef_df,
    )
