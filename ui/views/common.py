"""What every page's view shares: labels from the registry and the register, picking estimate rows, the
kelurahan's shown value (direct, else small-area), bars with their CI marks, and the one significance
convention.

Pure pandas, no Streamlit (unit-tested directly). Every function takes the artefact frames (as documented in
``docs/ARTEFACTS.md``) or the build's bundle (``ui.data.Built``), the language and, where it writes sentences,
a translation callable ``t(key, **fields)`` so that no copy lives here. Numbers are formatted with
``analysis.formatting``.

Statistical display rules (``../shared/GUIDE.md``): a suppressed estimate is never shown (its row has NA
estimate and the page says "no reliable estimate"); an estimate with RSE 25-50% is shown flagged (†);
small-area estimates are always marked as modelled (*); a difference is significant when its 95% CI excludes
zero (equivalently p < 0.05, Wald test on the design-based SE), marked ▲ (above) or ▼ (below).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from analysis import formatting as fmt
from analysis.areas import CITY_CODE, FIELD_SITE_NAMES
from analysis.survey.schema import AGE_GROUPS, EDUCATION_LEVELS

if TYPE_CHECKING:
    from ui.data import Built


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
    """``{kode_kemendagri: "Tengah (Kramatjati, Jakarta Timur) · 13540 · Kampung Tengah"}`` in register order
    (kota, kecamatan, name).

    The label is what the sidebar's search matches (Streamlit's fuzzy in-order filter), so it carries what
    people type: the kelurahan, its kecamatan and kota, its postal code(s) and the field-research name of the
    kampung (``areas.FIELD_SITE_NAMES``)."""
    if register is None or register.empty:
        return {}
    kota = register["kab_kota_short"] if "kab_kota_short" in register else register["kab_kota"]
    frame = register.assign(kota_name=kota).sort_values(["kota_name", "kecamatan", "kelurahan"])
    postal = frame["postal_codes"] if "postal_codes" in frame else pd.Series("", index=frame.index)
    labels = {}
    for r, codes in zip(frame.itertuples(), postal):
        parts = [f"{r.kelurahan} ({r.kecamatan}, {r.kota_name})"]
        if isinstance(codes, str) and codes.strip():
            parts.append(codes.replace(";", ",").strip())
        if r.kode_kemendagri in FIELD_SITE_NAMES:
            parts.append(FIELD_SITE_NAMES[r.kode_kemendagri])
        labels[r.kode_kemendagri] = " · ".join(parts)
    return labels


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


def overall_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """Rows that are not a domain breakdown."""
    return estimates[estimates["domain_var"].isna()] if "domain_var" in estimates else estimates


def estimate_row(estimates: pd.DataFrame | None, indicator_id: str, level: str, area_code: str) -> pd.Series | None:
    if estimates is None:
        return None
    rows = overall_rows(estimates)
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



def domain_breakdown(estimates: pd.DataFrame | None, indicator_id: str, domain_var: str, area_codes: list[str]) -> pd.DataFrame:
    """Estimates of ``indicator_id`` by ``domain_var`` for the given areas, in the natural category order."""
    if estimates is None or "domain_var" not in estimates:
        return pd.DataFrame()
    rows = estimates[(estimates["indicator_id"] == indicator_id) & (estimates["domain_var"] == domain_var) & (estimates["area_code"].isin(area_codes))].copy()
    if rows.empty:
        return rows
    order = {"education": EDUCATION_LEVELS, "age_group": AGE_GROUPS}.get(domain_var)
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



# --- significance: the one convention ------------------------------------------------------------------------
# A difference (kelurahan or kampung minus its kota or the city) is significant at 5% when its 95% CI excludes
# zero. Cells of a table end with ▲ (significantly above) or ▼ (below), explained once by ``common.sig_legend``
# under the table; where a table has a significance column or a tooltip, it says the same in words.


def significance(ci_low, ci_high) -> int:
    """+1 when the 95% CI of a difference lies above zero, -1 when below, 0 when it holds zero (or is missing)."""
    if fmt.is_missing(ci_low) or fmt.is_missing(ci_high):
        return 0
    return 1 if float(ci_low) > 0 else -1 if float(ci_high) < 0 else 0


def significance_mark(ci_low, ci_high) -> str:
    """`` ▲`` / `` ▼`` to append to a difference's cell, or "" when it is not significant."""
    return {1: " ▲", -1: " ▼"}.get(significance(ci_low, ci_high), "")


def significance_words(ci_low, ci_high, t: Translate) -> str:
    """The same in words (with its mark), for a significance column or a tooltip."""
    return {1: t("common.sig_above"), -1: t("common.sig_below")}.get(significance(ci_low, ci_high), t("common.not_significant"))


def has_key(t: Translate, key: str) -> bool:
    try:
        t(key)
        return True
    except KeyError:
        return False


# --- profile and compare charts ----------------------------------------------------------------------------


def kelurahan_value(indicator_id: str, code: str, built: Built) -> dict | None:
    """The kelurahan's shown value: the direct estimate when reliable (ok or flagged), else the small-area
    estimate (``source`` = "sae", modelled), else None."""
    sae = built.sae
    row = estimate_row(built.estimates, indicator_id, "kelurahan", code)
    if row is not None and row.get("reliability") != "suppressed" and not fmt.is_missing(row.get("estimate")):
        return {"estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "source": "direct", "reliability": row["reliability"], "n": row["n"]}
    if sae is not None:
        match = sae[(sae["indicator_id"] == indicator_id) & (sae["kode_kemendagri"] == code)]
        if len(match) and not fmt.is_missing(match.iloc[0]["estimate"]):
            m = match.iloc[0]
            return {"estimate": m["estimate"], "ci_low": m["ci_low"], "ci_high": m["ci_high"], "source": "sae", "reliability": "modelled", "n": None if row is None else row.get("n")}
    return None


def bar_row(label, value: dict, lang, t, group=None, category=None) -> dict:
    mark = {"sae": " *", "direct": " †" if value.get("reliability") == "flag" else ""}.get(value.get("source"), "")
    hover = f"<b>{label}</b><br>{fmt.format_estimate(value['estimate'], value['ci_low'], value['ci_high'], lang)}{mark}"
    if value.get("source") == "sae":
        hover += f"<br>{t('map.modelled')}"
    return {"label": label + mark, "estimate": value["estimate"], "ci_low": value["ci_low"], "ci_high": value["ci_high"], "hover": hover, "group": group if group is not None else label, "category": category if category is not None else label + mark}


def area_comparison(indicator_id: str, codes: list[str], built: Built, lang: str, t: Translate, with_kota: bool = True) -> pd.DataFrame:
    """Bars for kelurahan ``codes`` (+ the first one's kota) + the city, each with its 95% CI."""
    rows = []
    register, estimates = built.register, built.estimates
    names = dict(zip(register["kode_kemendagri"], register["kelurahan"]))
    for code in codes:
        v = kelurahan_value(indicator_id, code, built)
        if v:
            rows.append(bar_row(names.get(code, code), v, lang, t))
    if with_kota and codes:
        kota_code, kota_name = kota_of(register, codes[0])
        k = estimate_row(estimates, indicator_id, "kota", kota_code) if kota_code else None
        if k is not None and not fmt.is_missing(k["estimate"]):
            rows.append(bar_row(kota_name, {**k.to_dict(), "source": "direct"}, lang, t))
    c = city_row(estimates, indicator_id)
    if c is not None and not fmt.is_missing(c["estimate"]):
        rows.append(bar_row(t("common.city"), {**c.to_dict(), "source": "direct"}, lang, t))
    return pd.DataFrame(rows)
