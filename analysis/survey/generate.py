"""The synthetic demo survey: a seeded population, a sample from it, and the known truth.

Nothing here describes real people. For every sampled kelurahan the generator builds its **whole synthetic
population** (households by RW, then persons), draws the sample of :mod:`analysis.survey.design` from it,
and writes the sample as a KoboToolbox export (:mod:`analysis.survey.kobo_export`) with, beside it, the design
file, the generating model's coefficients and the true kelurahan rates of the main indicators computed on the
full synthetic populations (``truth.json``, ``truth_kelurahan.csv``). Everything is labelled SYNTHETIC.

The model (all coefficients are in :data:`MODEL` and copied into ``truth.json``):

1. *Kelurahan and RW*: a poverty index ``u = 0.7 x + 0.5 v + 0.3 r + k`` where ``x`` is the kelurahan's
   standardised share of adults without a diploma in the Dukcapil 2019 register (0 without covariates),
   ``v ~ N(0,1)`` per kelurahan, ``r ~ N(0,1)`` per RW, and ``k = 0.5 (logit p_kota - logit p_DKI)`` from
   BPS's kab/kota poverty rates (March 2024; 2023 where 2024 is not typed), so that kota poverty shapes the
   expenditure distribution by kota. The two field sites of Joveto & Irwansyah (2023),
   among East Jakarta's largest bansos recipients, are poorer by construction: their kelurahan index is
   raised to at least the 90th percentile of the other sampled kelurahan.
2. *Household*: size ``1 + Poisson(2.3 + 0.25 u+)``; monthly expenditure log-normal,
   ``log E = log 5.48e6 - 0.35 u + 0.15 log(size/3.5) + 0.65 e``; the **income quintile** is the quintile of
   ``E`` over the synthetic city (households weighted by the inverse of the kelurahan inclusion probability).
   The export records the expenditure bracket of ``E``.
3. *Persons*: ages, sex and BPS diploma from household structure and an ordinal model on expenditure and
   birth cohort, capped by age (a child in primary school has no diploma yet, as in Susenas).
4. *Internet use* (persons 5+, BPS definition), a logit::

       logit P = b0 + b_q[quintile] + b_edu[education] * [age >= 15] + b_age[age group] + b_sex[P] + g_kel
       g_kel = -0.3 x + 0.25 w,  w ~ N(0,1)

   **Calibration to DKI 2019** (solved by :func:`calibrate` on seed 20250101 with the Dukcapil covariates and
   fixed in :data:`MODEL`; targets and sources in ``docs/CALIBRATION.md`` and :data:`CALIBRATION_TARGETS`): on
   the synthetic city (weighted) 73.46% of persons 5+ use the internet, 76.17% of men and 70.74% of women,
   87.60% of persons with SMP or higher (BPS Susenas March 2019, DKI), 93.33% of households have at least one
   user (BPS Statistik Telekomunikasi 2019) and 7.35% of persons aged 15+ without a diploma use it (SMERU
   2020, cited by Joveto & Irwansyah 2023); the expenditure ladder keeps the published direction (bottom 40%
   < middle 40% < top 20%). Children 5-14 get no education term because their "no diploma" means "still at
   school".
5. *Phones, skills*: owning a smartphone and a basic digital skill are logits on internet use, quintile,
   age and education; phones owned = smartphone owners + Poisson feature phones; sharing is likelier when
   there are more members than smartphones.
6. *JAKI* for the respondent (head, or spouse): a funnel knows -> installed (needs a smartphone in the
   household) -> used the BST check (likelier for DTKS / bansos households); reasons for not using follow
   from the funnel (did not know, no smartphone, no quota for poor households, cannot operate without a
   digital skill, distrust).
7. *Information channels*: one logit per channel on poverty (quintile 1-2), the respondent's internet use
   and education: RT/RW heads, door-to-door and community organisations for poorer households, WhatsApp for
   internet users, online news and social media for the more educated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.survey import design as design_mod
from analysis.survey import kobo_export
from analysis.survey.schema import AGE_GROUPS, DIPLOMAS, EDUCATION_LEVEL, EDUCATION_LEVELS, EXPENDITURE_BRACKETS

SURVEY_ID = "demo-synthetic-2025"

# diploma code (index into schema.DIPLOMAS) -> level code (index into schema.EDUCATION_LEVELS)
EDU_LEVEL5 = np.array([EDUCATION_LEVELS.index(EDUCATION_LEVEL[d]) for d in DIPLOMAS])
EDU_ADULT_CUM = [0.07, 0.22, 0.39, 0.62, 0.72, 0.77, 0.97]  # adult (22+) diploma distribution, cumulative

MODEL = {
    "kelurahan": {"x_low_education": 0.7, "v_random": 0.5, "oversample_poverty_quantile": 0.9, "rw_random": 0.3,
                  "kota_poverty_logit": 0.5},
    "household": {"size_lambda": 2.3, "size_poverty": 0.25, "log_expenditure_median": float(np.log(5.48e6)),
                  "expenditure_poverty": -0.35, "expenditure_size": 0.15, "expenditure_sd": 0.65},
    "internet": {
        "intercept": 0.1729,  # calibrated, see calibrate()
        "quintile": {"1": 0.0, "2": 0.2, "3": 0.35, "4": 0.5, "5": 0.7},
        "education_15plus": {"no_diploma": -2.0126, "sd": 0.0, "smp": 1.4758, "sma": 2.2758, "tertiary": 3.0758},
        "age_group": {"5-14": 0.3, "15-24": 1.0, "25-44": 0.0, "45-59": -0.8, "60+": -1.4493},
        "sex": {"L": 0.0, "P": -0.5011},
        "kelurahan": {"x_low_education": -0.3, "random_sd": 0.25},
    },
    "smartphone": {"intercept": -2.5, "internet": 4.0, "quintile_centred": 0.3, "age_5_14": -1.5, "age_60plus": -0.5},
    "digital_skill": {"intercept_user": -0.5, "education_score_centred": 0.6, "age_60plus": -1.0, "non_user_p": 0.01},
    "jaki": {
        "knows": {"intercept": -1.1, "internet": 1.4, "education_score_centred": 0.4, "quintile_centred": 0.2,
                  "age_60plus": -0.6, "poverty_u": -0.4},
        "installed_given_knows": {"intercept": -0.6, "owns_smartphone": 1.5, "quintile_centred": 0.3},
        "used_bst_check_given_installed": {"intercept": -1.0, "dtks_or_bansos": 1.2},
    },
    "info_channel": {
        "rt_rw": {"intercept": -0.2, "poor": 1.0, "dtks": 0.3},
        "kelurahan_office": {"intercept": -1.5, "poor": 0.4},
        "poster": {"intercept": -1.3},
        "door_to_door": {"intercept": -1.8, "poor": 0.8},
        "whatsapp": {"intercept": -1.2, "internet": 1.6, "poor": 0.3},
        "social_media": {"intercept": -2.0, "internet": 1.2, "education_score_centred": 0.3},
        "online_news": {"intercept": -2.8, "internet": 1.0, "education_score_centred": 0.5},
        "jaki": {"intercept": -3.0, "installed_jaki": 2.5},
        "tv_radio": {"intercept": -1.0, "education_score_centred": -0.1},
        "community_org": {"intercept": -2.2, "poor": 0.6},
    },
    "targets": {
        "households_with_internet_pct": 93.33,
        "households_with_internet_source": "BPS (2020), Statistik Telekomunikasi Indonesia 2019 (Susenas March 2019): % of households that accessed the internet in the last 3 months, DKI Jakarta (cited by Joveto & Irwansyah 2023, JDPL 5(3))",
        "persons_5plus_internet_pct": 73.46,
        "persons_5plus_internet_source": "BPS Susenas March 2019, DKI Jakarta, persons 5+ who used the internet in the last 3 months (Diskominfotik DKI, statistik.jakarta.go.id)",
        "men_internet_pct": 76.17,
        "women_internet_pct": 70.74,
        "sex_source": "BPS Susenas March 2019, DKI Jakarta, by sex (Diskominfotik DKI, statistik.jakarta.go.id)",
        "smp_plus_internet_pct": 87.60,
        "smp_plus_source": "BPS Susenas March 2019, DKI Jakarta, persons with SMP (junior secondary) or higher (Diskominfotik DKI, statistik.jakarta.go.id)",
        "no_diploma_15plus_internet_pct": 7.35,
        "no_diploma_15plus_internet_source": "SMERU (2020), Catatan kebijakan: mewujudkan ekonomi digital yang inklusif; DKI Jakarta, persons without a diploma (cited by Joveto & Irwansyah 2023, JDPL 5(3))",
        "expenditure_gradient": "bottom 40% < middle 40% < top 20% (BPS Susenas March 2019 DKI: phone/computer use 76.51 < 86.80 < 94.12; internet 'shows the same trend')",
    },
}


def _kota_poverty() -> dict[str, float]:
    """BPS poverty rate (%) per Kemendagri kab/kota code from the typed published figures: March 2024, or March
    2023 where 2024 is not in the figures (Jakarta Selatan)."""
    from analysis.etl import published
    from analysis.etl.names import key_of

    codes = {"kepulauanseribu": "31.01", "jakartapusat": "31.71", "jakartautara": "31.72", "jakartabarat": "31.73",
             "jakartaselatan": "31.74", "jakartatimur": "31.75"}
    fig = published.load()
    fig = fig[fig["indicator"] == "poverty_rate"].sort_values("year")
    out = {}
    for region, value in zip(fig["region"], fig["value"]):
        code = codes.get(key_of(region))
        if code:
            out[code] = float(value)  # later years overwrite earlier ones
    return out


# Kab/kota poverty shapes the kelurahan poverty index (and so expenditure): u += b * (logit(p_kota) - logit(p_DKI)).
KOTA_POVERTY_PCT = _kota_poverty()
DKI_POVERTY_PCT = 4.44  # BPS, March 2023 (published_figures bps_poverty_2023_dki)
MODEL["kota_poverty_pct"] = KOTA_POVERTY_PCT


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class PopulationScale:
    """The cuts ``build_population`` takes from the population it builds, so that a later part of the same
    synthetic city (``build_unsampled_populations``) is on the same scale: the income quintile cuts of log
    expenditure (over the synthetic city, households weighted by ``1 / pi_kelurahan``), the mean and SD of log
    expenditure that standardise it in the education model, and the thresholds of the education latent that give
    the adult diploma distribution ``EDU_ADULT_CUM``."""

    quintile_cuts: np.ndarray
    log_expenditure_mean: float
    log_expenditure_sd: float
    education_thresholds: np.ndarray


@dataclass
class Population:
    """The synthetic population of the sampled kelurahan (households ``hh`` and persons ``pp`` as dicts of arrays),
    or of a part of the unsampled ones (``build_unsampled_populations``), and the scale it was built on."""

    kel: pd.DataFrame  # sampled kelurahan with their effects
    hh: dict
    pp: dict
    scale: PopulationScale | None = None


def _group_sum(idx, values, n):
    return np.bincount(idx, weights=values, minlength=n)


def build_population(sample: pd.DataFrame, rw: pd.DataFrame, frame: pd.DataFrame, rng: np.random.Generator,
                     model: dict = MODEL, scale: PopulationScale | None = None) -> Population:
    """Every household and person of every sampled kelurahan, vectorised (numpy).

    ``scale``: the normalising cuts (``PopulationScale``) to use instead of those of this population (which it
    otherwise computes and returns in ``Population.scale``); the random draws are the same either way."""
    m = model
    kel = sample.reset_index(drop=True).copy()
    share = frame["share_adult_no_diploma"]
    if share.notna().sum() > 10:
        x_all = (share - share.mean()) / share.std()
        x = kel["kode_kemendagri"].map(dict(zip(frame["kode_kemendagri"], x_all))).fillna(0.0).to_numpy()
    else:
        x = np.zeros(len(kel))
    kel["x_low_education"] = x
    mk = m["kelurahan"]
    u_k = mk["x_low_education"] * x + mk["v_random"] * rng.standard_normal(len(kel))
    pov = m.get("kota_poverty_pct", {})
    if pov and mk.get("kota_poverty_logit") and "kode_kab_kemendagri" in kel:
        lp = kel["kode_kab_kemendagri"].astype(str).map(pov).astype(float).fillna(DKI_POVERTY_PCT) / 100.0
        base = DKI_POVERTY_PCT / 100.0
        kel["kota_poverty_term"] = mk["kota_poverty_logit"] * (np.log(lp / (1 - lp)) - np.log(base / (1 - base)))
        u_k = u_k + kel["kota_poverty_term"].to_numpy()
    over = kel["oversample"].to_numpy()
    if over.any() and (~over).any():  # the field sites sit at least at the 90th percentile of poverty
        u_k[over] = np.maximum(u_k[over], np.quantile(u_k[~over], mk["oversample_poverty_quantile"]))
    kel["u"] = u_k
    kel["g_internet"] = m["internet"]["kelurahan"]["x_low_education"] * x + m["internet"]["kelurahan"]["random_sd"] * rng.standard_normal(len(kel))
    kel_pos = {c: i for i, c in enumerate(kel["kode_kemendagri"])}

    # households: one row per listed household of every RW of every sampled kelurahan
    rw = rw.reset_index(drop=True)
    rw_kel = rw["kode_kemendagri"].map(kel_pos).to_numpy()
    rw_u = kel["u"].to_numpy()[rw_kel] + mk["rw_random"] * rng.standard_normal(len(rw))
    sizes = rw["households_listed"].to_numpy()
    hh_rw = np.repeat(np.arange(len(rw)), sizes)
    H = len(hh_rw)
    hh_kel = rw_kel[hh_rw]
    u = rw_u[hh_rw]
    mh = m["household"]
    size = 1 + rng.poisson(mh["size_lambda"] + mh["size_poverty"] * np.clip(u, 0, None))
    size = np.minimum(size, 12)
    logE = (mh["log_expenditure_median"] + mh["expenditure_poverty"] * u
            + mh["expenditure_size"] * np.log(size / 3.5) + mh["expenditure_sd"] * rng.standard_normal(H))
    E = np.exp(logE)
    w_city = 1.0 / kel["pi_kelurahan"].to_numpy()[hh_kel]
    cuts = _weighted_quantiles(logE, w_city, [0.2, 0.4, 0.6, 0.8]) if scale is None else scale.quintile_cuts
    quint = 1 + np.searchsorted(cuts, logE, side="right")
    bracket_edges = np.array([hi for lo, hi in EXPENDITURE_BRACKETS.values() if hi is not None], dtype=float)
    bracket = np.searchsorted(bracket_edges, E, side="right")

    # persons
    P = int(size.sum())
    p_hh = np.repeat(np.arange(H), size)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    line = np.arange(P) - starts[p_hh] + 1
    head_age = np.clip(np.round(24 + rng.gamma(4.0, 6.0, H)), 18, 95)
    age = np.empty(P)
    is_head = line == 1
    is_spouse = (line == 2) & (rng.random(P) < 0.85)
    age[is_head] = head_age
    age[is_spouse] = np.clip(head_age[p_hh[is_spouse]] + np.round(rng.normal(-3, 4, is_spouse.sum())), 16, 95)
    other = ~is_head & ~is_spouse
    elder = other & (rng.random(P) < 0.08)
    child = other & ~elder
    age[elder] = np.clip(head_age[p_hh[elder]] + 22 + np.round(rng.uniform(0, 10, elder.sum())), 50, 105)
    age[child] = np.clip(head_age[p_hh[child]] - 20 - np.round(rng.uniform(0, 22, child.sum())), 0, 60)
    age = age.astype(int)
    sex = np.where(is_head, np.where(rng.random(P) < 0.8, 0, 1), rng.integers(0, 2, P))
    head_sex = sex[starts]
    sex = np.where(is_spouse, 1 - head_sex[p_hh], sex)  # 0 = L, 1 = P

    # education (8 BPS categories) from an ordinal latent on expenditure and cohort, capped by age
    logE_mean, logE_sd = (float(logE.mean()), float(logE.std())) if scale is None else (scale.log_expenditure_mean, scale.log_expenditure_sd)
    z = (logE - logE_mean) / logE_sd
    latent = 0.9 * z[p_hh] - 0.02 * (age - 40) + rng.standard_normal(P)
    adult = age >= 22
    thresholds = np.quantile(latent[adult], EDU_ADULT_CUM) if scale is None else scale.education_thresholds
    if scale is None:
        scale = PopulationScale(np.asarray(cuts), logE_mean, logE_sd, np.asarray(thresholds))
    edu = np.searchsorted(thresholds, latent)
    cap = np.select([age < 5, age < 13, age < 16, age < 19, age < 22], [0, 0, 1, 2, 4], 7)
    edu = np.minimum(edu, cap)
    level = EDU_LEVEL5[edu]
    age_group = np.select([age < 5, age < 15, age < 25, age < 45, age < 60], [-1, 0, 1, 2, 3], 4)
    eligible = age >= 5

    mi = m["internet"]
    b_q = np.array([mi["quintile"][str(q)] for q in range(1, 6)])
    b_edu = np.array([mi["education_15plus"][n] for n in EDUCATION_LEVELS])
    b_age = np.array([mi["age_group"][g] for g in AGE_GROUPS])
    eta = (mi["intercept"] + b_q[quint[p_hh] - 1] + np.where(age >= 15, b_edu[level], 0.0)
           + b_age[np.maximum(age_group, 0)] + np.where(sex == 1, mi["sex"]["P"], 0.0)
           + kel["g_internet"].to_numpy()[hh_kel[p_hh]])
    internet = eligible & (rng.random(P) < _logistic(eta))

    ms = m["smartphone"]
    eta_s = (ms["intercept"] + ms["internet"] * internet + ms["quintile_centred"] * (quint[p_hh] - 3)
             + ms["age_5_14"] * (age < 15) + ms["age_60plus"] * (age >= 60))
    smartphone = eligible & (rng.random(P) < _logistic(eta_s))
    md = m["digital_skill"]
    score_c = level - 2
    p_skill = np.where(internet, _logistic(md["intercept_user"] + md["education_score_centred"] * score_c + md["age_60plus"] * (age >= 60)), md["non_user_p"])
    skill = eligible & (rng.random(P) < p_skill)
    p_lit = np.select([age < 7, age < 10, (age >= 15) & (level == 0)], [0.3, 0.85, 0.75], 0.995)
    literate = eligible & (rng.random(P) < p_lit)
    occupation = _occupation(age, sex, rng)

    pp = dict(hh=p_hh, line=line, age=age, sex=sex, edu=edu, level=level, age_group=age_group, internet=internet,
              smartphone=smartphone, skill=skill, literate=literate, occupation=occupation, eligible=eligible)

    # household aggregates from members
    n_users = _group_sum(p_hh, internet, H)
    n_smart = _group_sum(p_hh, smartphone, H)
    n_kids = _group_sum(p_hh, (age >= 6) & (age <= 18), H)
    has_internet = n_users > 0
    poor = quint <= 2
    n_phones = np.minimum(n_smart + rng.poisson(0.25 + 0.1 * poor), 20).astype(int)
    shared = (n_phones > 0) & (rng.random(H) < _logistic(-1.0 + 0.6 * (size - n_smart) - 0.3 * (quint - 3)))
    sh_school = shared & (rng.random(H) < np.where(n_kids > 0, 0.85, 0.05))
    sh_work = shared & (rng.random(H) < 0.5)
    sh_msg = shared & ((rng.random(H) < 0.75) | (~sh_school & ~sh_work))
    c_mobile = has_internet & (rng.random(H) < 0.97)
    c_fixed = has_internet & (rng.random(H) < _logistic(-2.2 + 0.7 * (quint - 1)))
    c_wifi = has_internet & (rng.random(H) < _logistic(-2.0 + 0.3 * poor))
    c_none = ~(c_mobile | c_fixed | c_wifi)
    quota = np.where(
        c_mobile,
        np.clip(np.round(np.exp(np.log(60_000) + 0.35 * np.log(np.maximum(n_users, 1)) + 0.15 * (quint - 1) + 0.5 * rng.standard_normal(H)) / 5000) * 5000, 5000, 2_000_000),
        0,
    ).astype(int)
    dtks_p = _logistic(0.8 - 1.0 * (quint - 1) + 0.3 * u)
    dtks = np.where(rng.random(H) < 0.03, 2, (rng.random(H) < dtks_p).astype(int))  # 1 yes, 0 no, 2 don't know
    bansos = np.where(rng.random(H) < 0.01, 2, (rng.random(H) < np.where(dtks == 1, 0.85, 0.08 + 0.1 * (quint == 1))).astype(int))
    bst = np.where(bansos == 1, np.where(rng.random(H) < 0.03, 2, (rng.random(H) < 0.55).astype(int)), -1)

    # respondent: the head, or the spouse when there is one (30%)
    spouse_idx = np.full(H, -1)
    sp = np.flatnonzero(is_spouse)
    spouse_idx[p_hh[sp]] = sp
    use_spouse = (spouse_idx >= 0) & (rng.random(H) < 0.3)
    resp = np.where(use_spouse, spouse_idx, starts)
    r_int, r_smart, r_skill = internet[resp], smartphone[resp], skill[resp]
    r_score = level[resp] - 2
    r_age = age[resp]
    mj = m["jaki"]
    k = mj["knows"]
    knows = rng.random(H) < _logistic(k["intercept"] + k["internet"] * r_int + k["education_score_centred"] * r_score
                                      + k["quintile_centred"] * (quint - 3) + k["age_60plus"] * (r_age >= 60) + k["poverty_u"] * u)
    ki = mj["installed_given_knows"]
    installed = knows & (n_smart > 0) & (rng.random(H) < _logistic(ki["intercept"] + ki["owns_smartphone"] * r_smart + ki["quintile_centred"] * (quint - 3)))
    ku = mj["used_bst_check_given_installed"]
    used_check = installed & (rng.random(H) < _logistic(ku["intercept"] + ku["dtks_or_bansos"] * ((dtks == 1) | (bansos == 1))))
    not_used = ~used_check
    rs_dnk = not_used & ~knows
    rs_nosmart = not_used & ((n_smart == 0) | (~r_smart & (rng.random(H) < 0.5)))
    rs_quota = not_used & (rng.random(H) < np.where(poor, 0.45, 0.1))
    rs_operate = not_used & (rng.random(H) < np.where(~r_skill | (r_age >= 60), 0.6, 0.05))
    rs_distrust = not_used & (rng.random(H) < 0.08)
    rs_other = not_used & ((rng.random(H) < 0.03) | ~(rs_dnk | rs_nosmart | rs_quota | rs_operate | rs_distrust))
    qlue = rng.random(H) < _logistic(-3.0 + 0.5 * r_score + 0.8 * r_int)
    complaint = rng.random(H) < _logistic(-2.3 + 0.4 * r_score + 0.5 * r_int)
    info = {}
    preds = {"poor": poor, "dtks": dtks == 1, "internet": r_int, "education_score_centred": r_score, "installed_jaki": installed}
    for ch, coefs in m["info_channel"].items():
        eta_c = np.full(H, coefs["intercept"], dtype=float)
        for var, b in coefs.items():
            if var != "intercept":
                eta_c = eta_c + b * preds[var]
        info[ch] = rng.random(H) < _logistic(eta_c)
    info_none = ~np.any(np.column_stack(list(info.values())), axis=1)

    hh = dict(
        rw_row=hh_rw, kel=hh_kel, u=u, size=size, E=E, quintile=quint, bracket=bracket, n_users=n_users,
        has_internet=has_internet, n_smart=n_smart, n_phones=n_phones, shared=shared, sh_school=sh_school,
        sh_work=sh_work, sh_msg=sh_msg, c_mobile=c_mobile, c_fixed=c_fixed, c_wifi=c_wifi, c_none=c_none,
        quota=quota, dtks=dtks, bansos=bansos, bst=bst, resp=resp, resp_line=line[resp], knows=knows,
        installed=installed, used_check=used_check, rs_dnk=rs_dnk, rs_nosmart=rs_nosmart, rs_quota=rs_quota,
        rs_operate=rs_operate, rs_distrust=rs_distrust, rs_other=rs_other, qlue=qlue, complaint=complaint,
        info_none=info_none, w_city=w_city, start=starts,
        **{f"info_{k}": v for k, v in info.items()},
    )
    return Population(kel=kel, hh=hh, pp=pp, scale=scale)


UNSAMPLED_STREAM = 1  # the unsampled kelurahan's random stream: numpy seed [seed, UNSAMPLED_STREAM]
UNSAMPLED_CHUNK = 32  # unsampled kelurahan built at a time (memory); part of the stream's definition


def build_unsampled_populations(frame: pd.DataFrame, sample: pd.DataFrame, scale: PopulationScale, seed: int,
                                model: dict = MODEL, chunk: int = UNSAMPLED_CHUNK):
    """The synthetic populations of the kelurahan of ``frame`` that ``sample`` left out, so that the sampled and
    these together are a synthetic population of the WHOLE frame (every kelurahan of the city). Yields
    ``Population`` parts of ``chunk`` kelurahan (code order; each household's ``w_city`` is 1: population, not
    sample), built by ``build_population`` with the same ``model`` on the sampled population's ``scale``
    (quintile cuts, expenditure standardisation, education thresholds: one scale for the whole city), their RW
    listings made as ``select_sample`` makes one (``design.unsampled_listing``). Its random stream is its own,
    ``default_rng([seed, UNSAMPLED_STREAM])``, so the sample, its population and the export drawn from ``seed``
    are unchanged.

    Why building the rest after sampling gives the model's whole population: the first stage is PPS on the
    register's household counts, which the model takes as given, so the sample is independent of every
    kelurahan's random effects (``v``, ``w``), RW effects and households; given the sample, the unsampled
    kelurahan's populations are independent draws of the same model given their covariates. "Generate every
    kelurahan, then sample" and "sample, then generate the rest" thus have the same joint distribution, provided
    the scale is the same function of the sampled population in both (it is: taken from it) and the field sites'
    poverty floor only touches the field sites, which are certainty units (always sampled).
    ``tests/survey/test_generate.py`` checks the unsampled true rates against the sampled ones given the
    covariates, over seeds."""
    rng = np.random.default_rng([seed, UNSAMPLED_STREAM])
    rest, rw = design_mod.unsampled_listing(frame, sample, rng)
    for start in range(0, len(rest), chunk):
        part = rest.iloc[start:start + chunk].reset_index(drop=True)
        part_rw = rw[rw["kode_kemendagri"].isin(part["kode_kemendagri"])].reset_index(drop=True)
        yield build_population(part, part_rw, frame, rng, model, scale)


def _occupation(age, sex, rng):
    """Main activity by age and sex (a coarse BPS-like mix), as codes into ``schema.OCCUPATIONS`` (-1 under 10)."""
    n = len(age)
    r = rng.random(n)
    occ = np.full(n, -1, dtype=np.int8)
    young = (age >= 10) & (age < 18)
    occ[young] = np.where(r[young] < 0.92, 0, 5)
    student_age = (age >= 18) & (age < 23)
    occ[student_age] = np.where(r[student_age] < 0.35, 0, np.where(r[student_age] < 0.75, 3, 2))
    work = (age >= 23) & (age < 60)
    men = work & (sex == 0)
    women = work & (sex == 1)
    occ[men] = np.searchsorted(np.cumsum([0, 0, 0.08, 0.45, 0.25, 0.15, 0.02, 0, 0.05]), r[men], side="right") - 1
    occ[women] = np.searchsorted(np.cumsum([0, 0.42, 0.05, 0.25, 0.18, 0.04, 0.04, 0, 0.02]), r[women], side="right") - 1
    old = age >= 60
    occ[old] = np.where(r[old] < 0.5, 7, np.where(r[old] < 0.75, 4, 1))
    return occ


def _weighted_quantiles(values, weights, qs):
    order = np.argsort(values)
    cw = np.cumsum(weights[order])
    cw /= cw[-1]
    return np.array([values[order][np.searchsorted(cw, q)] for q in qs])


# --- sampling households and the truth ---------------------------------------------------------------------


def sample_households(pop: Population, rw: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Indices of the sampled households: a simple random sample of ``households_sampled`` in each sampled RW."""
    take = rw["households_sampled"].to_numpy()
    rw_row = pop.hh["rw_row"]
    key = rng.random(len(rw_row))
    order = np.lexsort((key, rw_row))
    first = np.concatenate([[0], np.cumsum(rw["households_listed"].to_numpy())[:-1]])
    rank = np.empty(len(rw_row), dtype=int)
    rank[order] = np.arange(len(rw_row)) - first[rw_row[order]]
    chosen = rank < take[rw_row]
    return np.flatnonzero(chosen)


