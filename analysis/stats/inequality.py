"""Inequality of digital access across income: the Erreygers concentration index and a decomposition of a
kelurahan's (kampung's) gap from the city.

**Concentration index** (O'Donnell, van Doorslaer, Wagstaff & Lindelow 2008, *Analyzing Health Equity Using
Household Survey Data*, World Bank, ch. 8 and 9). Units are ranked by household expenditure quintile (the
survey's income measure); ``R_i`` is the weighted fractional rank, ties sharing the midpoint of their group
(ch. 8, "fractional rank"). For a *binary* outcome the standard index ``C = 2 cov_w(y, R) / mu`` depends on the
mean and is not mirror-symmetric in access vs non-access, so we report Erreygers' (2009) corrected index
``E = 4 mu C / (b - a) = 8 cov_w(y, R)`` with bounds ``a = 0, b = 1`` (ch. 8, eq. 8.9), in [-1, 1]; positive
means access concentrated among the better-off. ``C`` and the Wagstaff (2005) index ``C / (1 - mu)`` are
reported alongside.

SE: design-based, by linearising the weighted covariance with the ranks held fixed (as the "convenient
regression" of ch. 8, ``8 sigma_R^2 y = alpha + E R + e`` with clustered SEs, does):
``z_i = 8 w_i [(y_i - ybar)(R_i - Rbar) - cov] / W``, then the design variance of ``sum z`` with strata, PSUs and
fpc (``analysis.stats.design.linearized_covariance``). ``tests/stats/test_inequality.py`` compares it with the
convenient regression fitted by statsmodels WLS with PSU-clustered SEs. Ranks are recomputed within each kota
for the kota indices (inequality within the kota's own income distribution).

**Gap decomposition** (Fairlie 2005, "An extension of the Blinder-Oaxaca decomposition technique to logit and
probit models", *J. Econ. Soc. Meas.* 30; detailed terms by Yun 2004, *Economics Letters* 82). A pooled
city-wide survey-weighted logit of the outcome on income quintile, education and age group gives ``beta``.
For a kelurahan ``d`` against the city ``c``::

    total       = ybar_d - ybar_c
    explained   = mean_d F(x beta) - mean_c F(x beta)     (composition: what the kelurahan's mix predicts)
    unexplained = total - explained                       (= ybar_d - mean_d F(x beta); place, not mix)

(with an intercept, the weighted logit reproduces the city mean exactly). The explained part is split over
the three covariate groups with Yun's weights ``(xbar_d - xbar_c)_g beta_g / (xbar_d - xbar_c) beta``, which
are path-independent and add up exactly (Fairlie's sequential replacement depends on the order and on random
matching). Kota is deliberately not a covariate: the kelurahan lies inside one kota, so place stays in the
unexplained part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.areas import CITY_CODE
from analysis.stats import indicators as ind
from analysis.stats import logit, models
from analysis.stats.design import PsuAggregator
from analysis.stats.estimates import survey_inputs
from analysis.tables import Field, Table

STAGE = "analysis.stats.inequality"
CONCENTRATION_INDICATORS = ("person_internet", "person_smartphone", "person_digital_skill", "hh_internet", "jaki_aware")
DECOMPOSITION_INDICATORS = ("person_internet", "person_smartphone", "person_digital_skill")
DECOMPOSITION_TERMS = (
    logit.Term("income_quintile", models.INCOME_QUINTILES, 1),
    logit.Term("education", models.EDUCATION_LEVELS, "no_diploma"),
    logit.Term("age_group", models.AGE_GROUPS, "25-44"),
)
GROUP_OF_TERM = {"income_quintile": "income", "education": "education", "age_group": "age"}
MIN_N = 30


def fractional_rank(rank_variable, weight) -> np.ndarray:
    """Weighted fractional rank in (0, 1): cumulative weight share below the unit's group plus half its group's
    share (ties share the midpoint; O'Donnell et al. 2008, ch. 8)."""
    x = pd.Series(np.asarray(rank_variable))
    w = np.asarray(weight, dtype=float)
    codes, uniq = pd.factorize(x, sort=True)
    Wg = np.bincount(codes, weights=w, minlength=len(uniq))
    below = np.concatenate([[0.0], np.cumsum(Wg)[:-1]])
    mid = (below + 0.5 * Wg) / Wg.sum()
    return mid[codes]


def concentration_index(y, rank_variable, weight, agg: PsuAggregator, mask=None, level: float = 0.95) -> dict:
    """Erreygers-corrected concentration index of a binary ``y`` over ``rank_variable`` for the units in
    ``mask`` (a domain: other units keep their PSU with zero score). ``y`` NaN = not in the universe."""
    y = np.asarray(y, dtype=float)
    w = np.asarray(weight, dtype=float)
    m = ~np.isnan(y) & pd.notna(pd.Series(np.asarray(rank_variable))).to_numpy()
    if mask is not None:
        m &= np.asarray(mask, dtype=bool)
    n = int(m.sum())
    if n < 2:
        return {"n": n}
    R = np.zeros(len(y))
    R[m] = fractional_rank(np.asarray(rank_variable)[m], w[m])
    W = w[m].sum()
    mu = float(np.sum(w[m] * y[m]) / W)
    Rbar = float(np.sum(w[m] * R[m]) / W)
    cov = float(np.sum(w[m] * (y[m] - mu) * (R[m] - Rbar)) / W)
    E = 8.0 * cov
    z = np.zeros(len(y))
    z[m] = 8.0 * w[m] * ((y[m] - mu) * (R[m] - Rbar) - cov) / W
    se = float(np.sqrt(agg.variances(agg.totals(z))[0]))
    df = agg.df
    t = stats.t.ppf(0.5 + level / 2, df) if df > 0 else np.nan
    C = 2 * cov / mu if mu > 0 else np.nan
    return {
        "erreygers": E, "se": se, "ci_low": E - t * se, "ci_high": E + t * se,
        "p_value": float(2 * stats.t.sf(abs(E / se), df)) if se > 0 and df > 0 else np.nan,
        "standard_ci": C, "wagstaff": C / (1 - mu) if mu < 1 else np.nan, "mean": mu, "n": n, "df": df,
    }


def concentration_table(households: pd.DataFrame, persons: pd.DataFrame | None, indicator_ids=CONCENTRATION_INDICATORS) -> pd.DataFrame:
    frames = {ind.HOUSEHOLD: households}
    if persons is not None and len(persons):
        frames[ind.PERSON] = persons
    aggs = {u: PsuAggregator(f) for u, f in frames.items()}
    rows = []
    for iid in indicator_ids:
        indicator = ind.get(iid)
        if indicator.unit not in frames or indicator.measure != ind.PROPORTION:
            continue
        frame = frames[indicator.unit]
        y, universe = indicator.values(frame)
        y = np.where(universe, y, np.nan)
        w = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=float)
        rank = frame["income_quintile"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        kota_code, kota_uniq = aggs[indicator.unit].codes("kode_kab_kemendagri")
        areas = [("city", CITY_CODE, None)] + [("kota", str(k), kota_code == j) for j, k in enumerate(kota_uniq)]
        for level, code, mask in areas:
            res = concentration_index(y, rank, w, aggs[indicator.unit], mask)
            if res.get("n", 0) < MIN_N:
                continue
            rows.append({"indicator_id": iid, "level": level, "area_code": code, "rank_variable": "income_quintile", **res})
    cols = [f.name for f in CI_FIELDS]
    return pd.DataFrame(rows, columns=cols)


def model_frame(frame: pd.DataFrame, y, terms=DECOMPOSITION_TERMS) -> pd.DataFrame:
    """The decomposition logit's input: term columns, design columns, ``y`` (NaN = outside) and ``in_model``."""
    mf = frame[[t.column for t in terms] + ["weight", "stratum", "psu"]].copy()
    mf["fpc_psu"] = frame["fpc_psu"] if "fpc_psu" in frame else np.nan
    mf["y"] = np.asarray(y, dtype=float)
    mf["in_model"] = mf[["y"] + [t.column for t in terms]].notna().all(axis=1).to_numpy()
    return mf


@dataclass
class CityFit:
    """The city's decomposition logit and the city-side quantities every gap is measured against."""

    fit: logit.SurveyLogit
    city_mean: float  # weighted mean of y
    city_predicted: float  # weighted mean of the predicted probability
    xbar: np.ndarray  # weighted mean of the design matrix


def fit_city(mf: pd.DataFrame, terms=DECOMPOSITION_TERMS) -> CityFit:
    """Fit the survey-weighted logit on the city sample (``mf`` from ``model_frame``)."""
    fit = logit.fit_survey_logit(mf, terms, kota=False)
    m = mf["in_model"].to_numpy()
    w = mf["weight"].to_numpy(dtype=float)[m]
    yy = mf["y"].to_numpy(dtype=float)[m]
    Sw = fit.patterns["Sw"].to_numpy()
    return CityFit(
        fit=fit,
        city_mean=float(np.sum(w * yy) / w.sum()),
        city_predicted=float(Sw @ fit.patterns["mu"].to_numpy() / Sw.sum()),
        xbar=Sw @ fit.Xp / Sw.sum(),
    )


@dataclass
class CityModel:
    """What decomposing a *new* area's gap needs from a fitted ``CityFit``, and nothing else: the coefficients
    with their term and level, the city's mean design row, mean outcome and mean prediction.

    It is written by the build as the table ``decomposition_model`` (``rows()``) and read back by the Upload
    page (``from_rows``), so a kampung is decomposed against the very model the build fitted, and no page
    fits a model. Levels travel as text; ``design`` compares the areas' values as text too.
    """

    names: list[str]
    term_of: list[str | None]
    level_of: list[str | None]
    beta: np.ndarray
    xbar: np.ndarray
    city_mean: float
    city_predicted: float

    @classmethod
    def from_fit(cls, city: CityFit) -> CityModel:
        fit = city.fit
        return cls(list(fit.names), list(fit.term_of), [None if lv is None else str(lv) for lv in fit.level_of],
                   np.asarray(fit.beta, dtype=float), np.asarray(city.xbar, dtype=float), city.city_mean, city.city_predicted)

    def rows(self, indicator_id: str) -> pd.DataFrame:
        return pd.DataFrame({
            "indicator_id": indicator_id, "coefficient": self.names, "term": self.term_of, "level": self.level_of,
            "beta": self.beta, "xbar": self.xbar, "city_mean": self.city_mean, "city_predicted": self.city_predicted,
        })[[f.name for f in MODEL_FIELDS]]

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> CityModel:
        """One indicator's rows of ``decomposition_model``, in the order they were written."""
        def text(v):
            return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)

        return cls([str(n) for n in rows["coefficient"]], [text(t) for t in rows["term"]], [text(lv) for lv in rows["level"]],
                   rows["beta"].to_numpy(dtype=float), rows["xbar"].to_numpy(dtype=float),
                   float(rows["city_mean"].iloc[0]), float(rows["city_predicted"].iloc[0]))

    def design(self, values: pd.DataFrame) -> np.ndarray:
        """The treatment-coded design matrix of rows of term values (categorical values compared as text)."""
        categorical = {t for t, lv in zip(self.term_of, self.level_of) if t is not None and lv is not None}
        as_text = values.assign(**{t: values[t].astype(str) for t in categorical if t in values})
        return logit.design_matrix(as_text, None, self.names, self.term_of, self.level_of)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(X @ self.beta)))


