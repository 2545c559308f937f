"""The kelurahan profile: every indicator against its kota and the city, the Dukcapil covariates, and the
bars of its charts (breakdowns, JAKI funnel, information channels). Pure pandas, no Streamlit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import formatting as fmt
from ui.views.common import (
    Translate,
    bar_row,
    city_row,
    domain_breakdown,
    domain_value_label,
    estimate_row,
    has_key,
    indicator_labels,
    kelurahan_value,
    kota_of,
    shown_estimate,
    significance_mark,
)

if TYPE_CHECKING:
    from ui.data import Built

JAKI_FUNNEL = ("jaki_aware", "jaki_installed", "bst_check_used")

def profile_table(
    code: str,
    built: Built,
    lang: str,
    t: Translate,
) -> pd.DataFrame:
    """Every indicator for one kelurahan against its kota and the city, with CIs and significance.

    The kelurahan's value is the direct estimate when it is reliable ("ok" or flagged), otherwise the
    small-area estimate marked as modelled. Gaps (kelurahan minus kota / city) come from ``gaps``.
    """
    register, indicators, estimates, sae, gaps = built.register, built.indicators, built.estimates, built.sae, built.gaps
    kota_code, _ = kota_of(register, code)
    labels = indicator_labels(indicators, lang)
    rows = []
    for ind in indicators["indicator_id"]:
        kel = estimate_row(estimates, ind, "kelurahan", code)
        source = "direct"
        kel_text = shown_estimate(kel, lang, t) if kel is not None else t("map.not_sampled")  # not sampled != suppressed
        kel_value = kel["estimate"] if kel is not None and kel.get("reliability") != "suppressed" else None
        if kel_value is None or fmt.is_missing(kel_value):
            srow = None
            if sae is not None:
                match = sae[(sae["indicator_id"] == ind) & (sae["kode_kemendagri"] == code)]
                srow = None if match.empty else match.iloc[0]
            if srow is not None and not fmt.is_missing(srow["estimate"]):
                kel_value = srow["estimate"]
                kel_text = fmt.format_estimate(srow["estimate"], srow["ci_low"], srow["ci_high"], lang) + " *"
                source = "sae"
            else:
                source = "none"
        kota = estimate_row(estimates, ind, "kota", kota_code) if kota_code else None
        city = city_row(estimates, ind)
        row = {
            "indicator_id": ind,
            t("profile.col_indicator"): labels.get(ind, ind),
            t("profile.col_kelurahan"): kel_text,
            t("profile.col_kota"): shown_estimate(kota, lang, t),
            t("profile.col_city"): shown_estimate(city, lang, t),
            "_kel_value": kel_value,
            "_source": source,
        }
        for vs in ("kota", "city"):
            g = None
            if gaps is not None:
                match = gaps[(gaps["indicator_id"] == ind) & (gaps["kode_kemendagri"] == code) & (gaps["vs"] == vs)]
                g = None if match.empty else match.iloc[0]
            if g is None or fmt.is_missing(g["diff"]):
                row[t(f"profile.col_gap_{vs}")] = fmt.MISSING
            else:
                row[t(f"profile.col_gap_{vs}")] = (
                    f"{fmt.format_points(g['diff'], lang).split(' ')[0]} ({fmt.format_ci(g['ci_low'], g['ci_high'], lang, percent=False)}), "
                    f"p = {fmt.format_p_value(g['p_value'], lang)}{significance_mark(g['ci_low'], g['ci_high'])}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def covariate_comparison(covariates: pd.DataFrame | None, code: str, lang: str, t: Translate) -> pd.DataFrame:
    """The kelurahan's Dukcapil covariates beside the median kelurahan of the city."""
    if covariates is None or code not in set(covariates["kode_kemendagri"]):
        return pd.DataFrame()
    # Only the covariates the locale names (the full table is on the Data page).
    numeric = [c for c in covariates.columns if c != "kode_kemendagri" and pd.api.types.is_numeric_dtype(covariates[c]) and has_key(t, f"covariates.{c}")]
    row = covariates.loc[covariates["kode_kemendagri"] == code, numeric].iloc[0]
    median = covariates[numeric].median()
    out = []
    for col in numeric:
        is_share = col.startswith("share_")
        show = (lambda v: fmt.format_percent(v, lang)) if is_share else (lambda v: fmt.format_number(v, lang, 0 if abs(float(v)) >= 100 else 2))
        label = t(f"covariates.{col}")
        out.append({t("profile.col_covariate"): label, t("profile.col_kelurahan"): show(row[col]) if not fmt.is_missing(row[col]) else fmt.MISSING, t("profile.col_median"): show(median[col]) if not fmt.is_missing(median[col]) else fmt.MISSING})
    return pd.DataFrame(out)



