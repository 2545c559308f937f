"""Shaping processed tables into what a page shows: pure pandas, no Streamlit (so it is unit-tested directly).

Every function takes the artefact frames (as documented in ``docs/ARTEFACTS.md``), the language and, where it
writes sentences, a translation callable ``t(key, **fields)`` so that no copy lives here. Numbers are
formatted with ``analysis.formatting``; the same functions feed the page and the tests, and the tests compare
their output with the processed data.

Statistical display rules (``../shared/GUIDE.md``): a suppressed estimate is never shown (its row has NA
estimate and the page says "no reliable estimate"); an estimate with RSE 25-50% is shown flagged; small-area
estimates are always marked as modelled and shown with their RMSE; a difference is called significant when
its 95% CI excludes zero (equivalently p < 0.05, Wald test on the design-based SE).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis import formatting as fmt

CITY_CODE = "31"
DOMAIN_VARS = ("income_quintile", "education", "age_group", "sex")
EDUCATION_ORDER = ["no_diploma", "sd", "smp", "sma", "tertiary"]
AGE_ORDER = ["5-14", "15-24", "25-44", "45-59", "60+"]
JAKI_FUNNEL = ("jaki_aware", "jaki_installed", "bst_check_used")

Translate = Callable[..., str]


# --- registry and register ---------------------------------------------------------------------------------


def indicator_labels(indicators: pd.DataFrame | None, lang: str) -> dict[str, str]:
    if indicators is None or indicators.empty:
        return {}
    col = "label_id" if lang == "id" else "label_en"
    return dict(zip(indicators["indicator_id"], indicators[col].fillna(indicators["indicator_id"])))


def higher_is_better(indicators: pd.DataFrame | None, indicator_id: str) -> bool:
    if indicators is None or "higher_is_better" not in indicators:
        return True
    row = indicators.loc[indicators["indicator_id"] == indicator_id, "higher_is_better"]
    return bool(row.iloc[0]) if len(row) and pd.notna(row.iloc[0]) else True


def kelurahan_labels(register: pd.DataFrame | None) -> dict[str, str]:
    """``{kode_kemendagri: "Gambir (Gambir, Jakarta Pusat)"}`` in register order (kota, kecamatan, name)."""
    if register is None or register.empty:
        return {}
    kota = register["kab_kota_short"] if "kab_kota_short" in register else register["kab_kota"]
    frame = register.assign(kota_name=kota).sort_values(["kota_name", "kecamatan", "kelurahan"])
    return {r.kode_kemendagri: f"{r.kelurahan} ({r.kecamatan}, {r.kota_name})" for r in frame.itertuples()}


def kota_of(register: pd.DataFrame | None, code: str) -> tuple[str | None, str | None]:
    """(kode_kab_kemendagri, kota name) of a kelurahan, from the register (never from the code prefix's BPS
    meaning; the Kemendagri prefix *is* the Kemendagri kota code)."""
    if register is None:
        return None, None
    row = register.loc[register["kode_kemendagri"] == code]
    if row.empty:
        return None, None
    r = row.iloc[0]
    name = r["kab_kota_short"] if "kab_kota_short" in row else r["kab_kota"]
    return r["kode_kab_kemendagri"], name


# --- estimates ---------------------------------------------------------------------------------------------


def _overall(estimates: pd.DataFrame) -> pd.DataFrame:
    """Rows that are not a domain breakdown."""
    return estimates[estimates["domain_var"].isna()] if "domain_var" in estimates else estimates


def estimate_row(estimates: pd.DataFrame | None, indicator_id: str, level: str, area_code: str) -> pd.Series | None:
    if estimates is None:
        return None
    rows = _overall(estimates)
    rows = rows[(rows["indicator_id"] == indicator_id) & (rows["level"] == level) & (rows["area_code"] == area_code)]
    return None if rows.empty else rows.iloc[0]


def city_row(estimates, indicator_id):
    return estimate_row(estimates, indicator_id, "city", CITY_CODE)


def shown_estimate(row: pd.Series | None, lang: str, t: Translate) -> str:
    """``95,4% (93,1–97,2)``, flagged with a dagger, or "no reliable estimate" when suppressed or missing."""
    if row is None or row.get("reliability") == "suppressed" or fmt.is_missing(row.get("estimate")):
        return t("common.no_reliable_estimate")
    text = fmt.format_estimate(row["estimate"], row["ci_low"], row["ci_high"], lang)
    return text + " †" if row.get("reliability") == "flag" else text


def city_summary(estimates: pd.DataFrame | None, indicators: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    """One row per indicator with a city estimate: label, value, CI, n, cv and reliability, display strings."""
    columns = ["indicator_id", "label", "estimate", "ci_low", "ci_high", "n", "cv", "reliability", "value_text", "ci_text"]
    if estimates is None or indicators is None:
        return pd.DataFrame(columns=columns)
    labels = indicator_labels(indicators, lang)
    city = _overall(estimates)
    city = city[(city["level"] == "city") & (city["area_code"] == CITY_CODE)]
    order = {i: k for k, i in enumerate(indicators["indicator_id"])}
    city = city[city["indicator_id"].isin(order)].copy()
    city["_order"] = city["indicator_id"].map(order)
    city = city.sort_values("_order")
    city["label"] = city["indicator_id"].map(labels)
    city["value_text"] = [fmt.format_percent(v, lang) for v in city["estimate"]]
    city["ci_text"] = [fmt.format_ci(lo, hi, lang) for lo, hi in zip(city["ci_low"], city["ci_high"])]
    return city[columns].reset_index(drop=True)


def domain_breakdown(estimates: pd.DataFrame | None, indicator_id: str, domain_var: str, area_codes: list[str]) -> pd.DataFrame:
    """Estimates of ``indicator_id`` by ``domain_var`` for the given areas, in the natural category order."""
    if estimates is None or "domain_var" not in estimates:
        return pd.DataFrame()
    rows = estimates[(estimates["indicator_id"] == indicator_id) & (estimates["domain_var"] == domain_var) & (estimates["area_code"].isin(area_codes))].copy()
    if rows.empty:
        return rows
    order = {"education": EDUCATION_ORDER, "age_group": AGE_ORDER}.get(domain_var)
    if order:
        rows["_o"] = rows["domain_value"].map({v: i for i, v in enumerate(order)}).fillna(99)
    else:
        rows["_o"] = pd.to_numeric(rows["domain_value"], errors="coerce").fillna(0)
    return rows.sort_values(["_o", "area_code"]).drop(columns="_o").reset_index(drop=True)


def domain_value_label(domain_var: str, value, t: Translate) -> str:
    key = f"domain_values.{domain_var}.{value}"
    try:
        return t(key)
    except KeyError:
        return str(value)


# --- map ---------------------------------------------------------------------------------------------------


MAP_MODES = ("direct", "sae", "gap")


def map_rows(
    mode: str,
    indicator_id: str,
    register: pd.DataFrame,
    estimates: pd.DataFrame | None = None,
    sae: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per kelurahan of the register with the number a map of ``mode`` shows.

    Columns: ``kode_kemendagri, kelurahan, kecamatan, kota, value, ci_low, ci_high, n, status, kind, p_value``.

    - ``direct``: the design-based kelurahan estimate; status "ok", "flag" (RSE 25-50%) or "none" (suppressed,
      or the kelurahan was not sampled: ``n`` is NA then).
    - ``sae``: the small-area (Fay-Herriot) estimate, available for every kelurahan, always modelled
      (``kind`` composite or synthetic).
    - ``gap``: the kelurahan's difference from the city (``gaps``, vs = "city"), for a diverging scale pinned
      at zero; flagged when the kelurahan's direct estimate is flagged, "none" where no gap was estimated.
    """
    if mode not in MAP_MODES:
        raise ValueError(f"unknown map mode {mode!r}")
    base = register[["kode_kemendagri", "kelurahan", "kecamatan"]].copy()
    base["kota"] = register["kab_kota_short"] if "kab_kota_short" in register else register["kab_kota"]
    rel: dict = {}
    n: dict = {}
    if estimates is not None:
        kel = _overall(estimates)
        kel = kel[(kel["indicator_id"] == indicator_id) & (kel["level"] == "kelurahan")]
        rel = dict(zip(kel["area_code"], kel["reliability"]))
        n = dict(zip(kel["area_code"], kel["n"]))
    out = base.copy()
    out["n"] = out["kode_kemendagri"].map(n)
    out["kind"] = pd.NA
    out["p_value"] = pd.NA
    if mode == "direct":
        rows = _overall(estimates) if estimates is not None else pd.DataFrame(columns=["indicator_id", "level", "area_code", "estimate", "ci_low", "ci_high"])
        rows = rows[(rows["indicator_id"] == indicator_id) & (rows["level"] == "kelurahan")].set_index("area_code")
        for col, src in (("value", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high")):
            out[col] = out["kode_kemendagri"].map(rows[src])
        out["status"] = [
            "none" if pd.isna(v) or rel.get(c) == "suppressed" else ("flag" if rel.get(c) == "flag" else "ok")
            for c, v in zip(out["kode_kemendagri"], out["value"])
        ]
    elif mode == "sae":
        rows = sae[sae["indicator_id"] == indicator_id].set_index("kode_kemendagri") if sae is not None else None
        for col, src in (("value", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high"), ("kind", "kind")):
            out[col] = out["kode_kemendagri"].map(rows[src]) if rows is not None else pd.NA
        out["status"] = ["none" if pd.isna(v) else "ok" for v in out["value"]]
    else:
        rows = gaps[(gaps["indicator_id"] == indicator_id) & (gaps["vs"] == "city")].set_index("kode_kemendagri") if gaps is not None else None
        for col, src in (("value", "diff"), ("ci_low", "ci_low"), ("ci_high", "ci_high"), ("p_value", "p_value")):
            out[col] = out["kode_kemendagri"].map(rows[src]) if rows is not None else pd.NA
        out["status"] = [
            "none" if pd.isna(v) else ("flag" if rel.get(c) == "flag" else "ok")
            for c, v in zip(out["kode_kemendagri"], out["value"])
        ]
    return out


def map_frame(
    mode: str,
    indicator_id: str,
    register: pd.DataFrame,
    lang: str,
    t: Translate,
    estimates: pd.DataFrame | None = None,
    sae: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``kode_kemendagri, value, status, tooltip, name`` for ``vega_charts.choropleth``.

    ``tooltip`` is a dict (title -> text, in the page's language): kelurahan, where it is, the value, its 95%
    CI and n (direct), the kind of model (small-area) or the significance (gap), and why there is no value.
    """
    rows = map_rows(mode, indicator_id, register, estimates, sae, gaps)
    tips = []
    for r in rows.itertuples():
        tip = {t("common.kelurahan"): r.kelurahan, t("common.kecamatan"): f"{r.kecamatan}, {r.kota}"}
        if r.status == "none":
            if mode == "direct":
                reason = t("map.not_sampled") if pd.isna(r.n) else t("map.suppressed_reason", n=fmt.format_int(r.n, lang))
            else:
                reason = t("map.no_value")
            tip[t("map.col_value")] = t("common.no_reliable_estimate")
            tip[t("map.col_status")] = reason
            tips.append(tip)
            continue
        if mode == "gap":
            tip[t("map.gap_vs_city")] = fmt.format_points(r.value, lang)
            tip[t("common.ci95")] = fmt.format_ci(r.ci_low, r.ci_high, lang, percent=False)
            tip[t("map.col_status")] = t("common.significant") if significant(r.ci_low, r.ci_high) else t("common.not_significant")
        else:
            tip[t("map.col_value")] = fmt.format_percent(r.value, lang)
            tip[t("common.ci95")] = fmt.format_ci(r.ci_low, r.ci_high, lang)
            if mode == "direct":
                tip["n"] = fmt.format_int(r.n, lang)
            else:
                tip[t("map.col_status")] = t(f"map.sae_kind.{r.kind}") if r.kind in ("composite", "synthetic") else str(r.kind)
        if r.status == "flag":
            tip[t("map.tip_note")] = t("map.flag_note")
        tips.append(tip)
    rows["tooltip"] = tips
    rows["name"] = rows["kelurahan"]
    return rows[["kode_kemendagri", "value", "status", "tooltip", "name"]]


def map_table(
    mode: str,
    indicator_id: str,
    register: pd.DataFrame,
    lang: str,
    t: Translate,
    estimates: pd.DataFrame | None = None,
    sae: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The map's numbers as a table (the accessible alternative to the colours), sorted by value."""
    rows = map_rows(mode, indicator_id, register, estimates, sae, gaps)
    rows = rows.sort_values("value", ascending=False, na_position="last")
    show = fmt.format_points if mode == "gap" else fmt.format_percent
    status = {"ok": t("map.status_ok"), "flag": t("map.status_flag"), "none": t("common.no_reliable_estimate")}
    return pd.DataFrame(
        {
            t("common.kelurahan"): rows["kelurahan"],
            t("common.kecamatan"): rows["kecamatan"],
            t("common.kota"): rows["kota"],
            t("map.col_value"): [show(v, lang) if s != "none" else fmt.MISSING for v, s in zip(rows["value"], rows["status"])],
            t("common.ci95"): [fmt.format_ci(lo, hi, lang, percent=mode != "gap") if s != "none" else fmt.MISSING for lo, hi, s in zip(rows["ci_low"], rows["ci_high"], rows["status"])],
            "n": [fmt.format_int(v, lang) for v in rows["n"]],
            t("map.col_status"): rows["status"].map(status),
        }
    ).reset_index(drop=True)


def significant(ci_low, ci_high) -> bool:
    """A difference is significant at 5% when its 95% CI excludes zero."""
    if fmt.is_missing(ci_low) or fmt.is_missing(ci_high):
        return False
    return float(ci_low) > 0 or float(ci_high) < 0


# --- profile -----------------------------------------------------------------------------------------------


def profile_table(
    code: str,
    register: pd.DataFrame,
    indicators: pd.DataFrame,
    lang: str,
    t: Translate,
    estimates: pd.DataFrame | None = None,
    sae: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every indicator for one kelurahan against its kota and the city, with CIs and significance.

    The kelurahan's value is the direct estimate when it is reliable ("ok" or flagged), otherwise the
    small-area estimate marked as modelled. Gaps (kelurahan minus kota / city) come from ``gaps``.
    """
    kota_code, _ = kota_of(register, code)
    labels = indicator_labels(indicators, lang)
    rows = []
    for ind in indicators["indicator_id"]:
        kel = estimate_row(estimates, ind, "kelurahan", code)
        source = "direct"
        kel_text = shown_estimate(kel, lang, t) if kel is not None else t("common.no_reliable_estimate")
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
                mark = " ▲" if significant(g["ci_low"], g["ci_high"]) and g["diff"] > 0 else (" ▼" if significant(g["ci_low"], g["ci_high"]) else "")
                row[t(f"profile.col_gap_{vs}")] = (
                    f"{fmt.format_points(g['diff'], lang).split(' ')[0]} ({fmt.format_ci(g['ci_low'], g['ci_high'], lang, percent=False)}), "
                    f"p = {fmt.format_p_value(g['p_value'], lang)}{mark}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def covariate_comparison(covariates: pd.DataFrame | None, code: str, lang: str, t: Translate) -> pd.DataFrame:
    """The kelurahan's Dukcapil covariates beside the median kelurahan of the city."""
    if covariates is None or code not in set(covariates["kode_kemendagri"]):
        return pd.DataFrame()
    # Only the covariates the locale names (the full table is on the Data page).
    numeric = [c for c in covariates.columns if c != "kode_kemendagri" and pd.api.types.is_numeric_dtype(covariates[c]) and _has_key(t, f"covariates.{c}")]
    row = covariates.loc[covariates["kode_kemendagri"] == code, numeric].iloc[0]
    median = covariates[numeric].median()
    out = []
    for col in numeric:
        is_share = col.startswith("share_")
        show = (lambda v: fmt.format_percent(v, lang)) if is_share else (lambda v: fmt.format_number(v, lang, 0 if abs(float(v)) >= 100 else 2))
        label = t(f"covariates.{col}")
        out.append({t("profile.col_covariate"): label, t("profile.col_kelurahan"): show(row[col]) if not fmt.is_missing(row[col]) else fmt.MISSING, t("profile.col_median"): show(median[col]) if not fmt.is_missing(median[col]) else fmt.MISSING})
    return pd.DataFrame(out)


def _has_key(t: Translate, key: str) -> bool:
    try:
        t(key)
        return True
    except KeyError:
        return False


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
    lang: str,
    t: Translate,
    indicators: pd.DataFrame | None,
    estimates: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
    bps: pd.DataFrame | None = None,
) -> list[str]:
    """One sentence per reading of the gap for ``indicator_id`` (only the ones the data supports)."""
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
            below = int(((g["ci_high"] < 0)).sum())
            above = int(((g["ci_low"] > 0)).sum())
            key = "overview.reading_kelurahan" if higher_is_better(indicators, indicator_id) else "overview.reading_kelurahan_lower_better"
            out.append(t(key, label=label, below=below, above=above, total=len(g)))
    context = bps_internet_context(bps)
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
    """DKI Jakarta against Indonesia over the years for one BPS indicator: ``year, value, region, hover``.

    Years missing from the BPS tables are filled from the typed published figures (e.g. DKI 2019 from BPS's
    Statistik Telekomunikasi, as cited), BPS tables taking precedence where both exist.
    """
    frames = []
    if bps is not None and not bps.empty:
        frames.append(_total_breakdown(bps[bps["indicator"] == indicator]))
    frames.append(_published_rows(published, indicator))
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else pd.DataFrame()
    if rows.empty:
        return pd.DataFrame(columns=["year", "value", "region", "hover"])
    dki = rows[_is_dki(rows)].assign(region=dki_label)
    nat = rows[rows["level"] == "national"].assign(region=national_label)
    out = pd.concat([dki, nat], ignore_index=True).dropna(subset=["value", "year"])
    out = out.drop_duplicates(["region", "year"], keep="first").sort_values(["region", "year"], kind="mergesort")
    percent = out["unit"].astype(str).str.startswith("%")
    out["hover"] = [
        f"{r}, {int(y)}: " + (fmt.format_percent(v, lang, 2, scale=1) if p else fmt.format_number(v, lang, 0))
        for r, y, v, p in zip(out["region"], out["year"], out["value"], percent)
    ]
    return out[["year", "value", "region", "hover"]].reset_index(drop=True)


def bps_indicators_with_series(bps: pd.DataFrame | None) -> list[str]:
    """BPS indicators that have DKI values for at least one year (in table order)."""
    if bps is None or bps.empty:
        return []
    rows = _total_breakdown(bps)
    dki = rows[_is_dki(rows)]
    return list(dict.fromkeys(dki["indicator"]))


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


# --- profile and compare charts ----------------------------------------------------------------------------


def kelurahan_value(indicator_id: str, code: str, estimates=None, sae=None) -> dict | None:
    """The kelurahan's shown value: the direct estimate when reliable (ok or flagged), else the small-area
    estimate (``source`` = "sae", modelled), else None."""
    row = estimate_row(estimates, indicator_id, "kelurahan", code)
    if row is not None and row.get("reliability") != "suppressed" and not fmt.is_missing(row.get("estimate")):
        return {"estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "source": "direct", "reliability": row["reliability"], "n": row["n"]}
    if sae is not None:
        match = sae[(sae["indicator_id"] == indicator_id) & (sae["kode_kemendagri"] == code)]
        if len(match) and not fmt.is_missing(match.iloc[0]["estimate"]):
            m = match.iloc[0]
            return {"estimate": m["estimate"], "ci_low": m["ci_low"], "ci_high": m["ci_high"], "source": "sae", "reliability": "modelled", "n": None if row is None else row.get("n")}
    return None


def _bar(label, value: dict, lang, t, group=None, category=None) -> dict:
    mark = {"sae": " *", "direct": " †" if value.get("reliability") == "flag" else ""}.get(value.get("source"), "")
    hover = f"<b>{label}</b><br>{fmt.format_estimate(value['estimate'], value['ci_low'], value['ci_high'], lang)}{mark}"
    if value.get("source") == "sae":
        hover += f"<br>{t('map.modelled')}"
    return {"label": label + mark, "estimate": value["estimate"], "ci_low": value["ci_low"], "ci_high": value["ci_high"], "hover": hover, "group": group if group is not None else label, "category": category if category is not None else label + mark}


def area_comparison(indicator_id: str, codes: list[str], register, lang, t, estimates=None, sae=None, with_kota: bool = True) -> pd.DataFrame:
    """Bars for kelurahan ``codes`` (+ the first one's kota) + the city, each with its 95% CI."""
    rows = []
    names = dict(zip(register["kode_kemendagri"], register["kelurahan"]))
    for code in codes:
        v = kelurahan_value(indicator_id, code, estimates, sae)
        if v:
            rows.append(_bar(names.get(code, code), v, lang, t))
    if with_kota and codes:
        kota_code, kota_name = kota_of(register, codes[0])
        k = estimate_row(estimates, indicator_id, "kota", kota_code) if kota_code else None
        if k is not None and not fmt.is_missing(k["estimate"]):
            rows.append(_bar(kota_name, {**k.to_dict(), "source": "direct"}, lang, t))
    c = city_row(estimates, indicator_id)
    if c is not None and not fmt.is_missing(c["estimate"]):
        rows.append(_bar(t("common.city"), {**c.to_dict(), "source": "direct"}, lang, t))
    return pd.DataFrame(rows)


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
        bar = _bar(category, value, lang, t, group=area_names.get(r.area_code, r.area_code), category=category)
        bar["hover"] = f"<b>{area_names.get(r.area_code, r.area_code)}</b>, {bar['hover'][3:]}<br>n = {fmt.format_int(r.n, lang)}"
        out.append(bar)
    return pd.DataFrame(out)


def _indicator_group(indicator_ids, ids, code, kota_code, register, indicators, lang, t, estimates, sae, names) -> pd.DataFrame:
    labels = indicator_labels(indicators, lang)
    out = []
    for ind in ids:
        if ind not in indicator_ids:
            continue
        values = [(names[0], kelurahan_value(ind, code, estimates, sae))]
        if kota_code:
            k = estimate_row(estimates, ind, "kota", kota_code)
            values.append((names[1], None if k is None or fmt.is_missing(k["estimate"]) else {**k.to_dict(), "source": "direct"}))
        c = city_row(estimates, ind)
        values.append((names[2], None if c is None or fmt.is_missing(c["estimate"]) else {**c.to_dict(), "source": "direct"}))
        for group, v in values:
            if v:
                bar = _bar(labels.get(ind, ind), v, lang, t, group=group, category=labels.get(ind, ind))
                bar["stage"] = labels.get(ind, ind)
                out.append(bar)
    return pd.DataFrame(out)


def funnel_frame(code, kota_code, register, indicators, lang, t, estimates=None, sae=None) -> pd.DataFrame:
    """The JAKI funnel (knows -> installed -> used the BST check) for the kelurahan, its kota and the city."""
    if indicators is None:
        return pd.DataFrame()
    _, kota_name = kota_of(register, code)
    names = (dict(zip(register["kode_kemendagri"], register["kelurahan"])).get(code, code), kota_name, t("common.city"))
    return _indicator_group(set(indicators["indicator_id"]), JAKI_FUNNEL, code, kota_code, register, indicators, lang, t, estimates, sae, names)


def channels_frame(code, register, indicators, lang, t, estimates=None, sae=None) -> pd.DataFrame:
    """How households learn about bansos (``info_*`` indicators): the kelurahan against the city."""
    if indicators is None:
        return pd.DataFrame()
    ids = [i for i in indicators["indicator_id"] if str(i).startswith("info_")]
    names = (dict(zip(register["kode_kemendagri"], register["kelurahan"])).get(code, code), None, t("common.city"))
    return _indicator_group(set(ids), ids, code, None, register, indicators, lang, t, estimates, sae, names)


# --- compare -----------------------------------------------------------------------------------------------


def compare_table(indicator_id, codes, register, lang, t, estimates=None, sae=None, gaps=None) -> pd.DataFrame:
    """One row per chosen kelurahan: value with CI (direct or modelled), gap to the city with CI and p."""
    names = dict(zip(register["kode_kemendagri"], register["kelurahan"]))
    rows = []
    for code in codes:
        v = kelurahan_value(indicator_id, code, estimates, sae)
        g = None
        if gaps is not None:
            match = gaps[(gaps["indicator_id"] == indicator_id) & (gaps["kode_kemendagri"] == code) & (gaps["vs"] == "city")]
            g = None if match.empty else match.iloc[0]
        has_gap = g is not None and not fmt.is_missing(g["diff"])
        rows.append(
            {
                t("common.kelurahan"): names.get(code, code),
                t("common.estimate"): t("common.no_reliable_estimate") if v is None else fmt.format_estimate(v["estimate"], v["ci_low"], v["ci_high"], lang) + (" *" if v["source"] == "sae" else " †" if v["reliability"] == "flag" else ""),
                t("compare.col_gap"): fmt.format_points(g["diff"], lang) if has_gap else fmt.MISSING,
                t("common.ci95"): fmt.format_ci(g["ci_low"], g["ci_high"], lang, percent=False) if has_gap else fmt.MISSING,
                "p": fmt.format_p_value(g["p_value"], lang) if has_gap else fmt.MISSING,
                t("compare.col_significant"): (t("common.significant") if significant(g["ci_low"], g["ci_high"]) else t("common.not_significant")) if has_gap else fmt.MISSING,
            }
        )
    return pd.DataFrame(rows)


def decomposition_table(decomposition: pd.DataFrame | None, indicator_id: str, codes: list[str], lang: str, t, register: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The gap decomposition (Fairlie/Yun, ``gap_decomposition``) of the chosen kelurahan for the indicator.

    ``None`` when the table was not built; an empty frame when it holds nothing for this selection. Gaps and
    their parts are in percentage points, the city mean and prediction in percent; headers from the locale.
    """
    if decomposition is None:
        return None
    rows = decomposition
    if "indicator_id" in rows:
        rows = rows[rows["indicator_id"] == indicator_id]
    if "kode_kemendagri" in rows:
        rows = rows[rows["kode_kemendagri"].isin(codes)]
    names = dict(zip(register["kode_kemendagri"], register["kelurahan"])) if register is not None else {}
    out = pd.DataFrame(index=rows.index)
    for col in rows.columns:
        if col == "indicator_id":
            continue
        header = t(f"compare.decomp.{col}") if _has_key(t, f"compare.decomp.{col}") else col
        values = rows[col]
        if col == "kode_kemendagri":
            out[header] = [names.get(c, c) for c in values]
        elif col == "n":
            out[header] = [fmt.format_int(v, lang) for v in values]
        elif col.startswith("city_"):
            out[header] = [fmt.format_percent(v, lang) for v in values]
        elif pd.api.types.is_float_dtype(values):
            out[header] = [fmt.format_points(v, lang).split(" ")[0] for v in values]
        else:
            out[header] = values
    return out.reset_index(drop=True)


# --- model -------------------------------------------------------------------------------------------------

_OUTCOME_COLS = ("outcome", "indicator_id", "model")


def _outcome_col(frame: pd.DataFrame | None) -> str | None:
    if frame is None:
        return None
    return next((c for c in _OUTCOME_COLS if c in frame), None)


def model_outcomes(*frames) -> list[str]:
    """The model outcomes found in the model tables (in order of first appearance)."""
    seen: dict[str, None] = {}
    for frame in frames:
        col = _outcome_col(frame)
        if col:
            for v in frame[col].dropna():
                seen.setdefault(str(v))
    return list(seen)


def _first(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in frame), None)


def term_label(variable, level, t: Translate) -> str:
    """A model term in words: ``education`` + ``sma`` -> "Education: Senior secondary (SMA)"."""
    var_label = t(f"domain_vars.{variable}") if _has_key(t, f"domain_vars.{variable}") else str(variable)
    if level is None or (isinstance(level, float) and np.isnan(level)) or str(level) in ("", "per unit", "<NA>"):
        return var_label
    return f"{var_label}: {domain_value_label(str(variable), level, t)}"


def _reference_note(rows: pd.DataFrame, t: Translate) -> dict[str, str]:
    if "reference" not in rows or "variable" not in rows:
        return {}
    out = {}
    for var, ref in zip(rows["variable"], rows["reference"]):
        if pd.notna(ref) and str(ref):
            out[str(var)] = domain_value_label(str(var), ref, t)
    return out


def model_forest(frame: pd.DataFrame | None, outcome: str | None, kind: str, lang: str, t: Translate) -> pd.DataFrame:
    """Rows for ``figures.forest_plot``: odds ratios (``kind`` "or", from ``model_odds_ratios``) or average
    marginal effects ("ame", from ``model_marginal_effects``), labelled "variable: level (vs reference)"."""
    if frame is None or frame.empty:
        return pd.DataFrame()
    col = _outcome_col(frame)
    rows = frame[frame[col].astype(str) == outcome] if col and outcome is not None else frame
    est = "odds_ratio" if kind == "or" else "ame"
    if est not in rows or "variable" not in rows:
        return pd.DataFrame()
    rows = rows[~rows["variable"].astype(str).str.lower().isin(["intercept", "const", "(intercept)"])]
    rows = rows[rows[est].notna()]
    refs = _reference_note(rows, t)
    levels = rows["level"] if "level" in rows else pd.Series([None] * len(rows), index=rows.index)
    labels = [term_label(v, lvl, t) for v, lvl in zip(rows["variable"], levels)]
    out = pd.DataFrame({"label": labels, "estimate": rows[est].astype(float).to_numpy(), "ci_low": rows["ci_low"].astype(float).to_numpy(), "ci_high": rows["ci_high"].astype(float).to_numpy()})
    vs = [f" ({t('model.vs')} {refs[str(v)]})" if str(v) in refs else "" for v in rows["variable"]]
    if kind == "or":
        out["hover"] = [f"<b>{lab}</b>{r}<br>OR {fmt.format_number(e, lang, 2)} ({t('common.ci95')} {fmt.format_number(a, lang, 2)}–{fmt.format_number(b, lang, 2)})" for lab, r, e, a, b in zip(out["label"], vs, out["estimate"], out["ci_low"], out["ci_high"])]
    else:
        out["hover"] = [f"<b>{lab}</b>{r}<br>{fmt.format_points(e, lang)} ({t('common.ci95')} {fmt.format_ci(a, b, lang, percent=False)})" for lab, r, e, a, b in zip(out["label"], vs, out["estimate"], out["ci_low"], out["ci_high"])]
    if "p_value" in rows:
        out["hover"] = [h + f"<br>p = {fmt.format_p_value(v, lang)}" for h, v in zip(out["hover"], rows["p_value"])]
    return out.reset_index(drop=True)


def model_heatmap(grid: pd.DataFrame | None, outcome: str | None, lang: str, t: Translate, specification: str = "main_effects") -> dict | None:
    """Predicted access by income quintile (columns) x education (rows) with CIs, for ``figures.heatmap``.

    Cells without sample (``n_cell`` 0) are the model's extrapolation and say so in the hover text."""
    if grid is None or grid.empty or "income_quintile" not in grid or "education" not in grid or "predicted" not in grid:
        return None
    col = _outcome_col(grid)
    rows = grid[grid[col].astype(str) == outcome] if col and outcome is not None else grid
    if "specification" in rows:
        rows = rows[rows["specification"] == specification]
    if rows.empty:
        return None
    quintiles = sorted(rows["income_quintile"].dropna().unique(), key=lambda v: float(v))
    levels = [e for e in EDUCATION_ORDER if e in set(rows["education"])] + sorted(set(rows["education"]) - set(EDUCATION_ORDER))
    z, text, hover = [], [], []
    for edu in levels:
        zr, tr_, hr = [], [], []
        for q in quintiles:
            cell = rows[(rows["education"] == edu) & (rows["income_quintile"] == q)]
            if cell.empty:
                zr.append(None), tr_.append(""), hr.append("")
                continue
            c = cell.iloc[0]
            zr.append(float(c["predicted"]))
            tr_.append(fmt.format_percent(c["predicted"], lang, 0))
            h = f"{domain_value_label('income_quintile', q, t)}, {domain_value_label('education', edu, t)}<br>{fmt.format_percent(c['predicted'], lang)} ({t('common.ci95')} {fmt.format_ci(c['ci_low'], c['ci_high'], lang)})"
            if "n_cell" in c:
                h += f"<br>n = {fmt.format_int(c['n_cell'], lang)}" + (f" ({t('model.extrapolated')})" if c["n_cell"] == 0 else "")
            hr.append(h)
        z.append(zr), text.append(tr_), hover.append(hr)
    return {
        "z": z,
        "x": [domain_value_label("income_quintile", q, t) for q in quintiles],
        "y": [domain_value_label("education", e, t) for e in levels],
        "text": text,
        "hover": hover,
    }


def model_fit_table(fit: pd.DataFrame, outcome: str | None, lang: str) -> pd.DataFrame:
    col = _outcome_col(fit)
    rows = fit[fit[col].astype(str) == outcome] if col and outcome is not None else fit
    out = rows.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = [fmt.format_number(v, lang, 3) for v in out[c]]
    return out.reset_index(drop=True)


# --- methodology -------------------------------------------------------------------------------------------


def indicator_definitions(indicators: pd.DataFrame, lang: str, t: Translate) -> pd.DataFrame:
    label = "label_id" if lang == "id" else "label_en"
    cols = {label: t("common.indicator"), "denominator": t("method.col_universe")}
    if "description" in indicators:
        cols["description"] = t("method.col_definition")
    return indicators[["indicator_id", *cols]].rename(columns=cols)


def design_summary(households: pd.DataFrame | None, persons: pd.DataFrame | None, lang: str) -> dict | None:
    """Counts that describe the survey design: households, persons, strata, PSUs, kelurahan covered."""
    if households is None or households.empty:
        return None
    return {
        "households": fmt.format_int(len(households), lang),
        "persons": fmt.format_int(0 if persons is None else len(persons), lang),
        "strata": fmt.format_int(households["stratum"].nunique(), lang),
        "psus": fmt.format_int(households["psu"].nunique(), lang),
        "kelurahan": fmt.format_int(households["kode_kemendagri"].nunique(), lang),
    }


def sources_table(manifest: dict, report: dict | None, t: Translate) -> pd.DataFrame:
    """Every public source: title, publisher, licence, citation and whether this build had it."""
    missing = set((report or {}).get("missing_sources") or [])
    rows = []
    for sid, s in manifest.items():
        rows.append(
            {
                t("data.col_source"): s.title,
                t("data.col_publisher"): s.publisher,
                t("data.col_licence"): s.licence,
                t("data.col_citation"): s.citation,
                t("data.col_status"): t("data.source_missing") if sid in missing else t("data.source_used"),
            }
        )
    return pd.DataFrame(rows)


# --- data catalogue ----------------------------------------------------------------------------------------


def data_catalogue(package: dict, processed, lang: str, t: Translate) -> list[dict]:
    """One entry per table in ``datapackage.json`` (its CSV, Parquet and GeoJSON resources together) and one
    per extra file (e.g. the synthetic demo export): heading, description, provenance (sources with licence
    and citation) and ``files``: ``(label, path, mime, escape_csv)`` for each file that exists."""
    from pathlib import Path

    processed = Path(processed)
    sources = {s["id"]: s for s in package.get("sources", [])}
    mimes = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "geojson": "application/geo+json", "json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    entries: dict[str, dict] = {}
    for res in package.get("resources", []):
        path = res.get("path", "")
        if not path:
            continue
        nested = "/" in path
        name = path if nested else Path(path).stem
        fmt_ = res.get("format") or Path(path).suffix.lstrip(".")
        if name not in entries:
            heading = f"{res.get('title', name)} (`{name}`)"
            if res.get("synthetic"):
                heading = f"{heading} · {t('data.synthetic_tag')}"
            lines = []
            for src in res.get("sources", []):
                info = sources.get(src.get("id"), {})
                lines.append(t("data.provenance_line", title=info.get("title") or src.get("title", ""), licence=info.get("licence") or "–", citation=info.get("citation") or "–"))
            if res.get("synthetic"):
                lines.append(t("data.synthetic_line"))
            description = res.get("description", "")
            if res.get("rows") is not None:
                description += " " + t("data.rows", n=fmt.format_int(res["rows"], lang))
            entries[name] = {
                "name": name.replace("/", "_").replace(".", "_"),
                "heading": heading,
                "description": description,
                "provenance": "\n".join(f"- {line}" for line in lines) if lines else t("data.no_sources"),
                "files": [],
            }
        file_path = processed / path
        if file_path.is_file():
            label = Path(path).name if nested else fmt_.upper().replace("GEOJSON", "GeoJSON").replace("PARQUET", "Parquet")
            # Only the project's own tables are re-written with formula escaping; other files go out as built.
            entries[name]["files"].append((label, str(file_path), mimes.get(fmt_, "application/octet-stream"), fmt_ == "csv" and not nested))
    return list(entries.values())


def model_label(model_id: str, t: Translate) -> str:
    return t(f"model.outcomes.{model_id}") if _has_key(t, f"model.outcomes.{model_id}") else str(model_id)
