"""The Upload page's tables and printable report, from an ``analysis.upload.UploadOutcome`` (numbers and
codes only): the kampung against its kota and the city, the gap decomposition, the ingestion summary, the
personal data removed, and the friendly message of an error code. Pure pandas, no Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from analysis import formatting as fmt
from analysis.stats import indicators as ind
from analysis.stats import reliability
from analysis.upload import UploadOutcome, pii_removed_total
from ui import report
from ui.views.common import Translate, significance_mark


def error_message(code: str, tr: Translate) -> str:
    """The friendly message for an error code in the page's language (a generic one for unknown codes)."""
    try:
        return tr(f"upload.errors.{code}")
    except KeyError:
        return tr("upload.errors.unknown")


# Why ``analysis.survey.ingest`` set a row aside: its reason (an English phrase that doubles as a code) -> the
# locale key ``upload.rejects.<key>``. A person set aside because its household was is "household rejected: <the
# household's reason>". A test reads every reason ingest.py can give and requires it here.
REJECT_REASONS = {
    "missing _uuid": "missing_uuid",
    "duplicate _uuid": "duplicate_uuid",
    "test submission": "test_submission",
    "no consent": "no_consent",
    "unknown kelurahan": "unknown_kelurahan",
    "household size missing or out of range": "household_size",
    "not in the design file": "not_in_design",
    "roster row without a household": "roster_without_household",
    "age missing or out of range": "age",
    "duplicate roster line": "duplicate_roster_line",
    "unknown": "unknown",
    "roster keys disagree (_parent_index and _submission__uuid name different households)": "roster_keys_disagree",
}
HOUSEHOLD_REJECTED = "household rejected: "
OUT_OF_RANGE = re.compile(r"^([a-z0-9_]+) out of range$")  # a numeric answer outside its range: "<column> out of range"


def reject_reason(reason: str, tr: Translate) -> str:
    """A reject reason in the page's language; a reason without a translation is named by its code."""
    if reason.startswith(HOUSEHOLD_REJECTED):
        return tr("upload.rejects.household_rejected", reason=reject_reason(reason[len(HOUSEHOLD_REJECTED):], tr))
    key = REJECT_REASONS.get(reason)
    if key is None and (m := OUT_OF_RANGE.match(reason)):
        return tr("upload.rejects.out_of_range", column=m.group(1))
    return tr(f"upload.rejects.{key}") if key else tr("upload.rejects.other", code=reason)


def _signed(x, lang: str) -> str:
    """A difference of proportions in percentage points with its sign (``+3,2`` / ``−5,1``); the column says "pts"."""
    if fmt.is_missing(x):
        return fmt.MISSING
    text = fmt.format_number(float(x) * 100, lang, 1)
    return "+" + text if float(x) * 100 >= 0.05 else text


def _mark(rel: str, tr: Translate) -> str:
    return {reliability.FLAG: tr("upload.flag_mark"), reliability.SUPPRESSED: tr("upload.suppressed_mark")}.get(rel, "")


def _label(indicator_id: str, lang: str, labels: Mapping[str, str]) -> str:
    if labels.get(indicator_id):
        return labels[indicator_id]
    i = ind.get(indicator_id)
    return i.label_id if lang == "id" else i.label_en