def breakdown_level(estimates, indicator_id: str, domain_var: str, code: str, kota_code: str | None) -> str | None:
    """The smallest area whose breakdown of ``indicator_id`` by ``domain_var`` the sample supports: "kelurahan"
    when at least two of its groups have a published estimate (one group alone compares nothing), else "kota"
    under the same rule, else None (only the city is left)."""
    for level, area in (("kelurahan", code), ("kota", kota_code)):
        if area is None:
            continue
        rows = domain_breakdown(estimates, indicator_id, domain_var, [area])
        if not rows.empty and int(((rows["reliability"] != "suppressed") & rows["estimate"].notna()).sum()) >= 2:
            return level
    return None


def breakdown_frame(estimates, indicator_id: str, domain_var: str, area_codes: list, area_names: dict, lang, t) -> pd.DataFrame:
    """Bars of ``indicator_id`` by ``domain_var`` for each area that has them (suppressed cells left out)."""
    rows = domain_breakdown(estimates, indicator_id, domain_var, [c for c in area_codes if c])
    if rows.empty:
        return rows
    rows = rows[rows["estimate"].notna() & (rows["reliability"] != "suppressed")]
    out = []
    for r in rows.itertuples():
        category = domain_value_label(domain_var, r.domain_value, t)
        value = {"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "source": "direct", "reliability": r.reliability}
        bar = bar_row(category, value, lang, t, group=area_names.get(r.area_code, r.area_code), category=category)
        bar["hover"] = f"<b>{area_names.get(r.area_code, r.area_code)}</b>, {bar['hover'][3:]}<br>n = {fmt.format_int(r.n, lang)}"
        out.append(bar)
    return pd.DataFrame(out)


def _indicator_group(indicator_ids, ids, code, kota_code, built: Built, lang, t, names) -> pd.DataFrame:
    estimates = built.estimates
    labels = indicator_labels(built.indicators, lang)
    out = []
    for ind in ids:
        if ind not in indicator_ids:
            continue
        values = [(names[0], kelurahan_value(ind, code, built))]
        if kota_code:
            k = estimate_row(estimates, ind, "kota", kota_code)
            values.append((names[1], None if k is None or fmt.is_missing(k["estimate"]) else {**k.to_dict(), "source": "direct"}))
        c = city_row(estimates, ind)
        values.append((names[2], None if c is None or fmt.is_missing(c["estimate"]) else {**c.to_dict(), "source": "direct"}))
        for group, v in values:
            if v:
                bar = bar_row(labels.get(ind, ind), v, lang, t, group=group, category=labels.get(ind, ind))
                bar["stage"] = labels.get(ind, ind)
                out.append(bar)
    return pd.DataFrame(out)


def funnel_frame(code: str, kota_code: str | None, built: Built, lang: str, t: Translate) -> pd.DataFrame:
    """The JAKI funnel (knows -> installed -> used the BST check) for the kelurahan, its kota and the city."""
    register, indicators = built.register, built.indicators
    if indicators is None:
        return pd.DataFrame()
    _, kota_name = kota_of(register, code)
    names = (dict(zip(register["kode_kemendagri"], register["kelurahan"])).get(code, code), kota_name, t("common.city"))
    return _indicator_group(set(indicators["indicator_id"]), JAKI_FUNNEL, code, kota_code, built, lang, t, names)


def channels_frame(code: str, built: Built, lang: str, t: Translate) -> pd.DataFrame:
    """How households learn about bansos (``info_*`` indicators): the kelurahan against the city."""
    register, indicators = built.register, built.indicators
    if indicators is None:
        return pd.DataFrame()
    ids = [i for i in indicators["indicator_id"] if str(i).startswith("info_")]
    names = (dict(zip(register["kode_kemendagri"], register["kelurahan"])).get(code, code), None, t("common.city"))
    return _indicator_group(set(ids), ids, code, None, built, lang, t, names)
