"""An indirect (synthetic) estimate of internet use for every kelurahan from real data only: table
``indirect_internet``.

Stage ``analysis.stats.indirect``, after ``covariates`` and ``published``. The classic synthetic estimator
(Rao & Molina 2015, *Small Area Estimation*, 2nd ed., sect. 3.2.1): a kelurahan's real composition from the
Dukcapil register of 30 June 2019 is applied to the published DKI group rates,

    y_k = sum_g  N_kg / N_k  *  r_g

**Assumption (shown on screen): each group's rate is the same everywhere in the city.** It is a model, not a
measurement: labelled "modelled from published rates", never mixed with survey estimates.

- *Universe*: residents aged 5+ (BPS's ICT universe): ``JUMLAH_PEN - U0``.
- *Groups and rates* (published_figures): adults 15+ without a diploma 7.35% (SMERU, data 2018; read as adults,
  as the demo generator does, because a child 5-14 "without a diploma" is still at school); residents with SMP
  or higher 87.60% (Susenas March 2019); the rest (children 5-14 and adults with primary school only) has no
  published rate, so its rate is **solved** so that the estimator applied to the whole city's composition gives
  the published DKI total, 73.46% of persons 5+ (Susenas March 2019). It is reported in the table. Adult
  education is split exactly as in ``kelurahan_covariates`` (the 0-14-year-olds removed from the lowest
  categories in order).
- *Sex*: the estimate is shifted on the logit scale by the kelurahan's sex composition against the city's,
  with the Susenas rates for men (76.17%) and women (70.74%); the register's sex split is for all ages.
- *Plausible range* (not a confidence interval): the same estimator with every group's rate moved on the logit
  scale by the published spread between expenditure groups (Susenas March 2019 phone/computer use: bottom 40%
  76.51%, all 84.32%, top 20% 94.12%; internet use "shows the same trend"): the low end as if the kelurahan's
  residents were all in the bottom 40% at their education, the high end as if all in the top 20%.
- Offered to the Fay-Herriot model as a covariate: :func:`as_covariate` gives ``kode_kemendagri,
  indirect_internet`` to join to ``kelurahan_covariates`` (``sae.covariate_matrix(..., columns=COVARIATES +
  ("indirect_internet",))``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.tables import Field, Table

STAGE = "analysis.stats.indirect"
LABEL = "modelled from published rates"
ASSUMPTION = ("Assumes each group's rate (education, sex) is the same in every kelurahan of DKI Jakarta; the "
              "range moves every rate by the published gap between expenditure groups. Not a survey estimate.")
FIGURES = {
    "total": "susenas2019_dki_persons_internet_3m",
    "men": "susenas2019_dki_men_internet_3m",
    "women": "susenas2019_dki_women_internet_3m",
    "smp_plus": "susenas2019_dki_smp_plus_internet_3m",
    "no_diploma": "smeru_dki_internet_no_diploma",
    "device_all": "susenas2019_dki_persons_hp_or_computer",
    "device_bottom40": "susenas2019_dki_bottom40_hp_or_computer",
    "device_top20": "susenas2019_dki_top20_hp_or_computer",
}
SMP_PLUS = ["SLTP", "SLTA", "DIPLOMA_I", "DIPLOMA_II", "DIPLOMA_IV", "STRATA_II", "STRATA_III"]

FIELDS = [
    Field("kode_kemendagri", "Dotted Kemendagri kelurahan code"),
    Field("kelurahan", "Kelurahan name (Dukcapil register)"),
    Field("persons_5plus", "Residents aged 5+ (Dukcapil 2019: JUMLAH_PEN - U0)", "integer", "persons"),
    Field("share_no_diploma_5plus", "Adults 15+ without a diploma (TIDAK_BELU + BELUM_TAMA after removing the 0-14 "
          "year-olds, as kelurahan_covariates) / persons_5plus", "number", "proportion"),
    Field("share_residual_5plus", "Children 5-14 (U5 + U10) and adults 15+ with primary school only (TAMAT_SD after "
          "the removal) / persons_5plus: the group whose rate is not published", "number", "proportion"),
    Field("share_smp_plus_5plus", "Adults 15+ with SMP or higher (SLTP and above) / persons_5plus", "number",
          "proportion"),
    Field("share_female", "WANITA / JUMLAH_PEN (all ages; the register has no sex-by-age split)", "number",
          "proportion"),
    Field("indirect_internet", "Synthetic estimate of the share of residents 5+ using the internet: education "
          "composition x published DKI rates, shifted by sex composition (see the table description)", "number",
          "proportion"),
    Field("range_low", "Low end of the plausible range: every group rate moved by the bottom-40% expenditure gap",
          "number", "proportion"),
    Field("range_high", "High end of the plausible range: every group rate moved by the top-20% expenditure gap",
          "number", "proportion"),
    Field("rate_sd_solved", "Rate for the residual group (children 5-14 and adults with primary school only), "
          "solved so that the city total is the published 73.46%", "number", "proportion"),
    Field("label", "Provenance label: modelled from published rates (not a survey estimate)"),
    Field("assumption", "The estimator's assumption, to be shown with the number"),
]


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def published_rates(published: pd.DataFrame) -> dict[str, float]:
    """The group rates (as proportions) by role; KeyError names a missing figure."""
    by_id = published.set_index("figure_id")["value"]
    missing = [f for f in FIGURES.values() if f not in by_id.index]
    if missing:
        raise KeyError(f"published figures missing: {missing}")
    return {role: float(by_id[fid]) / 100.0 for role, fid in FIGURES.items()}


def composition(raw: pd.DataFrame, codes: pd.Series | None = None) -> pd.DataFrame:
    """Residents 5+ in the estimator's three groups and the share female, from Dukcapil attribute rows.

    Adults 15+ by education exactly as ``kelurahan_covariates`` (the 0-14-year-olds removed from TIDAK_BELU,
    BELUM_TAMA, TAMAT_SD, SLTP in order); the residual group is children 5-14 plus adults with primary only.
    """
    from analysis.etl import covariates as cov

    df = raw.copy()
    df["kode_kemendagri"] = [cov.dotted_code(str(c).strip()) if len(str(c).strip()) == 10 else "" for c in df["KODE_DESA"]]
    if codes is not None:
        df = df[df["kode_kemendagri"].isin(set(codes))]
    df = df.drop_duplicates("kode_kemendagri").reset_index(drop=True)
    n = df[["JUMLAH_PEN", "U0", "U5", "U10", "WANITA", *cov.EDUCATION]].apply(pd.to_numeric, errors="coerce").astype(float)
    children = n["U0"] + n["U5"] + n["U10"]
    edu, _ = cov.remove_in_order(n[cov.EDUCATION], cov.CHILD_REMOVAL_EDUCATION, children)
    return pd.DataFrame({
        "kode_kemendagri": df["kode_kemendagri"].astype(str),
        "kelurahan": df["DESA"].astype(str).str.strip(),
        "persons_5plus": n["JUMLAH_PEN"] - n["U0"],
        "n_no_diploma": edu["TIDAK_BELU"] + edu["BELUM_TAMA"],
        "n_residual": n["U5"] + n["U10"] + edu["TAMAT_SD"],
        "n_smp_plus": edu[SMP_PLUS].sum(axis=1),
        "share_female": n["WANITA"] / n["JUMLAH_PEN"],
    })


def estimate(comp: pd.DataFrame, rates: dict[str, float]) -> pd.DataFrame:
    """The synthetic estimator and its range for every row of ``comp`` (see the module docstring)."""
    c = comp.copy()
    N = c["persons_5plus"].sum()
    r_sd = (rates["total"] * N - rates["no_diploma"] * c["n_no_diploma"].sum()
            - rates["smp_plus"] * c["n_smp_plus"].sum()) / c["n_residual"].sum()
    r_sd = float(np.clip(r_sd, rates["no_diploma"], rates["smp_plus"]))  # between the published extremes
    shares = np.column_stack([c["n_no_diploma"], c["n_residual"], c["n_smp_plus"]]) / c["persons_5plus"].to_numpy()[:, None]
    r = np.array([rates["no_diploma"], r_sd, rates["smp_plus"]])
    f_city = float(np.average(c["share_female"], weights=c["persons_5plus"]))

    def sex_rate(f):
        return (1 - f) * rates["men"] + f * rates["women"]

    sex_shift = _logit(sex_rate(c["share_female"].to_numpy())) - _logit(sex_rate(f_city))

    def synth(delta):
        return (shares * _expit(_logit(r)[None, :] + delta + sex_shift[:, None])).sum(axis=1)

    d_low = float(_logit(rates["device_bottom40"]) - _logit(rates["device_all"]))
    d_high = float(_logit(rates["device_top20"]) - _logit(rates["device_all"]))
    out = pd.DataFrame({
        "kode_kemendagri": c["kode_kemendagri"],
        "kelurahan": c["kelurahan"],
        "persons_5plus": c["persons_5plus"].round().astype("int64"),
        "share_no_diploma_5plus": shares[:, 0],
        "share_residual_5plus": shares[:, 1],
        "share_smp_plus_5plus": shares[:, 2],
        "share_female": c["share_female"].astype(float),
        "indirect_internet": synth(0.0),
        "range_low": synth(d_low),
        "range_high": synth(d_high),
        "rate_sd_solved": r_sd,
        "label": LABEL,
        "assumption": ASSUMPTION,
    })
    return out.sort_values("kode_kemendagri", kind="mergesort").reset_index(drop=True)


def as_covariate(table: pd.DataFrame) -> pd.DataFrame:
    """``kode_kemendagri, indirect_internet``: to join to ``kelurahan_covariates`` as a Fay-Herriot covariate."""
    return table[["kode_kemendagri", "indirect_internet"]].copy()


def build(ctx) -> list[Table]:
    from analysis.etl import covariates as cov

    cov_t = ctx.tables.get("kelurahan_covariates")
    pub_t = ctx.tables.get("published_figures")
    if cov_t is None or pub_t is None or not ctx.available(cov.SOURCE_ID):
        ctx.note(STAGE, "Dukcapil covariates or published figures missing: no indirect estimate", "warning")
        return []
    try:
        rates = published_rates(pub_t.data)
    except KeyError as exc:
        ctx.note(STAGE, f"no indirect estimate: {exc}", "warning")
        return []
    shp = next(i for i, f in enumerate(ctx.manifest[cov.SOURCE_ID].files) if f.path.endswith(".shp"))
    comp = composition(cov.read_dukcapil(ctx.path(cov.SOURCE_ID, shp)), cov_t.data["kode_kemendagri"])
    data = estimate(comp, rates)
    ctx.note(STAGE, f"indirect estimate: rate of children 5-14 and primary-only adults solved at {data['rate_sd_solved'].iat[0]:.1%} so that "
                    "the city total is the published 73.46%")
    return [Table(
        name="indirect_internet",
        title="Internet use per kelurahan modelled from published rates (synthetic estimator, real data only)",
        description=(
            "Each kelurahan's Dukcapil 2019 composition (education of residents 5+, sex) applied to published DKI "
            "rates (Susenas March 2019; SMERU for residents without a diploma): Rao & Molina (2015), sect. 3.2.1. "
            + ASSUMPTION + " Range: every group rate moved by the published expenditure-group gap."
        ),
        data=data, fields=FIELDS, sources=["dukcapil_2019", "published_figures"],
        rows_in=len(cov_t.data), rows_used=len(data),
        rejects=pd.DataFrame({"row": [], "reason": []}) if len(data) == len(cov_t.data) else pd.DataFrame(
            {"row": [0] * (len(cov_t.data) - len(data)), "reason": ["no Dukcapil composition"] * (len(cov_t.data) - len(data))}),
    )]
