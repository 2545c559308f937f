"""A small, fast, seeded two-stage sample in the shape of ``survey_households`` / ``survey_persons``.

For the statistics tests and benchmarks only (SYNTHETIC: every row has ``synthetic=True``). Design: strata are
the six kota; in each kelurahan ``rw_per_kel`` RWs (PSUs) are drawn out of ``rw_pop_per_kel``, then
``hh_per_rw`` households per RW; the weight is the inverse of the two selection probabilities. Answers come
from logistic models in income, education and age, with a kelurahan effect, so domains differ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KOTA = ["31.01", "31.71", "31.72", "31.73", "31.74", "31.75"]
EDUCATION = np.array(["no_diploma", "sd", "smp", "sma", "tertiary"], dtype=object)
INFO = ["rt_rw", "kelurahan_office", "poster", "door_to_door", "whatsapp", "social_media", "online_news", "jaki", "tv_radio", "community_org"]


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _nullable_bool(values: np.ndarray, missing: np.ndarray) -> pd.Series:
    s = pd.Series(values.astype(bool), dtype="boolean")
    s[missing] = pd.NA
    return s


def make_survey(kel_per_kota: int = 4, rw_per_kel: int = 4, hh_per_rw: int = 12, rw_pop_per_kel: int = 12, seed: int = 1):
    rng = np.random.default_rng(seed)
    kel_kota = np.repeat(np.arange(len(KOTA)), kel_per_kota)
    n_kel = len(kel_kota)
    kel_code = np.array([f"{KOTA[k]}.{1 + i % 9:02d}.{1001 + i}" for i, k in enumerate(kel_kota)], dtype=object)
    kel_effect = rng.normal(0.0, 0.5, n_kel)
    # PSUs
    psu_kel = np.repeat(np.arange(n_kel), rw_per_kel)
    psu_rw = np.tile(np.arange(1, rw_per_kel + 1), n_kel)
    psu_effect = rng.normal(0.0, 0.3, len(psu_kel))
    psu_hh_pop = rng.integers(120, 320, len(psu_kel))
    # households
    hh_psu = np.repeat(np.arange(len(psu_kel)), hh_per_rw)
    n_hh = len(hh_psu)
    hh_kel = psu_kel[hh_psu]
    kota = kel_kota[hh_kel]
    weight = (rw_pop_per_kel / rw_per_kel) * (psu_hh_pop[hh_psu] / hh_per_rw)
    quintile = np.clip(np.round(3 + 1.2 * kel_effect[hh_kel] + rng.normal(0, 1.2, n_hh)), 1, 5).astype(int)
    hh_size = rng.integers(1, 7, n_hh)
    n_phones = np.minimum(rng.poisson(0.5 + 0.45 * quintile), hh_size + 1)
    lin = -1.0 + 0.6 * quintile + kel_effect[hh_kel] + psu_effect[hh_psu]
    has_internet = rng.random(n_hh) < _expit(lin + 1.5)
    phone_shared = rng.random(n_hh) < _expit(1.0 - 0.5 * n_phones + 0.3 * hh_size)
    knows = rng.random(n_hh) < _expit(lin - 0.5)
    installed = knows & (rng.random(n_hh) < _expit(lin - 1.0))
    used_bst = installed & (rng.random(n_hh) < 0.35)
    r_age = rng.integers(18, 80, n_hh)
    r_edu = EDUCATION[np.clip(np.round(quintile * 0.8 + rng.normal(0, 1, n_hh)).astype(int) - 1, 0, 4)]
    r_sex = np.where(rng.random(n_hh) < 0.5, "L", "P")
    quota_spend = np.where(has_internet, rng.gamma(2.0, 40_000, n_hh), 0.0)
    expenditure = np.array([1_000_000, 2_250_000, 4_000_000, 6_250_000, 8_750_000])[quintile - 1]
    hh_id = np.array([f"hh{i:07d}" for i in range(n_hh)], dtype=object)
    households = pd.DataFrame(
        {
            "hh_id": hh_id,
            "survey_id": "sim",
            "synthetic": True,
            "kode_kemendagri": kel_code[hh_kel],
            "kode_kab_kemendagri": np.array(KOTA, dtype=object)[kota],
            "rw": psu_rw[hh_psu],
            "stratum": np.array(KOTA, dtype=object)[kota],
            "psu": np.array([f"{kel_code[k]}/RW{r:02d}" for k, r in zip(psu_kel, psu_rw)], dtype=object)[hh_psu],
            "weight": weight,
            "fpc_psu": float(kel_per_kota * rw_pop_per_kel),
            "hh_size": hh_size,
            "income_quintile": pd.array(quintile, dtype="Int64"),
            "n_phones": n_phones,
            "phone_shared": _nullable_bool(phone_shared, n_phones == 0),
            "has_internet": pd.array(has_internet, dtype="boolean"),
            "quota_spend_rp": quota_spend,
            "quota_burden": quota_spend / expenditure,
            "knows_jaki": pd.array(knows, dtype="boolean"),
            "installed_jaki": _nullable_bool(installed, ~knows),
            "used_bst_check": _nullable_bool(used_bst, ~installed),
            "used_qlue": pd.array(rng.random(n_hh) < _expit(lin - 2.5), dtype="boolean"),
            "used_complaint_channel": pd.array(rng.random(n_hh) < _expit(lin - 2.0), dtype="boolean"),
            "respondent_age": r_age,
            "respondent_sex": r_sex,
            "respondent_education": r_edu,
        }
    )
    for k, key in enumerate(INFO):
        households[f"info_{key}"] = pd.array(rng.random(n_hh) < _expit(-1.5 + 0.4 * ((k % 3) - 1) * quintile / 3 + 0.2 * k / len(INFO)), dtype="boolean")
    # persons
    p_hh = np.repeat(np.arange(n_hh), hh_size)
    line = np.concatenate([np.arange(1, s + 1) for s in hh_size]) if n_hh else np.array([], int)
    n_p = len(p_hh)
    age = np.where(line == 1, r_age[p_hh], rng.integers(0, 85, n_p))
    edu_idx = np.clip(np.round(quintile[p_hh] * 0.8 + rng.normal(0, 1, n_p)).astype(int) - 1, 0, 4)
    plin = -0.5 + 0.5 * quintile[p_hh] + 0.5 * edu_idx - 0.04 * np.maximum(age - 30, 0) + kel_effect[hh_kel[p_hh]] + psu_effect[hh_psu[p_hh]]
    under5 = age < 5
    persons = pd.DataFrame(
        {
            "hh_id": hh_id[p_hh],
            "person_id": [f"{h}-{ln}" for h, ln in zip(hh_id[p_hh], line)],
            "line_no": line,
            "age": age,
            "age_group": pd.cut(pd.Series(age), [5, 15, 25, 45, 60, np.inf], right=False, labels=["5-14", "15-24", "25-44", "45-59", "60+"]).astype("string"),
            "sex": np.where(line == 1, r_sex[p_hh], np.where(rng.random(n_p) < 0.5, "L", "P")),
            "education": pd.Series(np.where(under5, None, EDUCATION[edu_idx]), dtype="string"),
            "uses_internet": _nullable_bool(rng.random(n_p) < _expit(plin + 1.0), under5),
            "owns_smartphone": _nullable_bool(rng.random(n_p) < _expit(plin), under5),
            "digital_skill_basic": _nullable_bool(rng.random(n_p) < _expit(plin - 0.5), under5),
        }
    )
    for col in ("survey_id", "synthetic", "kode_kemendagri", "kode_kab_kemendagri", "stratum", "psu", "weight", "fpc_psu", "income_quintile", "hh_size"):
        persons[col] = households[col].to_numpy()[p_hh] if col != "income_quintile" else pd.array(quintile[p_hh], dtype="Int64")
    return households, persons
