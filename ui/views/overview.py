"""The overview: city figures, the headline metrics, one sentence per reading of the gap, and the BPS
context series (DKI Jakarta against Indonesia). Pure pandas, no Streamlit."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from analysis import formatting as fmt
from analysis.areas import CITY_CODE
from ui.views.common import (
    Translate,
    city_row,
    domain_breakdown,
    domain_value_label,
    higher_is_better,
    indicator_labels,
    overall_rows,
    significance,
)

if TYPE_CHECKING:
    from ui.data import Built


def city_summary(built: Built, lang: str) -> pd.DataFrame:
    """One row per indicator with a city estimate: label, value, CI, n, cv and reliability, display strings."""
    estimates, indicators = built.estimates, built.indicators
    columns = ["indicator_id", "label", "estimate", "ci_low", "ci_high", "n", "cv", "reliability", "value_text", "ci_text"]
    if estimates is None or indicators is None:
        return pd.DataFrame(columns=columns)
    labels = indicator_labels(indicators, lang)
    city = overall_rows(estimates)
    city = city[(city["level"] == "city") & (city["area_code"] == CITY_CODE)]
    order = {i: k for k, i in enumerate(indicators["indicator_id"])}
    city = city[city["indicator_id"].isin(order)].copy()
    city["_order"] = city["indicator_id"].map(order)
    city = city.sort_values("_order")
    city["label"] = city["indicator_id"].map(labels)
    city["value_text"] = [fmt.format_percent(v, lang) for v in city["estimate"]]
    city["ci_text"] = [fmt.format_ci(lo, hi, lang) for lo, hi in zip(city["ci_low"], city["ci_high"])]
    return city[columns].reset_index(drop=True)



# --- overview ----------------------------------------------------------------------------------------------


HEADLINE_INDICATORS = ("hh_internet", "person_internet", "person_smartphone", "jaki_aware", "jaki_installed", "bst_check_used")


def headline(summary: pd.DataFrame, selected: str | None, k: int = 6) -> pd.DataFrame:
    """The city figures shown as metrics: the selected indicator first, then the headline ones that exist."""
    wanted = ([selected] if selected else []) + [i for i in HEADLINE_INDICATORS if i != selected]
    picked = [i for i in wanted if i in set(summary["indicator_id"])]
    if len(picked) < k:
        picked += [i for i in summary["indicator_id"] if i not in picked][: k - len(picked)]
    return summary.set_index("indicator_id").loc[picked[:k]].reset_index()


def _domain_pair(estimates, indicator_id, domain_var, low_value, high_value):
    rows = domain_breakdown(estimates, indicator_id, domain_var, [CITY_CODE])
    if rows.empty:
        return None
    rows = rows.assign(_v=rows["domain_value"].astype(str))
    lo = rows[(rows["_v"] == str(low_value)) & rows["estimate"].notna()]
    hi = rows[(rows["_v"] == str(high_value)) & rows["estimate"].notna()]
    if lo.empty or hi.empty:
        return None
    return lo.iloc[0], hi.iloc[0]


def readings(
    indicator_id: str,
    built: Built,
    lang: str,
    t: Translate,
) -> list[str]:
    """One sentence per reading of the gap for ``indicator_id`` (only the ones the data supports)."""
    indicators, estimates, gaps = built.indicators, built.estimates, built.gaps
    label = indicator_labels(indicators, lang).get(indicator_id, indicator_id)
    out = []
    city = city_row(estimates, indicator_id)
    if city is not None and not fmt.is_missing(city["estimate"]):
        out.append(t("overview.reading_city", label=label, value=fmt.format_percent(city["estimate"], lang), ci=fmt.format_ci(city["ci_low"], city["ci_high"], lang), n=fmt.format_int(city["n"], lang)))
    for domain_var, low, high in (("income_quintile", 1, 5), ("education", "no_diploma", "tertiary"), ("age_group", "60+", "15-24")):
        pair = _domain_pair(estimates, indicator_id, domain_var, low, high)
        if pair:
            lo, hi = pair
            out.append(
                t(
                    f"overview.reading_{domain_var}",
                    label=label,
                    low=fmt.format_percent(lo["estimate"], lang),
                    high=fmt.format_percent(hi["estimate"], lang),
                    low_ci=fmt.format_ci(lo["ci_low"], lo["ci_high"], lang),
                    high_ci=fmt.format_ci(hi["ci_low"], hi["ci_high"], lang),
                    diff=fmt.format_number((float(hi["estimate"]) - float(lo["estimate"])) * 100, lang),
                )
            )
    if gaps is not None:
        g = gaps[(gaps["indicator_id"] == indicator_id) & (gaps["vs"] == "city") & gaps["diff"].notna()]
        if len(g):
            signs = [significance(lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"])]
            below, above = signs.count(-1), signs.count(1)
            key = "overview.reading_kelurahan" if higher_is_better(indicators, indicator_id) else "overview.reading_kelurahan_lower_better"
            out.append(t(key, label=label, below=below, above=above, total=len(g)))
    context = bps_internet_context(built.bps)
    if context:
        out.append(t("overview.reading_bps", dki=fmt.format_percent(context["dki"], lang, 2, scale=1), national=fmt.format_percent(context["national"], lang, 2, scale=1), year=context["year"]))
    return out


# --- BPS context -------------------------------------------------------------------------------------------


def _is_dki(frame: pd.DataFrame) -> pd.Series:
    name = frame["region_name"].astype(str).str.upper()
    return (frame["level"] == "province") & (frame["region_code"].astype(str).isin(["31", "3100"]) | name.str.contains("JAKARTA"))


def _total_breakdown(frame: pd.DataFrame) -> pd.DataFrame:
    if "breakdown" not in frame:
        return frame
    b = frame["breakdown"].astype("string").str.lower()
    keep = b.isna() | b.isin(["total", "", "all", "jumlah"])
    return frame[keep]


def _published_rows(published: pd.DataFrame | None, indicator: str) -> pd.DataFrame:
    """Published figures (typed with their citations) for ``indicator`` in the bps_indicators shape."""
    if published is None or published.empty:
        return pd.DataFrame(columns=["indicator", "region_code", "region_name", "level", "year", "breakdown", "value", "unit"])
    rows = published[published["indicator"] == indicator]
    # only whole-population figures for the province or the country: a kota's poverty rate or the men's rate
    # is not a point of the DKI-vs-Indonesia series
    if "group_dim" in rows:
        rows = rows[rows["group_dim"].astype(str) == "all"]
    rows = rows[rows["region"].astype(str).str.upper().isin(["DKI JAKARTA", "INDONESIA", "NASIONAL"])]
    region = rows["region"].astype(str)
    national = region.str.upper().isin(["INDONESIA", "NASIONAL"])
    return pd.DataFrame(
        {
            "indicator": rows["indicator"],
            "region_code": ["00" if n else ("31" if "JAKARTA" in r.upper() else r) for r, n in zip(region, national)],
            "region_name": region,
            "level": ["national" if n else "province" for n in national],
            "year": rows["year"],
            "breakdown": "total",
            "value": rows["value"],
            "unit": rows["unit"],
        }
    )


def bps_series(bps: pd.DataFrame | None, indicator: str, lang: str, dki_label: str, national_label: str, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """DKI Jakarta against Indonesia over the years for one BPS indicator: ``year, value, region, hover,
    percent`` (``percent``: the value is a percentage, its unit starts with "%").

    Years missing from the BPS tables are filled from the typed published figures (e.g. DKI 2019 from BPS's
    Statistik Telekomunikasi, as cited), BPS tables taking precedence where both exist.
    """
    frames = []
    if bps is not None and not bps.empty:
        frames.append(_total_breakdown(bps[bps["indicator"] == indicator]))
    frames.append(_published_rows(published, indicator))
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else pd.DataFrame()
    if rows.empty:
        return pd.DataFrame(columns=["year", "value", "region", "hover", "percent"])
    dki = rows[_is_dki(rows)].assign(region=dki_label)
    nat = rows[rows["level"] == "national"].assign(region=national_label)
    out = pd.concat([dki, nat], ignore_index=True).dropna(subset=["value", "year"])
    out = out.drop_duplicates(["region", "year"], keep="first").sort_values(["region", "year"], kind="mergesort")
    percent = out["unit"].astype(str).str.startswith("%")
    out["hover"] = [
        f"{r}, {int(y)}: " + (fmt.format_percent(v, lang, 2, scale=1) if p else fmt.format_number(v, lang, 0))
        for r, y, v, p in zip(out["region"], out["year"], out["value"], percent)
    ]
    out["percent"] = percent.to_numpy()
    return out[["year", "value", "region", "hover", "percent"]].reset_index(drop=True)


def bps_indicators_with_series(bps: pd.DataFrame | None) -> list[str]:
    """BPS indicators that have DKI values for at least one year (in table order)."""
    if bps is None or bps.empty:
        return []
    rows = _total_breakdown(bps)
    dki = rows[_is_dki(rows)]
    return list(dict.fromkeys(dki["indicator"]))


def longest_series(bps: pd.DataFrame | None, ids: list[str]) -> int:
    """Index in ``ids`` of the indicator with the most DKI years (the overview opens on the longest series, so
    every year the sources hold is on screen at first sight: ICT skills 2015-2021, not two points)."""
    if bps is None or bps.empty or not ids:
        return 0
    rows = _total_breakdown(bps)
    dki = rows[_is_dki(rows)]
    years = [dki.loc[dki["indicator"] == i, "year"].nunique() for i in ids]
    return int(max(range(len(ids)), key=lambda k: (years[k], -k)))


def bps_internet_context(bps: pd.DataFrame | None) -> dict | None:
    """The latest DKI and national share of households that accessed the internet (BPS), if available."""
    if bps is None or bps.empty:
        return None
    rows = _total_breakdown(bps)
    rows = rows[rows["indicator"] == "households_internet_3m"]
    if rows.empty:
        return None
    dki = rows[_is_dki(rows)].dropna(subset=["value"])
    nat = rows[rows["level"] == "national"].dropna(subset=["value"])
    years = sorted(set(dki["year"]) & set(nat["year"]))
    if not years:
        return None
    y = years[-1]
    return {"year": int(y), "dki": float(dki.loc[dki["year"] == y, "value"].iloc[0]), "national": float(nat.loc[nat["year"] == y, "value"].iloc[0])}


def bps_label(indicator: str, t: Translate) -> str:
    """A BPS indicator's name from the locale (``bps.<indicator>``), or the indicator id itself."""
    try:
        return t(f"bps.{indicator}")
    except KeyError:
        return indicator.replace("_", " ")


