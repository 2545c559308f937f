"""Access models: survey-weighted logistic regressions of internet use, household internet access and JAKI
awareness on income quintile and education (plus age group, sex, household size and kota).

Estimation: ``analysis.stats.logit`` (pseudo-likelihood coefficients on covariate patterns, Binder sandwich
SEs from the design covariance of the score totals: strata, PSUs, fpc, the SEs of R ``svyglm``). The published
intervals and tests (``PUBLISHED_INFERENCE``, column ``df_method``) use t with each estimate's own
Satterthwaite df over the strata's contributions to its variance (Korn & Graubard 1999 sec. 5.2), not the
``design df - (number of coefficients - 1)`` of R ``svyglm`` for every estimate (``logit.PLAIN``, still
available), and the kota terms compare each kota with the kota sampled in the most PSUs (``PUBLISHED_KOTA_REFERENCE``), not
with Kepulauan Seribu and its 6 PSUs: with both, the intervals cover the demo survey's census parameters at
the nominal rate (``bench/bench_coverage.py``; ``analysis.stats.logit`` gives the measurements). Reported here:

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

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis.errors import InputError
from analysis.stats import estimates as est_mod
from analysis.stats.logit import (
    MOST_PSUS,
    PLAIN,
    SATTERTHWAITE,
    SurveyLogit,
    Term,
    design_matrix,
    expit,
    fit_survey_logit,
)
from analysis.survey.schema import AGE_GROUP_EDGES, AGE_GROUPS, EDUCATION_LEVELS, INCOME_QUINTILES, SEXES
from analysis.tables import Field, Table

STAGE = "analysis.stats.models"
# What the published tables use (``analysis.stats.logit``, measured in ``bench/bench_coverage.py``): each
# estimate's Satterthwaite df over the strata, and the kota terms against the kota sampled in the most PSUs. ``logit.PLAIN`` with
# the first kota as reference (R svyglm: design df - (k - 1) for every coefficient) stays available.
PUBLISHED_INFERENCE = SATTERTHWAITE
PUBLISHED_KOTA_REFERENCE = MOST_PSUS
DF_METHODS = {
    PLAIN: "svyglm: design df - (coefficients - 1) for every estimate (R svyglm)",
    SATTERTHWAITE: "satterthwaite: the estimate's own Satterthwaite df over the strata's contributions to its variance (Korn & Graubard 1999 sec. 5.2)",
}

ADULT_AGE = 17  # KTP age: a resident gets an NIK-bearing identity card, needed to log in to JAKI


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    label_en: str
    label_id: str
    table: str  # survey_persons | survey_households
    outcome: str
    universe: str  # in words
    terms: tuple[Term, ...]


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
    bins = [*AGE_GROUP_EDGES, np.inf]
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


# --- reports -------------------------------------------------------------------------------------------------


def _t(df, level=0.95):
    return stats.t.ppf(0.5 + level / 2, df)


def odds_ratios(model_id: str, fit: SurveyLogit, level: float = 0.95) -> pd.DataFrame:
    se = np.sqrt(np.diag(fit.cov))
    dfs = fit.coef_df if fit.coef_df is not None else np.full(len(fit.names), float(fit.df))
    tstat = fit.beta / se
    rows = []
    ref = {t_.column: t_.reference for t_ in fit.terms}
    for j, name in enumerate(fit.names):
        if name == "intercept":
            continue
        term = fit.term_of[j]
        t = _t(dfs[j], level)
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
            "p_value": float(2 * stats.t.sf(abs(tstat[j]), dfs[j])),
            "df": float(dfs[j]),
            "df_method": fit.inference,
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
    dfs = fit.df_of(z)
    t = _t(dfs, level)
    rows = []
    for i, (var, lv, ref) in enumerate(labels):
        rows.append({
            "model": model_id, "variable": var, "level": lv, "reference": ref, "ame": F[i], "se": se[i],
            "ci_low": F[i] - t[i] * se[i], "ci_high": F[i] + t[i] * se[i],
            "p_value": float(2 * stats.t.sf(abs(F[i] / se[i]), dfs[i])) if se[i] > 0 else np.nan, "df": float(dfs[i]),
            "df_method": fit.inference,
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
    dfs = fit.df_of(z)
    t = _t(dfs, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(F / (1 - F))
        half = t * se / (F * (1 - F))
    rows = []
    for i, (a, b, n) in enumerate(cells):
        rows.append({
            "model": model_id, "specification": specification, "income_quintile": int(a), "education": str(b),
            "predicted": F[i], "se": se[i], "ci_low": float(expit(logit[i] - half[i])), "ci_high": float(expit(logit[i] + half[i])),
            "n_cell": n, "df": float(dfs[i]), "df_method": fit.inference,
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
    Field("reference", "Reference level of the covariate (kota: the kota sampled in the most PSUs)."),
    Field("coef", "Log-odds coefficient (survey-weighted pseudo-maximum likelihood)."),
    Field("se", "Design-based standard error of the coefficient (Binder 1983 linearisation; strata, PSU, fpc)."),
    Field("odds_ratio", "Odds ratio exp(coef)."),
    Field("ci_low", "Lower 95% confidence limit of the odds ratio (t with df)."),
    Field("ci_high", "Upper 95% confidence limit of the odds ratio."),
    Field("p_value", "Two-sided p-value of coef = 0 (t with df)."),
    Field("df", "Degrees of freedom of the t interval and test, by df_method."),
    Field("df_method", "How df is counted: " + "; ".join(DF_METHODS.values()) + ". Capped at PSUs - strata - (coefficients - 1)."),
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
    Field("p_value", "Two-sided p-value of AME = 0 (t with df)."),
    Field("df", "Degrees of freedom of the t interval and test, by df_method."),
    Field("df_method", "How df is counted: " + "; ".join(DF_METHODS.values()) + "."),
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
    Field("df", "Degrees of freedom of the t quantile of the interval, by df_method."),
    Field("df_method", "How df is counted: " + "; ".join(DF_METHODS.values()) + "."),
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


def run_models(households: pd.DataFrame | None, persons: pd.DataFrame | None, specs=MODELS, inference: str = PUBLISHED_INFERENCE,
               kota_reference=PUBLISHED_KOTA_REFERENCE) -> dict[str, pd.DataFrame]:
    """Fit every model and return the four report frames; ``inference`` and ``kota_reference`` default to the
    published ones (``logit.PLAIN`` and ``None`` reproduce R svyglm)."""
    ors, ames, grids, fits = [], [], [], []
    for spec in specs:
        frame = model_frame(spec, households, persons)
        cache: dict = {}
        main = fit_survey_logit(frame, spec.terms, cache=cache, inference=inference, kota_reference=kota_reference)
        inter = fit_survey_logit(frame, spec.terms, interaction=True, cache=cache, inference=inference, kota_reference=kota_reference)
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
    pe = est_mod.stage_persons(ctx)  # the raked person weights of the published estimates
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
