"""Real-data layers (register indicators, the indirect estimate) and the kota context: pure pandas, no Streamlit.

Everything here is real data (Dukcapil 2019, Satu Data Jakarta 2024, BPS Podes 2024, published figures) or a
model of real data (the indirect estimate, "modelled from published rates"); it is never mixed with the
synthetic survey's numbers in one table or chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis import formatting as fmt
from ui.views.common import Translate

if TYPE_CHECKING:
    from ui.data import Built

# layer id -> (table, column, kind of number); the order is the menu's
REAL_LAYERS = {
    "indirect_internet": ("indirect", "indirect_internet", "share"),
    "share_low_education_15plus": ("register_indicators", "share_low_education_15plus", "share"),
    "share_60plus": ("register_indicators", "share_60plus", "share"),
    "share_low_connectivity_occupation": ("register_indicators", "share_low_connectivity_occupation", "share"),
    "density_2024": ("register_indicators", "density_2024", "number"),
    "mean_household_size": ("register_indicators", "mean_household_size", "decimal"),
    "population_change_2019_2024": ("register_indicators", "population_change_2019_2024", "change"),
}
VEGA_FORMAT = {"share": ".0%", "number": ",.0f", "decimal": ".1f", "change": "+.0%"}


def available_layers(built: Built) -> list[str]:
    return [k for k, (table, col, _) in REAL_LAYERS.items()
            if getattr(built, table, None) is not None and col in getattr(built, table).columns]


def format_value(value, kind: str, lang: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return fmt.MISSING
    if kind == "share":
        return fmt.format_percent(value, lang)
    if kind == "change":
        return ("+" if value > 0 else "") + fmt.format_percent(value, lang)
    if kind == "decimal":
        return fmt.format_number(value, lang, 2)
    return fmt.format_number(value, lang, 0)


def layer_rows(layer: str, built: Built) -> pd.DataFrame:
    """``kode_kemendagri, kelurahan, kecamatan, kota, value`` (+ ``range_low, range_high`` for the indirect estimate)."""
    table, col, _ = REAL_LAYERS[layer]
    register = built.register
    out = register[["kode_kemendagri", "kelurahan", "kecamatan"]].copy()
    out["kota"] = register["kab_kota_short"] if "kab_kota_short" in register else register["kab_kota"]
    src = getattr(built, table).set_index("kode_kemendagri")
    out["value"] = out["kode_kemendagri"].map(src[col]).astype("float64")
    if layer == "indirect_internet":
        out["range_low"] = out["kode_kemendagri"].map(src["range_low"]).astype("float64")
        out["range_high"] = out["kode_kemendagri"].map(src["range_high"]).astype("float64")
    return out


def layer_frame(layer: str, built: Built, lang: str, t: Translate) -> pd.DataFrame:
    """``kode_kemendagri, value, status, tooltip, name`` for ``vega_charts.choropleth``."""
    rows = layer_rows(layer, built)
    kind = REAL_LAYERS[layer][2]
    tips = []
    for r in rows.itertuples():
        tip = {t("common.kelurahan"): r.kelurahan, t("common.kecamatan"): f"{r.kecamatan}, {r.kota}",
               t(f"real.layer.{layer}"): format_value(r.value, kind, lang)}
        if layer == "indirect_internet":
            tip[t("real.range")] = fmt.format_ci(r.range_low, r.range_high, lang)
        tip[t("real.source")] = t(f"real.source_{'indirect' if layer == 'indirect_internet' else 'register'}")
        tips.append(tip)
    rows["status"] = ["none" if pd.isna(v) else "ok" for v in rows["value"]]
    rows["tooltip"] = tips
    rows["name"] = rows["kelurahan"]
    return rows[["kode_kemendagri", "value", "status", "tooltip", "name"]]


def layer_table(layer: str, built: Built, lang: str, t: Translate) -> pd.DataFrame:
    rows = layer_rows(layer, built).sort_values("value", ascending=False, na_position="last")
    kind = REAL_LAYERS[layer][2]
    out = pd.DataFrame({
        t("common.kelurahan"): rows["kelurahan"],
        t("common.kecamatan"): rows["kecamatan"],
        t("common.kota"): rows["kota"],
        t(f"real.layer.{layer}"): [format_value(v, kind, lang) for v in rows["value"]],
    })
    if layer == "indirect_internet":
        out[t("real.range")] = [fmt.format_ci(lo, hi, lang) for lo, hi in zip(rows["range_low"], rows["range_high"])]
    return out.reset_index(drop=True)


def _aggregate(df: pd.DataFrame, cov: pd.DataFrame | None) -> dict[str, float]:
    """Exact aggregates of the register indicators over a set of kelurahan (the right denominators)."""
    out = {}
    p19, p24 = df["population_2019"].astype("float64"), df["population_2024"].astype("float64")
    out["share_60plus"] = float(np.nansum(df["share_60plus"] * p19) / np.nansum(p19.where(df["share_60plus"].notna())))
    out["population_change_2019_2024"] = float(np.nansum(p24) / np.nansum(p19.where(p24.notna())) - 1)
    area = p24 / df["density_2024"]
    out["density_2024"] = float(np.nansum(p24) / np.nansum(area))
    if cov is not None:
        c = df[["kode_kemendagri"]].merge(cov[["kode_kemendagri", "adults_15plus", "households"]], how="left")
        adults, hh = c["adults_15plus"].astype("float64").to_numpy(), c["households"].astype("float64").to_numpy()
        for col in ("share_low_education_15plus", "share_low_connectivity_occupation"):
            out[col] = float(np.nansum(df[col].to_numpy() * adults) / np.nansum(adults))
        out["mean_household_size"] = float(np.nansum(p19) / np.nansum(hh))
    return out


def profile_rows(code: str, built: Built, lang: str, t: Translate) -> pd.DataFrame | None:
    """The kelurahan's register indicators (and the indirect estimate) against its kota and the city."""
    reg = built.register_indicators
    if reg is None or code not in set(reg["kode_kemendagri"]):
        return None
    row = reg[reg["kode_kemendagri"] == code].iloc[0]
    kota = reg[reg["kode_kab_kemendagri"] == row["kode_kab_kemendagri"]]
    agg_kota, agg_city = _aggregate(kota, built.covariates), _aggregate(reg, built.covariates)
    lines = []
    for layer, (table, col, kind) in REAL_LAYERS.items():
        if table != "register_indicators":
            continue
        lines.append({
            t("profile.col_indicator"): t(f"real.layer.{layer}"),
            t("profile.col_kelurahan"): format_value(row[col], kind, lang),
            t("profile.col_kota"): format_value(agg_kota.get(col, np.nan), kind, lang),
            t("profile.col_city"): format_value(agg_city.get(col, np.nan), kind, lang),
        })
    ind = built.indirect
    if ind is not None and code in set(ind["kode_kemendagri"]):
        i = ind.set_index("kode_kemendagri")
        w = i["persons_5plus"].astype("float64")
        in_kota = i.index.isin(kota["kode_kemendagri"])
        lines.append({
            t("profile.col_indicator"): t("real.layer.indirect_internet") + " *",
            t("profile.col_kelurahan"): format_value(i.at[code, "indirect_internet"], "share", lang)
            + " " + fmt.format_ci(i.at[code, "range_low"], i.at[code, "range_high"], lang),
            t("profile.col_kota"): format_value(np.average(i.loc[in_kota, "indirect_internet"], weights=w[in_kota]), "share", lang),
            t("profile.col_city"): format_value(np.average(i["indirect_internet"], weights=w), "share", lang),
        })
    return pd.DataFrame(lines)


