"""Sample-size planning for an NGO's own kampung survey: how many households to interview to detect a gap of
``delta`` percentage points from the city with a given power.

The kampung proportion ``p1 = p0 + delta`` is tested against the city's ``p0``, taken as known: the city survey's
SE is small next to a kampung sample's (the city side is not re-sampled by the NGO). The test the dashboard
runs on the upload is a Wald test, the kampung estimate over its own design-based SE, with t on the kampung's
degrees of freedom (clusters - 1). The size that gives it power ``1 - b`` is (Lohr 2022, *Sampling*, 3rd ed.,
sec. 2.7 and 7.5; Lwanga & Lemeshow 1991, WHO, with the variance under the alternative)::

    n_srs = (t_{1-a/2, df} + t_{1-b, df})^2 p1 (1 - p1) / delta^2

solved by iteration because ``df`` depends on the number of clusters. The textbook form with the null
variance in the first term (Lwanga & Lemeshow's table 1) promises 80% and delivers about 60% for this test
(tests/stats/test_planning.py measures it), because few clusters widen the t and the SE is estimated.

A cluster sample (households in a few RW) needs ``deff`` times as many, with Kish's (1965, sec. 5.4)
``deff = 1 + (m - 1) rho`` for ``m`` households per cluster and intraclass correlation ``rho``. ``rho`` is what
the city survey measured: its design effect ``deff_city = SE_design^2 / (p (1 - p) / n)`` over its mean cluster
size ``m_city`` gives ``rho = (deff_city - 1) / (m_city - 1)`` (Kish 1965, 8.2), floored at 0. The weighting
part of the city's design effect is left out for a self-weighting kampung sample only when the user asks for
it; by default the whole measured ``deff`` is carried over through ``rho``, which errs on the side of more
interviews.

For a person-level indicator the result is in persons; ``persons_per_household`` converts it to households.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from analysis.errors import InputError


@dataclass(frozen=True)
class ClusterEffect:
    """What the city survey says about clustering for one indicator."""

    deff: float  # design effect of the city estimate (weights and clusters together)
    mean_cluster_size: float  # respondents per PSU in the city survey
    rho: float  # intraclass correlation implied by ``deff`` and the cluster size, floored at 0


@dataclass(frozen=True)
class SamplePlan:
    """Interviews needed in the kampung, with everything that produced the number."""

    p_city: float
    p_kampung: float
    delta: float
    alpha: float
    power: float
    n_srs: int  # respondents under simple random sampling
    deff: float  # design effect of the planned kampung sample (1 + (m - 1) rho)
    n_respondents: int  # respondents with the design effect
    per_cluster: int  # households interviewed per RW
    n_households: int  # households to interview
    n_clusters: int  # RW to visit


def cluster_effect(p: float, se: float, n: int, mean_cluster_size: float) -> ClusterEffect:
    """The city survey's design effect and implied intraclass correlation for a proportion ``p`` estimated with
    design SE ``se`` from ``n`` respondents in clusters of ``mean_cluster_size`` on average (Kish 1965)."""
    for name, value in (("p", p), ("se", se), ("n", n), ("mean_cluster_size", mean_cluster_size)):
        if value is None or not math.isfinite(float(value)):
            raise InputError("bad_plan_input", f"{name} must be a finite number")
    if not 0 < p < 1 or se <= 0 or n < 2 or mean_cluster_size < 1:
        raise InputError("bad_plan_input", "need 0 < p < 1, se > 0, n >= 2 and a mean cluster size of at least 1")
    deff = se**2 / (p * (1 - p) / n)
    rho = max(0.0, (deff - 1) / (mean_cluster_size - 1)) if mean_cluster_size > 1 else 0.0
    return ClusterEffect(deff=float(deff), mean_cluster_size=float(mean_cluster_size), rho=float(rho))


def srs_sample_size(p0: float, p1: float, alpha: float = 0.05, power: float = 0.8, df: float | None = None) -> int:
    """Respondents for a two-sided Wald test of a proportion ``p1`` against a known ``p0`` (t with ``df``
    degrees of freedom; ``None``: normal)."""
    if not (0 < p0 < 1 and 0 < p1 < 1) or p0 == p1:
        raise InputError("bad_plan_input", "the city and kampung proportions must differ and lie strictly between 0 and 1")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise InputError("bad_plan_input", "alpha and power must lie strictly between 0 and 1")
    dist = stats.norm if df is None else stats.t(df)
    q = dist.ppf(1 - alpha / 2) + dist.ppf(power)
    return int(math.ceil(q**2 * p1 * (1 - p1) / (p1 - p0) ** 2 - 1e-9))


def plan_kampung_sample(
    p_city: float,
    delta: float,
    effect: ClusterEffect,
    *,
    per_cluster: int = 12,
    alpha: float = 0.05,
    power: float = 0.8,
    persons_per_household: float = 1.0,
) -> SamplePlan:
    """Households (and RW) an NGO must interview to detect a kampung ``delta`` away from the city's ``p_city``.

    ``delta`` is signed (negative: the kampung is below the city); ``per_cluster`` households per RW set the
    planned design effect ``1 + (m - 1) rho`` with ``m = per_cluster x persons_per_household`` respondents."""
    if per_cluster < 1 or persons_per_household <= 0:
        raise InputError("bad_plan_input", "households per RW must be at least 1 and persons per household positive")
    p1 = p_city + delta
    m = per_cluster * persons_per_household
    deff = 1 + (m - 1) * effect.rho
    df = None
    for _ in range(50):  # the df of the kampung's test depends on its number of clusters: iterate to a fixed point
        n_srs = srs_sample_size(p_city, p1, alpha, power, df)
        n_resp = int(math.ceil(n_srs * deff - 1e-9))
        clusters = max(2, int(math.ceil(math.ceil(n_resp / persons_per_household - 1e-9) / per_cluster)))
        if df == clusters - 1:
            break
        df = clusters - 1
    return SamplePlan(
        p_city=p_city, p_kampung=p1, delta=delta, alpha=alpha, power=power, n_srs=n_srs, deff=float(deff),
        n_respondents=n_resp, per_cluster=per_cluster, n_households=clusters * per_cluster, n_clusters=clusters,
    )
