"""The sample-size planner on the Upload page: the city survey's numbers for one indicator turned into the
interviews an NGO needs in its kampung (``analysis.stats.planning``). Pure pandas, no Streamlit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import formatting as fmt
from analysis.stats import planning
from ui.views.common import Translate, city_row

if TYPE_CHECKING:
    from ui.data import Built


def plannable_indicators(built: Built) -> list[str]:
    """Proportion indicators with a published city estimate (the planner starts from it)."""
    if built.indicators is None or built.estimates is None:
        return []
    out = []
    for r in built.indicators.itertuples():
        row = city_row(built.estimates, r.indicator_id)
        if r.measure == "proportion" and row is not None and row["reliability"] != "suppressed" and 0 < row["estimate"] < 1:
            out.append(r.indicator_id)
    return out


def plan(built: Built, households: pd.DataFrame, persons: pd.DataFrame | None, indicator_id: str, delta_points: float,
         per_cluster: int, power: float) -> tuple[planning.SamplePlan, planning.ClusterEffect]:
    """The plan for detecting a kampung ``delta_points`` (signed, percentage points) away from the city."""
    unit = built.indicators.set_index("indicator_id").loc[indicator_id, "unit"]
    row = city_row(built.estimates, indicator_id)
    respondents = households if unit == "household" or persons is None else persons
    mean_cluster = len(respondents) / respondents["psu"].nunique()
    effect = planning.cluster_effect(float(row["estimate"]), float(row["se"]), int(row["n"]), mean_cluster)
    per_household = 1.0 if respondents is households else len(persons) / len(households)
    result = planning.plan_kampung_sample(float(row["estimate"]), delta_points / 100.0, effect, per_cluster=per_cluster,
                                          power=power, persons_per_household=per_household)
    return result, effect


def plan_sentence(result: planning.SamplePlan, effect: planning.ClusterEffect, lang: str, t: Translate) -> str:
    return t(
        "planner.result",
        households=fmt.format_int(result.n_households, lang),
        clusters=fmt.format_int(result.n_clusters, lang),
        per_cluster=fmt.format_int(result.per_cluster, lang),
        city=fmt.format_percent(result.p_city, lang),
        kampung=fmt.format_percent(result.p_kampung, lang),
        power=fmt.format_percent(result.power, lang, 0),
        deff=fmt.format_number(result.deff, lang, 2),
        rho=fmt.format_number(effect.rho, lang, 3),
        city_deff=fmt.format_number(effect.deff, lang, 2),
        n_srs=fmt.format_int(result.n_srs, lang),
    )