def kota_table(built: Built, lang: str, t: Translate) -> pd.DataFrame | None:
    """The kota context (Podes 2024, poverty, JakWifi) formatted for ``lang``."""
    k = built.kota_context
    if k is None or k.empty:
        return None

    def share(n, d):
        return fmt.MISSING if pd.isna(n) or pd.isna(d) else f"{fmt.format_int(n, lang)} / {fmt.format_int(d, lang)}"

    return pd.DataFrame({
        t("common.kota"): k["kab_kota"],
        t("real.kota.population_2024"): [fmt.format_int(v, lang) if pd.notna(v) else fmt.MISSING for v in k["population_2024"]],
        t("real.kota.bts"): [share(n, d) for n, d in zip(k["podes2024_with_bts"], k["podes2024_kelurahan"])],
        t("real.kota.g4"): [share(n, d) for n, d in zip(k["podes2024_with_4g_5g"], k["podes2024_kelurahan"])],
        t("real.kota.signal"): [share(n, d) for n, d in zip(k["podes2024_strong_signal"], k["podes2024_kelurahan"])],
        t("real.kota.poverty_2023"): [fmt.format_percent(v, lang, 2, scale=1) if pd.notna(v) else fmt.MISSING for v in k["poverty_rate_2023"]],
        t("real.kota.poverty_2024"): [fmt.format_percent(v, lang, 2, scale=1) if pd.notna(v) else fmt.MISSING for v in k["poverty_rate_2024"]],
        t("real.kota.jakwifi"): [fmt.format_int(v, lang) if pd.notna(v) else fmt.MISSING for v in k["jakwifi_locations_2022"]],
    })