def comparison_table(outcome: UploadOutcome, code: str, lang: str, tr: Translate, indicator_labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per indicator for kelurahan ``code``: kampung, kota, city with CIs, both gaps with CI and
    significance (▲/▼), reliability marks. Text only (formatted for ``lang``)."""
    labels = dict(indicator_labels or {})
    comp = outcome.comparison
    k = outcome.estimates[outcome.estimates["area_code"] == code] if outcome.estimates is not None else pd.DataFrame()
    rows = []
    none = tr("common.no_reliable_estimate")
    for r in k.itertuples(index=False):
        row = {
            tr("upload.col_indicator"): _label(r.indicator_id, lang, labels),
            tr("upload.col_n"): fmt.format_int(r.n, lang),
            tr("upload.col_kampung"): (fmt.format_estimate(r.estimate, r.ci_low, r.ci_high, lang) + _mark(r.reliability, tr)) if r.reliability != reliability.SUPPRESSED else none,
        }
        for vs in ("kota", "city"):
            c = comp[(comp["indicator_id"] == r.indicator_id) & (comp["kode_kemendagri"] == code) & (comp["vs"] == vs)] if comp is not None else pd.DataFrame()
            col_ref, col_gap = tr(f"upload.col_{vs}"), tr(f"upload.col_gap_{vs}")
            if c.empty:
                row[col_ref], row[col_gap] = none, none
                continue
            c = c.iloc[0]
            row[col_ref] = (fmt.format_estimate(c["reference_estimate"], c["reference_ci_low"], c["reference_ci_high"], lang) + _mark(c["reference_reliability"], tr)) if c["reference_reliability"] != reliability.SUPPRESSED else none
            if c["reliability"] == reliability.SUPPRESSED or pd.isna(c["diff"]):
                row[col_gap] = none
            else:
                sig = significance_mark(c["ci_low"], c["ci_high"])
                row[col_gap] = f"{_signed(c['diff'], lang)} ({fmt.format_ci(c['ci_low'], c['ci_high'], lang, percent=False)}){sig}{_mark(c['reliability'], tr)}"
        rows.append(row)
    return pd.DataFrame(rows)


def kelurahan_choices(outcome: UploadOutcome) -> list[str]:
    """The upload's kelurahan codes, the one with the most households first (the page's default), then by
    households descending and code: a city-wide file opens on its largest kampung, never on the first
    kelurahan of the register."""
    kel = outcome.kelurahan
    if kel is None or kel.empty:
        return []
    order = kel.assign(_code=kel["kode_kemendagri"].astype(str)).sort_values(["households", "_code"], ascending=[False, True], kind="mergesort")
    return order["_code"].tolist()


CHART_INDICATORS = 8  # the chart's main indicators: the first proportions of the register the kampung publishes


def chart_frame(outcome: UploadOutcome, code: str, lang: str, tr: Translate, indicator_labels: Mapping[str, str] | None = None,
                limit: int = CHART_INDICATORS) -> pd.DataFrame:
    """Bars for ``analysis.figures.estimate_bars``: for the main indicators (proportions whose kampung estimate
    is published, in register order, at most ``limit``) the kampung, its kota and the city, each with its 95% CI
    (the references as compared: the rest of the kota / city when the upload shares households with the city
    sample). Suppressed references are left out, never drawn."""
    labels = dict(indicator_labels or {})
    est, comp = outcome.estimates, outcome.comparison
    if est is None or est.empty:
        return pd.DataFrame(columns=["label", "category", "group", "estimate", "ci_low", "ci_high", "hover"])
    k = est[(est["area_code"] == code) & (est["reliability"] != reliability.SUPPRESSED)].set_index("indicator_id")
    order = [i.indicator_id for i in ind.REGISTRY if i.measure == ind.PROPORTION and i.indicator_id in k.index][:limit]
    groups = {"kampung": tr("upload.chart_kampung"), "kota": tr("upload.chart_kota"), "city": tr("upload.chart_city")}
    rows = []

    def add(iid, group, e, lo, hi, rel):
        label = _label(iid, lang, labels)
        mark = _mark(rel, tr)
        hover = f"<b>{label}</b><br>{groups[group]}: {fmt.format_estimate(e, lo, hi, lang)}{mark}"
        rows.append({"label": label, "category": label, "group": groups[group], "estimate": float(e), "ci_low": float(lo), "ci_high": float(hi), "hover": hover})

    for iid in order:
        r = k.loc[iid]
        add(iid, "kampung", r["estimate"], r["ci_low"], r["ci_high"], r["reliability"])
        for vs in ("kota", "city"):
            c = comp[(comp["indicator_id"] == iid) & (comp["kode_kemendagri"] == code) & (comp["vs"] == vs)] if comp is not None and len(comp) else pd.DataFrame()
            if c.empty or c["reference_reliability"].iloc[0] == reliability.SUPPRESSED or pd.isna(c["reference_estimate"].iloc[0]):
                continue
            c = c.iloc[0]
            add(iid, vs, c["reference_estimate"], c["reference_ci_low"], c["reference_ci_high"], c["reference_reliability"])
    return pd.DataFrame(rows, columns=["label", "category", "group", "estimate", "ci_low", "ci_high", "hover"])


def comparison_basis(outcome: UploadOutcome, code: str) -> str:
    """How kelurahan ``code`` was compared: ``independent`` or ``rest_of_city`` (it shares households with the city sample)."""
    comp = outcome.comparison
    if comp is None or comp.empty or "basis" not in comp:
        return "independent"
    b = comp.loc[comp["kode_kemendagri"] == code, "basis"]
    return str(b.iloc[0]) if len(b) else "independent"


def basis_note(outcome: UploadOutcome, code: str, lang: str, tr: Translate) -> str:
    """The page's sentence on which comparison is used for kelurahan ``code``."""
    if comparison_basis(outcome, code) == "rest_of_city":
        kel = outcome.kelurahan
        n = int(kel.loc[kel["kode_kemendagri"] == code, "shared_households"].sum()) if kel is not None and "shared_households" in kel else outcome.shared_households
        return tr("upload.rest_of_city_note", households=fmt.format_int(n, lang))
    return tr("upload.independent_note")