def city_models(persons: pd.DataFrame, indicator_ids=DECOMPOSITION_INDICATORS) -> dict[str, tuple[pd.DataFrame, CityFit]]:
    """Per decomposition indicator: its model frame on ``persons`` and the city logit fitted on it."""
    out = {}
    for iid in indicator_ids:
        y, universe = ind.get(iid).values(persons)
        mf = model_frame(persons, np.where(universe, y, np.nan), DECOMPOSITION_TERMS)
        if mf["in_model"].any():
            out[iid] = (mf, fit_city(mf, DECOMPOSITION_TERMS))
    return out


def decompose(frame: pd.DataFrame, y, kelurahan: pd.Series, terms=DECOMPOSITION_TERMS, min_n: int = MIN_N,
              fitted: tuple[pd.DataFrame, CityFit] | None = None) -> pd.DataFrame:
    """Fairlie/Yun decomposition of each kelurahan's gap from the city for outcome ``y`` (NaN = outside).

    ``frame`` must carry the term columns, ``weight``, ``stratum``, ``psu``, ``fpc_psu``. ``fitted``: the model
    frame and city fit of this outcome when already computed (``city_models``), or a ``CityModel`` read back
    from ``decomposition_model`` (the Upload page: a kampung against the build's city model, each row its own
    covariate pattern).
    """
    mf, city = fitted if fitted is not None else (model_frame(frame, y, terms), None)
    city = city or fit_city(mf, terms)
    rows_in = np.flatnonzero(mf["in_model"].to_numpy())
    if isinstance(city, CityModel):
        Xp = city.design(mf.iloc[rows_in][[t.column for t in terms]])
        pat, mu, beta, term_of = np.arange(len(rows_in)), city.predict(Xp), city.beta, city.term_of
    else:
        fit = city.fit
        pat, mu, beta, term_of, Xp = fit.row_pattern[rows_in], fit.patterns["mu"].to_numpy(), fit.beta, fit.term_of, fit.Xp
    kel_code, kel_uniq = pd.factorize(pd.Series(kelurahan).astype(str).to_numpy()[rows_in], sort=True)
    D, P = len(kel_uniq), len(mu)
    w = mf["weight"].to_numpy(dtype=float)[rows_in]
    yy = mf["y"].to_numpy(dtype=float)[rows_in]
    M = np.bincount(kel_code * P + pat, weights=w, minlength=D * P).reshape(D, P)
    Wd = M.sum(axis=1)
    n_d = np.bincount(kel_code, minlength=D)
    ybar_d = np.bincount(kel_code, weights=w * yy, minlength=D) / Wd
    ybar_c, pred_c, xbar_c = city.city_mean, city.city_predicted, city.xbar
    pred_d = (M @ mu) / Wd
    xbar_d = (M @ Xp) / Wd[:, None]
    contrib = (xbar_d - xbar_c) * beta[None, :]  # (D, k); intercept column contributes 0
    total_lin = contrib.sum(axis=1)
    explained = pred_d - pred_c
    out = pd.DataFrame({"kode_kemendagri": np.asarray(kel_uniq, dtype=object), "n": n_d.astype(np.int64),
                        "total_gap": ybar_d - ybar_c, "explained": explained})
    with np.errstate(divide="ignore", invalid="ignore"):
        for term, group in GROUP_OF_TERM.items():
            idx = [j for j, t in enumerate(term_of) if t == term]
            share = contrib[:, idx].sum(axis=1) / total_lin
            out[f"explained_{group}"] = np.where(np.abs(total_lin) > 1e-12, explained * share, 0.0)
    out["unexplained"] = out["total_gap"] - out["explained"]
    out["city_mean"] = ybar_c
    out["city_predicted"] = pred_c
    return out[out["n"] >= min_n].reset_index(drop=True)