def bps_sources(bps: pd.DataFrame, indicator: str) -> str:
    """The source ids of a BPS indicator's rows, for the caption under its chart."""
    return ", ".join(sorted(set(bps.loc[bps["indicator"] == indicator, "source_id"].astype(str))))


def unit_key(unit: str) -> str:
    """The locale key of a published figure's unit: ``units.<key>`` (``% of persons`` -> ``of_persons``)."""
    return re.sub(r"[^a-z0-9]+", "_", unit.lower()).strip("_")


def unit_text(unit: str, t: Translate) -> str:
    """A published figure's unit in the page's language; the unit as typed when the locale does not know it."""
    try:
        return t(f"units.{unit_key(unit)}")
    except KeyError:
        return unit


def published_table(published: pd.DataFrame | None, lang: str, t: Translate) -> pd.DataFrame | None:
    """The typed published figures with their citations, formatted for ``lang``."""
    if published is None or published.empty:
        return None
    label_col = "label_id" if lang == "id" else "label_en"
    value_text = [
        fmt.format_number(v, lang, 2) + (f" {unit_text(u, t)}" if u and u != "%" else "%" if u == "%" else "")
        for v, u in zip(published["value"], published["unit"].fillna(""))
    ]
    return published.assign(value_text=value_text)[[label_col, "region", "year", "value_text", "citation"]].rename(
        columns={label_col: t("common.indicator"), "region": t("common.region"), "year": t("common.year"), "value_text": t("common.value"), "citation": t("common.citation")}
    )