def decomposition_display(outcome: UploadOutcome, code: str, lang: str, tr: Translate) -> pd.DataFrame:
    d = outcome.decomposition
    if d is None or d.empty:
        return pd.DataFrame()
    d = d[d["kode_kemendagri"] == code]
    rows = []
    for r in d.itertuples(index=False):
        rows.append({
            tr("upload.col_indicator"): _label(r.indicator_id, lang, {}),
            tr("upload.col_n"): fmt.format_int(r.n, lang),
            tr("upload.col_total_gap"): _signed(r.total_gap, lang),
            tr("upload.col_income"): _signed(r.explained_income, lang),
            tr("upload.col_education"): _signed(r.explained_education, lang),
            tr("upload.col_age"): _signed(r.explained_age, lang),
            tr("upload.col_unexplained"): _signed(r.unexplained, lang),
        })
    return pd.DataFrame(rows)


def summary_table(outcome: UploadOutcome, lang: str, tr: Translate) -> pd.DataFrame:
    """Rows in, kept and rejected (by reason), and personal data removed (counts only)."""
    rep = outcome.report
    rows = [
        (tr("upload.sum_households_in"), rep["households"]["rows_in"]),
        (tr("upload.sum_households_kept"), rep["households"]["rows_out"]),
        (tr("upload.sum_persons_in"), rep["persons"]["rows_in"]),
        (tr("upload.sum_persons_kept"), rep["persons"]["rows_out"]),
    ]
    for reason, n in rep["rejects"]["households"].items():
        rows.append((tr("upload.sum_rejected_households", reason=reject_reason(reason, tr)), n))
    for reason, n in rep["rejects"]["persons"].items():
        rows.append((tr("upload.sum_rejected_persons", reason=reject_reason(reason, tr)), n))
    return pd.DataFrame({tr("upload.col_item"): [r[0] for r in rows], tr("upload.col_count"): [fmt.format_int(r[1], lang) for r in rows]})


def pii_text(outcome: UploadOutcome, lang: str, tr: Translate) -> str:
    """What personal data was removed from the upload, by kind (counts only)."""
    pii = pii_removed_total(outcome)
    if not pii:
        return tr("upload.pii_none")
    items = ", ".join(f"{tr(f'upload.pii_kind.{k}')} {fmt.format_int(v, lang)}" for k, v in sorted(pii.items()))
    return tr("upload.pii_removed", items=items, total=fmt.format_int(sum(pii.values()), lang))


def report_html(outcome: UploadOutcome, lang: str, tr: Translate, indicator_labels: Mapping[str, str] | None = None) -> bytes:
    """The printable report (``ui.report.html_report``): counts, estimates and contrasts only, no row of the
    upload, no free text, no identifier."""
    blocks: list[report.Block] = []
    if outcome.synthetic:
        blocks.append(("warn", tr("upload.synthetic_upload")))
    if outcome.city_synthetic:
        blocks.append(("warn", tr("banner.synthetic")))
    blocks += [
        ("note", tr("upload.weighted") if outcome.weighted else tr("upload.unweighted")),
        ("h2", tr("upload.summary")),
        ("table", summary_table(outcome, lang, tr)),
        ("note", pii_text(outcome, lang, tr)),
    ]
    for k in outcome.kelurahan.itertuples(index=False):
        blocks += [
            ("h2", tr("upload.kampung_heading", kelurahan=k.kelurahan, kecamatan=k.kecamatan, kota=k.kab_kota)),
            ("table", comparison_table(outcome, k.kode_kemendagri, lang, tr, indicator_labels)),
            ("note", basis_note(outcome, k.kode_kemendagri, lang, tr)),
        ]
        dec = decomposition_display(outcome, k.kode_kemendagri, lang, tr)
        if not dec.empty:
            blocks += [("h2", tr("upload.decomposition")), ("table", dec), ("note", tr("upload.decomposition_note") + " " + tr("common.decomposition_no_ci"))]
    blocks += [("note", tr("upload.table_note") + " " + tr("common.sig_legend")), ("note", tr("upload.report_footer"))]
    return report.html_report(tr("upload.report_title"), lang, blocks)