TRUTH_INDICATORS = [
    # (indicator = canonical column, unit, universe description, numerator array name, universe mask name)
    ("has_internet", "household", "all households", "has_internet", None),
    ("phone_shared", "household", "all households", "shared", None),
    ("conn_mobile_data", "household", "all households", "c_mobile", None),
    ("conn_fixed_broadband", "household", "all households", "c_fixed", None),
    ("dtks", "household", "all households (don't know = no)", "dtks_yes", None),
    ("received_bansos", "household", "all households (don't know = no)", "bansos_yes", None),
    ("knows_jaki", "household", "all households (the respondent)", "knows", None),
    ("installed_jaki", "household", "all households (not asked = no)", "installed", None),
    ("used_bst_check", "household", "all households (not asked = no)", "used_check", None),
    ("info_rt_rw", "household", "all households", "info_rt_rw", None),
    ("info_whatsapp", "household", "all households", "info_whatsapp", None),
    ("info_jaki", "household", "all households", "info_jaki", None),
    ("uses_internet", "person", "persons aged 5+", "internet", "eligible"),
    ("owns_smartphone", "person", "persons aged 5+", "smartphone", "eligible"),
    ("digital_skill_basic", "person", "persons aged 5+", "skill", "eligible"),
]


def truth_tables(pop: Population) -> tuple[pd.DataFrame, dict]:
    """True kelurahan rates on the full synthetic populations, and weighted city values (calibration check)."""
    hh, pp, kel = pop.hh, pop.pp, pop.kel
    hh = dict(hh, dtks_yes=hh["dtks"] == 1, bansos_yes=hh["bansos"] == 1)
    K = len(kel)
    rows = []
    city = {}
    p_kel = hh["kel"][pp["hh"]]
    for ind, unit, universe, num, mask in TRUTH_INDICATORS:
        if unit == "household":
            values, k_idx, w = hh[num].astype(float), hh["kel"], hh["w_city"]
            sel = np.ones(len(values), dtype=bool)
        else:
            values, k_idx, w = pp[num].astype(float), p_kel, hh["w_city"][pp["hh"]]
            sel = pp[mask]
        numer = np.bincount(k_idx[sel], weights=values[sel], minlength=K)
        denom = np.bincount(k_idx[sel], minlength=K)
        for i in range(K):
            rows.append((True, kel.at[i, "kode_kemendagri"], kel.at[i, "kelurahan"], kel.at[i, "kab_kota"], ind, unit,
                         universe, int(numer[i]), int(denom[i]), numer[i] / denom[i] if denom[i] else np.nan))
        city[ind] = float(np.sum(values[sel] * w[sel]) / np.sum(w[sel]))
    city.update(calibration_rates(pop))
    table = pd.DataFrame(rows, columns=["synthetic", "kode_kemendagri", "kelurahan", "kab_kota", "indicator", "unit",
                                        "universe", "numerator", "denominator", "rate"])
    return table, city


