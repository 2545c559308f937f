"""The model page: odds ratios and marginal effects as forest-plot rows, the predicted-access grid, the fit
table, labels of terms and outcomes. Pure pandas, no Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import formatting as fmt
from analysis.survey.schema import EDUCATION_LEVELS
from ui.views.common import Translate, domain_value_label, has_key

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


def term_label(variable, level, t: Translate) -> str:
    """A model term in words: ``education`` + ``sma`` -> "Education: Senior secondary (SMA)"."""
    var_label = t(f"domain_vars.{variable}") if has_key(t, f"domain_vars.{variable}") else str(variable)
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
    vs = [f" {t('model.vs')} {refs[str(v)]}" if str(v) in refs else "" for v in rows["variable"]]
    # the reference group is part of the label: a coefficient means nothing without what it is compared with
    labels = [term_label(v, lvl, t) + r for v, lvl, r in zip(rows["variable"], levels, vs)]
    out = pd.DataFrame({"label": labels, "estimate": rows[est].astype(float).to_numpy(), "ci_low": rows["ci_low"].astype(float).to_numpy(), "ci_high": rows["ci_high"].astype(float).to_numpy()})
    if kind == "or":
        out["hover"] = [f"<b>{lab}</b><br>OR {fmt.format_number(e, lang, 2)} ({t('common.ci95')} {fmt.format_number(a, lang, 2)}–{fmt.format_number(b, lang, 2)})" for lab, e, a, b in zip(out["label"], out["estimate"], out["ci_low"], out["ci_high"])]
    else:
        out["hover"] = [f"<b>{lab}</b><br>{fmt.format_points(e, lang)} ({t('common.ci95')} {fmt.format_ci(a, b, lang, percent=False)})" for lab, e, a, b in zip(out["label"], out["estimate"], out["ci_low"], out["ci_high"])]
        # the axis reads in percentage points, so the plotted values are too (the table keeps proportions)
        out[["estimate", "ci_low", "ci_high"]] = out[["estimate", "ci_low", "ci_high"]] * 100.0
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
    levels = [e for e in EDUCATION_LEVELS if e in set(rows["education"])] + sorted(set(rows["education"]) - set(EDUCATION_LEVELS))
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


FIT_MEASURES = (
    # (column of model_fit, how it is shown): counts as integers, p-values as p, the rest with 3 decimals
    ("n", "int"), ("weighted_n", "int"), ("n_psu", "int"), ("design_df", "int"), ("n_coefficients", "int"),
    ("weighted_mean_outcome", "percent"), ("pseudo_r2_mcfadden", "number"), ("auc", "number"),
    ("interaction_f", "number"), ("interaction_df_num", "int"), ("interaction_df_den", "int"),
    ("interaction_p_value", "p"), ("al_f", "number"), ("al_df_num", "int"), ("al_df_den", "int"), ("al_p_value", "p"),
)


def model_fit_table(fit: pd.DataFrame, outcome: str | None, lang: str, t: Translate) -> pd.DataFrame:
    """The fit of one model as two columns, measure (in words) and value (formatted for ``lang``)."""
    col = _outcome_col(fit)
    rows = fit[fit[col].astype(str) == outcome] if col and outcome is not None else fit
    if rows.empty:
        return pd.DataFrame(columns=[t("model.fit_measure"), t("model.fit_value")])
    row = rows.iloc[0]
    shown = {
        "int": lambda v: fmt.format_int(round(float(v)), lang),
        "percent": lambda v: fmt.format_percent(v, lang),
        "number": lambda v: fmt.format_number(v, lang, 3),
        "p": lambda v: fmt.format_p_value(v, lang),
    }
    measures = [(name, kind) for name, kind in FIT_MEASURES if name in row.index and pd.notna(row[name])]
    return pd.DataFrame({
        t("model.fit_measure"): [t(f"model.fit_cols.{name}") for name, _ in measures],
        t("model.fit_value"): [shown[kind](row[name]) for name, kind in measures],
    })


def model_label(model_id: str, t: Translate) -> str:
    return t(f"model.outcomes.{model_id}") if has_key(t, f"model.outcomes.{model_id}") else str(model_id)