def decomposition_tables(persons: pd.DataFrame | None, estimates: pd.DataFrame | None = None,
                         indicator_ids=DECOMPOSITION_INDICATORS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``gap_decomposition`` (each kelurahan against the city) and ``decomposition_model`` (the city logits it
    used, for decomposing uploaded kampung the same way), from one fit per indicator."""
    empty = pd.DataFrame(columns=[f.name for f in DECOMP_FIELDS]), pd.DataFrame(columns=[f.name for f in MODEL_FIELDS])
    if persons is None or len(persons) == 0:
        return empty
    parts, model_parts = [], []
    for iid, (mf, city) in city_models(persons, indicator_ids).items():
        model_parts.append(CityModel.from_fit(city).rows(iid))
        res = decompose(persons, mf["y"], persons["kode_kemendagri"], fitted=(mf, city))
        res.insert(0, "indicator_id", iid)
        if estimates is not None:
            est = estimates[(estimates["indicator_id"] == iid) & (estimates["level"] == "kelurahan")]
            suppressed = set(est.loc[est["reliability"] == "suppressed", "area_code"].astype(str))
            res = res[~res["kode_kemendagri"].isin(suppressed)]
        parts.append(res)
    if not parts:
        return empty
    out = pd.concat(parts, ignore_index=True)
    return out[[f.name for f in DECOMP_FIELDS]], pd.concat(model_parts, ignore_index=True)


CI_FIELDS = [
    Field("indicator_id", "Indicator id (a proportion)."),
    Field("level", "city or kota."),
    Field("area_code", "Kemendagri code ('31' for the city)."),
    Field("rank_variable", "Variable the units are ranked by (household expenditure quintile; ties share a fractional rank)."),
    Field("erreygers", "Erreygers (2009) corrected concentration index 8 cov(y, R) in [-1, 1]; > 0: access concentrated among the better-off."),
    Field("se", "Design-based SE (linearised covariance, ranks fixed; strata, PSU, fpc)."),
    Field("ci_low", "Lower 95% confidence limit (t with design df)."),
    Field("ci_high", "Upper 95% confidence limit."),
    Field("p_value", "Two-sided p-value of no income-related inequality."),
    Field("standard_ci", "Standard concentration index 2 cov(y, R) / mean (depends on the mean for a binary outcome)."),
    Field("wagstaff", "Wagstaff (2005) normalised index C / (1 - mean)."),
    Field("mean", "Weighted mean of the outcome in the area.", unit="proportion"),
    Field("n", "Unweighted units in the universe with an answer and an income quintile."),
    Field("df", "Design degrees of freedom (PSUs - strata)."),
]
DECOMP_FIELDS = [
    Field("indicator_id", "Indicator id (person-level proportion)."),
    Field("kode_kemendagri", "Kelurahan (Kemendagri code)."),
    Field("n", "Unweighted persons of the kelurahan in the model (at least 30)."),
    Field("total_gap", "Kelurahan mean minus city mean (0-1 scale).", unit="proportion points"),
    Field("explained", "Part of the gap explained by the kelurahan's income, education and age composition (Fairlie 2005, pooled city logit)."),
    Field("explained_income", "Explained part due to income quintile composition (Yun 2004 weights)."),
    Field("explained_education", "Explained part due to education composition."),
    Field("explained_age", "Explained part due to age composition."),
    Field("unexplained", "Rest of the gap: the kelurahan differs from what its composition predicts (place, services, unmeasured factors)."),
    Field("city_mean", "Weighted city mean of the outcome in the model."),
    Field("city_predicted", "Weighted city mean of the model's prediction (equals city_mean for a logit with intercept)."),
]

MODEL_FIELDS = [
    Field("indicator_id", "Indicator id (person-level proportion) the city logit models."),
    Field("coefficient", "Coefficient name: intercept, or term[level] (treatment coding against the reference level)."),
    Field("term", "Covariate of the coefficient (income_quintile, education, age_group); empty for the intercept."),
    Field("level", "Level of the covariate the coefficient belongs to, as text; empty for the intercept."),
    Field("beta", "Survey-weighted logit coefficient (log-odds scale), fitted on the city sample."),
    Field("xbar", "Weighted city mean of the coefficient's design column (1 for the intercept)."),
    Field("city_mean", "Weighted city mean of the outcome in the model.", unit="proportion"),
    Field("city_predicted", "Weighted city mean of the model's prediction.", unit="proportion"),
]


def tables(households: pd.DataFrame, persons: pd.DataFrame | None, estimates: pd.DataFrame | None, sources, synthetic: bool) -> list[Table]:
    tag = " (synthetic demo survey)" if synthetic else ""
    ci = concentration_table(households, persons)
    dec, model = decomposition_tables(persons, estimates)
    return [
        Table("concentration_index", "Income-related inequality: Erreygers concentration index" + tag,
              "Concentration index of digital access across household expenditure for the city and each kota, with design-based SE (O'Donnell et al. 2008, ch. 8-9).",
              ci, CI_FIELDS, list(sources), synthetic=synthetic),
        Table("gap_decomposition", "Kelurahan gap from the city: explained by income, education, age; unexplained" + tag,
              "Fairlie (2005) nonlinear decomposition with Yun (2004) detailed weights of each kelurahan's gap from the city, for kelurahan with at least 30 persons in the model.",
              dec, DECOMP_FIELDS, list(sources), synthetic=synthetic),
        Table("decomposition_model", "City logits of the gap decomposition (coefficients and city means)" + tag,
              "The city-wide survey-weighted logits behind gap_decomposition, one row per coefficient: the Upload page decomposes a kampung's gap against exactly these models.",
              model, MODEL_FIELDS, list(sources), synthetic=synthetic),
    ]


def build(ctx) -> list[Table]:
    """Tables ``concentration_index``, ``gap_decomposition`` and ``decomposition_model`` from the survey and
    the published ``estimates`` (whose suppression the decomposition respects)."""
    inputs = survey_inputs(ctx, STAGE, "inequality")
    if inputs is None:
        return []
    pe = inputs.persons
    out = tables(inputs.households.data, None if pe is None else pe.data, inputs.estimates.data, inputs.sources, inputs.synthetic)
    ctx.note(STAGE, f"concentration index for {len(out[0].data)} indicator x area rows; gap decomposition for {len(out[1].data)} indicator x kelurahan rows")
    return out