def calibration_rates(pop: Population) -> dict:
    """The generator's true city rates for the Susenas 2019 targets (weighted by 1/pi_kelurahan).

    Universes as published: persons aged 5+ (all, by sex, with SMP or higher, by household expenditure group:
    bottom 40% = quintiles 1-2, middle 40% = 3-4, top 20% = 5), persons aged 15+ without a diploma (SMERU's
    figure; a child 5-14 has "no diploma" because it is still at school), and households with at least one
    member who used the internet.
    """
    hh, pp = pop.hh, pop.pp
    wp = hh["w_city"][pp["hh"]]
    internet = pp["internet"].astype(float)
    el = pp["eligible"]

    def rate(mask):
        return float(np.sum(internet[mask] * wp[mask]) / np.sum(wp[mask]))

    q = hh["quintile"][pp["hh"]]
    return {
        "uses_internet_no_diploma_15plus": rate((pp["age"] >= 15) & (pp["level"] == 0)),
        "uses_internet_male": rate(el & (pp["sex"] == 0)),
        "uses_internet_female": rate(el & (pp["sex"] == 1)),
        "uses_internet_smp_plus": rate(el & (pp["level"] >= EDUCATION_LEVELS.index("smp"))),
        "uses_internet_bottom40": rate(el & (q <= 2)),
        "uses_internet_middle40": rate(el & (q >= 3) & (q <= 4)),
        "uses_internet_top20": rate(el & (q == 5)),
    }