GRADIENT_VARS = ("income_quintile", "education")


def gradient_frame(built: Built, indicator_id: str, domain_var: str, lang: str, t: Translate) -> pd.DataFrame:
    """City estimates of ``indicator_id`` by ``domain_var`` with their 95% CIs, for ``svg_charts.group_estimates``:
    every group in its order, a suppressed one with no numbers (NaN: drawn as a gap, its hover says why)."""
    rows = domain_breakdown(built.estimates, indicator_id, domain_var, [CITY_CODE])
    if rows.empty:
        return pd.DataFrame(columns=["label", "estimate", "ci_low", "ci_high", "hover"])
    shown = ((rows["reliability"] != "suppressed") & rows["estimate"].notna()).to_numpy()
    # a flagged group (RSE 25-50%) is marked † as the metrics are (``overview.metric_help`` says what it means)
    labels = [domain_value_label(domain_var, v, t) + (" †" if r == "flag" else "") for v, r in zip(rows["domain_value"], rows["reliability"])]
    hover = [
        f"{lab}: {fmt.format_percent(e, lang)} ({t('common.ci95')} {fmt.format_ci(lo, hi, lang)}), n = {fmt.format_int(n, lang)}"
        if ok else f"{lab}: {t('common.no_reliable_estimate')}, n = {fmt.format_int(n, lang)}"
        for lab, e, lo, hi, n, ok in zip(labels, rows["estimate"], rows["ci_low"], rows["ci_high"], rows["n"], shown)
    ]

    def kept(col):
        return rows[col].astype(float).where(shown).to_numpy()

    return pd.DataFrame({"label": labels, "estimate": kept("estimate"), "ci_low": kept("ci_low"), "ci_high": kept("ci_high"), "hover": hover})


