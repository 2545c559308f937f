"""The compare page: several kelurahan against the city, and their gap decomposition. Pure pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import formatting as fmt
from ui.views.common import Translate, has_key, kelurahan_value, significance_words

if TYPE_CHECKING:
    from ui.data import Built


def compare_table(indicator_id: str, codes: list[str], built: Built, lang: str, t: Translate) -> pd.DataFrame:
    """One row per chosen kelurahan: value with CI (direct or modelled), gap to the city with CI and p."""
    register, gaps = built.register, built.gaps
    names = dict(zip(register["kode_kemendagri"], register["kelurahan"]))
    rows = []
    for code in codes:
        v = kelurahan_value(indicator_id, code, built)
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
                t("compare.col_significant"): significance_words(g["ci_low"], g["ci_high"], t) if has_gap else fmt.MISSING,
            }
        )
    return pd.DataFrame(rows)


def decomposition_table(built: Built, indicator_id: str, codes: list[str], lang: str, t: Translate) -> pd.DataFrame | None:
    """The gap decomposition (Fairlie/Yun, ``gap_decomposition``) of the chosen kelurahan for the indicator.

    ``None`` when the table was not built; an empty frame when it holds nothing for this selection. Gaps and
    their parts are in percentage points, the city mean and prediction in percent; headers from the locale.
    """
    decomposition, register = built.decomposition, built.register
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
        header = t(f"compare.decomp.{col}") if has_key(t, f"compare.decomp.{col}") else col
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