# --- calibration -------------------------------------------------------------------------------------------


CALIBRATION_TARGETS = {
    # truth key -> target share (see MODEL["targets"] for the sources)
    "uses_internet": 0.7346,
    "uses_internet_male": 0.7617,
    "uses_internet_female": 0.7074,
    "uses_internet_smp_plus": 0.8760,
    "uses_internet_no_diploma_15plus": 0.0735,
    "has_internet": 0.9333,
}
def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def calibrate(seed: int = 20250101, iterations: int = 8, covariates: pd.DataFrame | None = None,
              model: dict | None = None) -> dict:
    """Solve five internet-model parameters for the six Susenas 2019 targets (:data:`CALIBRATION_TARGETS`).

    Each parameter answers for one target, moved on the logit scale by its target's gap at every iteration
    (damped fixed-point / secant steps, as for a raking ratio): the intercept for persons 5+ (73.46%), the
    women's coefficient for the sex gap (76.17% vs 70.74%), a common shift of the SMP/SMA/tertiary
    coefficients for SMP-or-higher (87.60%), the no-diploma coefficient for adults without a diploma (7.35%)
    and the coefficient of age 60+ for households with internet (93.33%): use concentrated in the young means
    every household with a younger member has a user, so the old-age gap sets the household share for a given
    person rate. The expenditure-quintile ladder is fixed and gives the published gradient (bottom 40% <
    middle 40% < top 20%). Evaluated on the weighted synthetic city (households weighted by 1/pi_kelurahan)
    with the same seed each time (common random numbers). The result is what :data:`MODEL` holds; rerun after
    changing the model and copy the parameters in.
    """
    import copy

    model = copy.deepcopy(model or MODEL)
    frame = design_mod.kelurahan_frame(covariates=covariates)
    tg = {k: float(_logit(v)) for k, v in CALIBRATION_TARGETS.items()}
    mi = model["internet"]
    city: dict = {}
    for _ in range(iterations):
        rng = np.random.default_rng(seed)
        sample, rw = design_mod.select_sample(frame, design_mod.DesignSpec(), rng)
        _, city = truth_tables(build_population(sample, rw, frame, rng, model))
        lg = {k: float(_logit(city[k])) for k in CALIBRATION_TARGETS}
        d_all = tg["uses_internet"] - lg["uses_internet"]
        d_gap = (tg["uses_internet_female"] - tg["uses_internet_male"]) - (lg["uses_internet_female"] - lg["uses_internet_male"])
        d_smp = tg["uses_internet_smp_plus"] - lg["uses_internet_smp_plus"] - d_all
        d_nd = tg["uses_internet_no_diploma_15plus"] - lg["uses_internet_no_diploma_15plus"] - d_all
        d_hh = tg["has_internet"] - lg["has_internet"]
        mi["intercept"] = round(mi["intercept"] + 0.8 * d_all, 4)
        mi["sex"]["P"] = round(mi["sex"]["P"] + 1.5 * d_gap, 4)
        for lvl in ("smp", "sma", "tertiary"):
            mi["education_15plus"][lvl] = round(mi["education_15plus"][lvl] + 0.8 * d_smp, 4)
        mi["education_15plus"]["no_diploma"] = round(mi["education_15plus"]["no_diploma"] + 0.8 * d_nd, 4)
        mi["age_group"]["60+"] = round(min(mi["age_group"]["60+"] + 1.5 * d_hh, 0.0), 4)
    return {"internet": mi, "city": city}