def concentration_sentence(concentration: pd.DataFrame | None, indicator_id: str, lang: str, t: Translate) -> str | None:
    """The city's Erreygers concentration index of ``indicator_id`` by income, in one sentence (None if absent)."""
    if concentration is None or concentration.empty:
        return None
    rows = concentration[(concentration["indicator_id"] == indicator_id) & (concentration["level"] == "city")]
    if rows.empty:
        return None
    r = rows.iloc[0]
    direction = "richer" if r["ci_low"] > 0 else ("poorer" if r["ci_high"] < 0 else "none")
    return t(f"overview.concentration_{direction}", value=fmt.format_number(r["erreygers"], lang, 2),
             ci=fmt.format_ci(r["ci_low"], r["ci_high"], lang, decimals=2, scale=1.0, percent=False))


QUOTA_COLUMNS = ((0.25, "overview.quota_q1"), (0.5, "overview.quota_median"), (0.75, "overview.quota_q3"))


def quota_spending_table(quantiles: pd.DataFrame | None, lang: str, t: Translate) -> pd.DataFrame | None:
    """The ``quota_spend_quantiles`` table as one row per area, the city first and then each kota by code: the
    lower quartile, median and upper quartile in rupiah, each with its 95% Woodruff interval in brackets (or
    "no reliable estimate" where the BPS rule withholds it), and the unweighted n. None when not built."""
    if quantiles is None or quantiles.empty:
        return None
    frame = quantiles.assign(_city=quantiles["level"] != "city").sort_values(["_city", "area_code", "quantile"], kind="stable")
    rows = []
    for code, area in frame.groupby("area_code", sort=False):
        first = area.iloc[0]
        name = t("common.city") if first["level"] == "city" else (first.get("area_name") or str(code))
        row = {t("overview.quota_area"): name}
        for q, key in QUOTA_COLUMNS:
            match = area[area["quantile"] == q]
            r = match.iloc[0] if len(match) else None
            if r is None or r["reliability"] == "suppressed" or fmt.is_missing(r["estimate"]):
                row[t(key)] = t("common.no_reliable_estimate")
            else:
                ci = fmt.format_ci(r["ci_low"], r["ci_high"], lang, decimals=0, scale=1.0, percent=False)
                row[t(key)] = f"Rp {fmt.format_number(r['estimate'], lang, 0)} ({ci})" + (" †" if r["reliability"] == "flag" else "")
        row[t("overview.quota_n")] = fmt.format_int(first["n"], lang)
        rows.append(row)
    return pd.DataFrame(rows)
