"""The map page's numbers: one value per kelurahan for a mode (direct, small-area, gap), its tooltip and
the table that is the map's accessible twin. Pure pandas, no Streamlit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import formatting as fmt
from ui.views.common import Translate, overall_rows, significance_words

MAP_MODES = ("direct", "sae", "gap")

if TYPE_CHECKING:
    from ui.data import Built


def map_rows(mode: str, indicator_id: str, built: Built) -> pd.DataFrame:
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
    register, estimates, sae, gaps = built.register, built.estimates, built.sae, built.gaps
    base = register[["kode_kemendagri", "kelurahan", "kecamatan"]].copy()
    base["kota"] = register["kab_kota_short"] if "kab_kota_short" in register else register["kab_kota"]
    rel: dict = {}
    n: dict = {}
    if estimates is not None:
        kel = overall_rows(estimates)
        kel = kel[(kel["indicator_id"] == indicator_id) & (kel["level"] == "kelurahan")]
        rel = dict(zip(kel["area_code"], kel["reliability"]))
        n = dict(zip(kel["area_code"], kel["n"]))
    out = base.copy()
    out["n"] = out["kode_kemendagri"].map(n)
    out["kind"] = pd.NA
    out["p_value"] = pd.NA
    if mode == "direct":
        rows = overall_rows(estimates) if estimates is not None else pd.DataFrame(columns=["indicator_id", "level", "area_code", "estimate", "ci_low", "ci_high"])
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


def places(register: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """``{kode_kemendagri: (kelurahan, "kecamatan, kota")}``: how the map's tooltips name a kelurahan and where
    it is (the first two entries of ``map_frame``'s and the real layers' tooltips). Written into the map's
    static geometry (``vega_charts.map_geometry(..., places)``), so the spec of each run carries only values."""
    if register is None or register.empty:
        return {}
    kota = register["kab_kota_short"] if "kab_kota_short" in register else register["kab_kota"]
    return {str(c): (str(n), f"{k}, {w}") for c, n, k, w in zip(register["kode_kemendagri"], register["kelurahan"], register["kecamatan"], kota)}


def map_frame(mode: str, indicator_id: str, built: Built, lang: str, t: Translate) -> pd.DataFrame:
    """``kode_kemendagri, value, status, tooltip, name`` for ``vega_charts.choropleth``.

    ``tooltip`` is a dict (title -> text, in the page's language): kelurahan, where it is, the value, its 95%
    CI and n (direct), the kind of model (small-area) or the significance (gap), and why there is no value.
    """
    rows = map_rows(mode, indicator_id, built)
    tips = []
    for r in rows.itertuples():
        tip = {t("common.kelurahan"): r.kelurahan, t("common.kecamatan"): f"{r.kecamatan}, {r.kota}"}
        if r.status == "none":
            if mode == "direct":
                reason = t("map.not_sampled") if pd.isna(r.n) else t("map.suppressed_reason", n=fmt.format_int(r.n, lang))
            else:
                reason = t("map.no_value")
            unsampled = mode == "direct" and pd.isna(r.n)
            tip[t("map.col_value")] = t("map.not_sampled") if unsampled else t("common.no_reliable_estimate")
            if not unsampled:
                tip[t("map.col_status")] = reason
            tips.append(tip)
            continue
        if mode == "gap":
            tip[t("map.gap_vs_city")] = fmt.format_points(r.value, lang)
            tip[t("common.ci95")] = fmt.format_ci(r.ci_low, r.ci_high, lang, percent=False)
            tip[t("map.col_status")] = significance_words(r.ci_low, r.ci_high, t)
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


def map_table(mode: str, indicator_id: str, built: Built, lang: str, t: Translate) -> pd.DataFrame:
    """The map's numbers as a table (the accessible alternative to the colours), sorted by value."""
    rows = map_rows(mode, indicator_id, built)
    rows = rows.sort_values("value", ascending=False, na_position="last")
    show = fmt.format_points if mode == "gap" else fmt.format_percent
    status = {"ok": t("map.status_ok"), "flag": t("map.status_flag"), "none": t("common.no_reliable_estimate")}
    # not sampled is not suppressed: say which (185 of 267 kelurahan are simply outside the demo sample)
    why = [t("map.not_sampled") if s == "none" and mode == "direct" and pd.isna(n) else status[s] for s, n in zip(rows["status"], rows["n"])]
    return pd.DataFrame(
        {
            t("common.kelurahan"): rows["kelurahan"],
            t("common.kecamatan"): rows["kecamatan"],
            t("common.kota"): rows["kota"],
            t("map.col_value"): [show(v, lang) if s != "none" else fmt.MISSING for v, s in zip(rows["value"], rows["status"])],
            t("common.ci95"): [fmt.format_ci(lo, hi, lang, percent=mode != "gap") if s != "none" else fmt.MISSING for lo, hi, s in zip(rows["ci_low"], rows["ci_high"], rows["status"])],
            "n": [fmt.format_int(v, lang) for v in rows["n"]],
            t("map.col_status"): why,
        }
    ).reset_index(drop=True)


def common_range(built: Built, indicator_id: str) -> tuple[float, float] | None:
    """Direct and small-area maps of one indicator share one colour range, so switching between them
    compares like with like (the same colour means the same value)."""
    values = []
    if built.estimates is not None:
        est = built.estimates
        rows = est[(est["indicator_id"] == indicator_id) & (est["level"] == "kelurahan")]
        values += rows["estimate"].dropna().astype(float).tolist()
    if built.sae is not None:
        values += built.sae.loc[built.sae["indicator_id"] == indicator_id, "estimate"].dropna().astype(float).tolist()
    if not values:
        return None
    lo, hi = min(values), max(values)
    return (lo, hi) if hi > lo else (lo - 0.01, hi + 0.01)