# --- the whole demo ----------------------------------------------------------------------------------------


@dataclass
class GenerateOptions:
    out: Path
    seed: int = 20250101
    households: int = 4_000
    kelurahan: int = 80  # PPS kelurahan (the two oversampled kelurahan come on top)
    format: str = "both"  # xlsx | csv | both
    values: str = "xml"  # xml | labels
    delimiter: str = ";"
    lang: str = "Indonesian (id)"
    dirt: bool = True


def generate(opts: GenerateOptions, covariates: pd.DataFrame | None = None, register: pd.DataFrame | None = None,
             progress=None) -> dict:
    """Generate the demo survey into ``opts.out``; return a summary (paths, counts).

    Deterministic: the same seed, options and inputs give byte-identical files.
    """
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(opts.seed)
    frame = design_mod.kelurahan_frame(register, covariates)
    spec = design_mod.DesignSpec(households=opts.households, n_kelurahan=opts.kelurahan)
    sample, rw = design_mod.select_sample(frame, spec, rng)
    pop = build_population(sample, rw, frame, rng)
    chosen = sample_households(pop, rw, rng)
    design = design_mod.design_table(sample, rw, SURVEY_ID)
    psu_frame = design_mod.frame_psu_counts(frame)
    design.insert(design.columns.get_loc("n_rw_kelurahan"), "fpc_psu", design["stratum"].map(psu_frame).astype(int))
    truth_kel, city = truth_tables(pop)
    submissions = kobo_export.submissions_from_population(pop, rw, chosen, opts.seed)
    paths, dirt = kobo_export.write_export(submissions, out, opts, rng=np.random.default_rng(opts.seed + 1))

    from analysis.tables import atomic_write_bytes, atomic_write_text, csv_bytes

    atomic_write_bytes(out / "design.csv", csv_bytes(design))
    atomic_write_bytes(out / "truth_kelurahan.csv", csv_bytes(truth_kel))
    truth = {
        "synthetic": True,
        "note": "SYNTHETIC DATA generated by analysis.survey.generate; no real respondents.",
        "survey_id": SURVEY_ID,
        "seed": opts.seed,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items() if k != "out"},
        "design": {
            "spec": asdict(spec),
            "strata": "kab/kota (Kemendagri)",
            "size_source": sorted(frame["size_source"].unique().tolist()),
            "frame_households": int(frame["households"].sum()),
            "frame_households_by_stratum": {k: int(v) for k, v in frame.groupby("kode_kab_kemendagri")["households"].sum().items()},
            "kelurahan_sampled": int(len(sample)),
            "psu_sampled": int(len(design)),
            "households_sampled": int(len(chosen)),
            "oversample": list(design_mod.OVERSAMPLE),
        },
        "model": MODEL,
        "income_quintile": "quintile of the latent household expenditure over the synthetic city (weighted); the export holds its bracket",
        "city_truth_weighted": city,
        "persons_sampled": int(pop.hh["size"][chosen].sum()),
        "dirt": dirt,
        "files": sorted(p.name for p in paths) + ["design.csv", "truth.json", "truth_kelurahan.csv", "README.txt"],
    }
    atomic_write_text(out / "truth.json", json.dumps(truth, indent=2, ensure_ascii=False, default=_json_default) + "\n")
    atomic_write_text(out / "README.txt", _readme(truth))
    return truth


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def _readme(truth: dict) -> str:
    return (
        "SYNTHETIC DATA - DATA SINTETIS\n"
        "================================\n\n"
        "This directory holds a synthetic demo survey generated by the project (python -m analysis survey generate).\n"
        "No real household or person is described. Direktori ini berisi survei demo SINTETIS; tidak ada responden nyata.\n\n"
        f"seed {truth['seed']}, {truth['design']['households_sampled']} households, {truth['persons_sampled']} persons.\n\n"
        "Files:\n"
        "- the KoboToolbox-style export (XLSX with the main sheet and the repeat sheet 'anggota', and/or two CSV files)\n"
        "- design.csv: one row per sampled RW (PSU): stratum, selection probabilities, households listed/sampled, design weight\n"
        "- truth.json: the generating model's coefficients, calibration targets, injected dirt (counts only)\n"
        "- truth_kelurahan.csv: true kelurahan rates on the full synthetic populations\n"
    )
