"""Values of an export turned into the canonical survey variables.

``canonical_frame`` renames the export's columns to the form's field names, scrubs every free-text field
(``analysis.privacy``) before anything else reads it, maps select_one answers given as XML values or labels
(either language) back to choice names, splits select_multiple answers (space-separated and/or one 0/1 column
per option) into one nullable boolean per option, and parses whole numbers; answers outside the form's
choices become NA and are counted, never quoted.

``derive_households`` / ``derive_persons`` / ``add_respondent`` derive the analysis variables: income
quintile from the expenditure bracket (``QUINTILE_OF_BRACKET``), five education levels, age groups, the
household's internet use from the roster (BPS: any member used the internet in the last 3 months), the
respondent's characteristics and the quota burden. Category orders come from ``analysis.survey.schema``.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from analysis.privacy import Scrubber
from analysis.survey.headers import HeaderMap, normalise_header
from analysis.survey.questionnaire import FormDefinition
from analysis.survey.schema import AGE_BANDS, EDUCATION_LEVEL, EXPENDITURE_BRACKETS

# --- fixed derivations --------------------------------------------------------------------------------------

# Expenditure bracket -> quintile. Fixed cut-points, the same for the demo survey and every upload, so that
# an NGO's kampung is placed on the city's scale rather than on its own. Quintile boundaries of DKI monthly
# household expenditure (Susenas DKI: mean per-capita expenditure about Rp2.3 million in 2022, 3.6 persons
# per household; poverty line about Rp0.8 million per capita) fall near Rp3, 5, 7.5 and 10 million; the
# form's two lowest brackets (under Rp1.5 million and Rp1.5-3 million) together form the poorest fifth, so
# the brackets map onto quintiles as:
QUINTILE_OF_BRACKET = {
    "lt1500": 1,
    "1500_3000": 1,
    "3000_5000": 2,
    "5000_7500": 3,
    "7500_10000": 4,
    "ge10000": 5,
}
# Midpoint (Rp) of each bracket for the quota burden; the open top bracket at 1.25 x its floor.
BRACKET_MIDPOINT = {
    name: ((lo + hi) / 2 if hi is not None else 1.25 * lo) for name, (lo, hi) in EXPENDITURE_BRACKETS.items()
}

# Free-text fields of the form (scrubbed, then dropped); the kelurahan text is read by the matcher first.
TEST_PATTERN = re.compile(r"^\s*(?:test|tes|testing|uji|ujicoba|uji[ _-]?coba|coba|percobaan|dummy|trial|demo[ _-]?enum)\b", re.I)

INFO_COLUMNS = {
    "rt_rw": "info_rt_rw", "kelurahan_office": "info_kelurahan_office", "poster": "info_poster",
    "door_to_door": "info_door_to_door", "whatsapp": "info_whatsapp", "social_media": "info_social_media",
    "online_news": "info_online_news", "jaki": "info_jaki", "tv_radio": "info_tv_radio",
    "community_org": "info_community_org",
}
REASON_COLUMNS = {
    "did_not_know": "reason_did_not_know", "no_smartphone": "reason_no_smartphone", "no_quota": "reason_no_quota",
    "cannot_operate": "reason_cannot_operate", "distrust": "reason_distrust",
}
CONN_COLUMNS = {"mobile_data": "conn_mobile_data", "fixed_broadband": "conn_fixed_broadband", "public_wifi": "conn_public_wifi"}


# --- values -------------------------------------------------------------------------------------------------


def _choice_lookup(form: FormDefinition, list_name: str) -> dict[str, str]:
    """Normalised value or label (any language) -> choice name."""
    out = {}
    for c in form.choices[list_name]:
        out.setdefault(normalise_header(c.name), c.name)
    for c in form.choices[list_name]:
        for lab in c.labels.values():
            out.setdefault(normalise_header(lab), c.name)
    return out


def _map_select_one(series: pd.Series, lookup: dict[str, str]) -> tuple[pd.Series, int]:
    """Map values/labels to choice names; unknown answers become NA (returned count, never the values)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([lookup.get(normalise_header(u)) for u in uniques] + [None], dtype=object)
    out = pd.Series(mapped[codes], index=series.index, dtype=object)  # code -1 (missing) -> the trailing None
    invalid = int(((codes >= 0) & pd.isna(mapped[codes])).sum())
    return out, invalid


def _split_multiple(series: pd.Series, form: FormDefinition, list_name: str) -> tuple[pd.DataFrame, int]:
    """A select_multiple column (values space-separated, or labels space-joined as Kobo writes them) -> one
    nullable boolean column per option (NA where unanswered) and the number of unreadable answers.

    Vectorised over distinct answers: each distinct string is parsed once (labels contain spaces, so they
    are matched greedily, longest first), then the option matrix is indexed by the factorised codes.
    """
    options = form.choice_names(list_name)
    lookup = _choice_lookup(form, list_name)
    labels = sorted(lookup.items(), key=lambda kv: -len(kv[0]))
    names = set(options)

    def parse(text: str):
        t = normalise_header(text)
        toks = t.split(" ")
        if all(tok in names for tok in toks):
            return set(toks)
        got, rest = set(), t
        while rest:
            for lab, name in labels:
                if rest == lab or rest.startswith(lab + " "):
                    got.add(name)
                    rest = rest[len(lab):].strip()
                    break
            else:
                return None
        return got

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mat = np.zeros((len(uniques) + 1, len(options)), dtype=np.int8)  # last row: unanswered (-1)
    mat[-1, :] = -1
    invalid = 0
    bad_codes = []
    for u, text in enumerate(uniques):
        got = parse(str(text)) if str(text).strip() else None
        if got is None:
            mat[u, :] = -1
            if str(text).strip():
                bad_codes.append(u)
            continue
        for j, o in enumerate(options):
            mat[u, j] = 1 if o in got else 0
    if bad_codes:
        invalid = int(np.isin(codes, bad_codes).sum())
    rows = mat[codes]  # codes == -1 picks the last row
    out = {}
    for j, o in enumerate(options):
        col = rows[:, j]
        out[o] = pd.array(np.where(col < 0, pd.NA, col == 1), dtype="boolean")
    return pd.DataFrame(out, index=series.index), invalid


# How a 0/1 option column says "ticked": 1 (CSV, or 1.0 from a spreadsheet), TRUE/True/true (Excel and ODK
# booleans), yes/ya. Anything else that is not empty is "not ticked".
TICKED = frozenset({"1", "1.0", "true", "yes", "ya", "y"})


def _flags_from_columns(df: pd.DataFrame, cols: dict[str, str], options: list[str], index) -> pd.DataFrame:
    """The 0/1 option columns of Kobo's "both" format -> nullable booleans (NA where every option is empty)."""
    raw = {o: df[c].reset_index(drop=True) for o, c in cols.items()}
    answered = pd.concat([v.notna() & v.astype(object).str.strip().ne("") for v in raw.values()], axis=1).any(axis=1).to_numpy()
    out = {}
    for o in options:
        if o in raw:
            codes, uniques = pd.factorize(raw[o], use_na_sentinel=True)
            ticked = np.array([str(u).strip().casefold() in TICKED for u in uniques] + [False], dtype=bool)
            v = ticked[codes]
        else:
            v = np.zeros(len(answered), dtype=bool)
        out[o] = pd.array(np.where(answered, v, pd.NA), dtype="boolean")
    return pd.DataFrame(out, index=index)


def _to_int(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integers (NA when missing); the second series flags non-missing cells that are not whole numbers."""
    text = series.astype(object).str.strip().str.replace(",", ".", regex=False).where(series.notna())
    num = pd.to_numeric(text, errors="coerce")
    if num.dtype.kind != "f":  # integers beyond int64 (2**63 and more) arrive as uint64 or object
        num = pd.to_numeric(num, errors="coerce").astype(float)
    # No whole-number answer of the form is anywhere near 10**12; larger ones (2**63 ...) are unreadable.
    bad = series.notna() & (num.isna() | ~np.isfinite(num) | (num.abs() >= 1e12) | (num.notna() & (num % 1 != 0)))
    out = num.where(~bad).round().astype("Int64")
    return out, bad


def _yes_no(series: pd.Series) -> pd.Series:
    """'yes' -> True, 'no' -> False, anything else (missing, 'dk') -> NA."""
    v = series.to_numpy(dtype=object)
    yes, no = v == "yes", v == "no"
    return pd.Series(pd.arrays.BooleanArray(yes, ~(yes | no)), index=series.index)



# --- canonical columns --------------------------------------------------------------------------------------


_TEXT_TYPES = ("text",)


def canonical_frame(df: pd.DataFrame, hmap: HeaderMap, form: FormDefinition, fields: list, scrubber: Scrubber, skip_text=None) -> pd.DataFrame:
    """Columns renamed to field names, free text scrubbed, choices mapped to names, integers parsed."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    ncols = {normalise_header(c): c for c in df.columns}
    for m in ("_uuid", "_index", "_parent_index", "_submission__uuid", "_validation_status", "_tags", "_submission_time"):
        if m in ncols:
            s = df[ncols[m]].reset_index(drop=True)
            out[m] = s.astype(object).str.strip().where(s.notna())
    if "_tags" in ncols:
        out["_synthetic"] = df[ncols["_tags"]].reset_index(drop=True).astype(object).str.lower().str.contains(r"\bsynthetic\b", regex=True, na=False)
    for m in ("synthetic", "_synthetic"):
        if m in ncols:
            out["_synthetic"] = df[ncols[m]].reset_index(drop=True).astype(object).str.strip().str.lower().isin(["true", "1", "yes", "ya"])
    by_field: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    for col, (fname, opt) in hmap.columns.items():
        if opt is None:
            by_field.setdefault(fname, col)
        else:
            options.setdefault(fname, {})[opt] = col
    invalid: Counter = Counter()
    label_values = 0
    for f in fields:
        col = by_field.get(f.name)
        s = df[col].reset_index(drop=True) if col is not None else None
        if f.type in _TEXT_TYPES:
            if s is None:
                continue
            if skip_text is not None and skip_text.any():
                s = s.where(~skip_text)
            if f.name == "enumerator":
                # test-submission codes are read before scrubbing removes anything from the column
                out["_enumerator_raw"] = s.astype(object).str.strip().str.slice(0, 12).str.lower().where(s.notna()).map(
                    lambda v: v if isinstance(v, str) and TEST_PATTERN.match(v) else None
                )
            out[f.name] = scrubber.scrub_series(s.astype(object).where(s.notna()))
        elif f.type == "select_one":
            if s is None:
                continue
            lookup = _choice_lookup(form, f.list_name)
            mapped, bad = _map_select_one(s, lookup)
            nonvalue = s.notna() & ~s.astype(object).isin(form.choice_names(f.list_name))
            label_values += int((nonvalue & mapped.notna()).sum())
            if f.name == "kelurahan":
                out["_kelurahan_raw"] = scrubber.scrub_series(s.astype(object).where(s.notna() & mapped.isna()))
                bad = 0
            if bad:
                invalid[f.name] += bad
            out[f.name] = mapped
        elif f.type == "select_multiple":
            opts = form.choice_names(f.list_name)
            flags = None
            if s is not None:
                flags, bad = _split_multiple(s, form, f.list_name)
                if bad:
                    invalid[f.name] += bad
            if f.name in options:  # the 0/1 columns fill in (or stand in for) the space-separated answer
                from_cols = _flags_from_columns(df, options[f.name], opts, out.index)
                flags = from_cols if flags is None else flags.where(flags.notna(), from_cols).astype("boolean")
            if flags is None:
                continue
            for o in opts:
                out[f"{f.name}/{o}"] = flags[o].to_numpy()
        elif f.type in ("integer", "decimal") or (f.type == "calculate" and f.name == "line_no"):
            if s is None:
                continue
            vals, bad = _to_int(s)
            if bad.any():
                invalid[f.name] += int(bad.sum())
            out[f.name] = vals
        # start/end/today/calculates other than line_no are not kept
    out.attrs["invalid"] = dict(invalid)
    out.attrs["label_values"] = label_values
    return out



# --- derived variables --------------------------------------------------------------------------------------


def _option(H: pd.DataFrame, field_name: str, option: str, asked: pd.Series | None = None) -> pd.Series:
    """The boolean column of one select_multiple option (NA when unanswered or not asked)."""
    col = f"{field_name}/{option}"
    out = H[col].astype("boolean") if col in H.columns else pd.Series(pd.array([pd.NA] * len(H), dtype="boolean"), index=H.index)
    if asked is not None:
        out = out.where(asked.fillna(False).astype(bool)).astype("boolean")
    return out


def derive_households(H: pd.DataFrame, P: pd.DataFrame) -> pd.DataFrame:
    n = len(H)
    idx = H.index
    col = lambda name: H[name] if name in H.columns else pd.Series([pd.NA] * n, index=idx, dtype=object)  # noqa: E731
    out = pd.DataFrame(index=idx)
    out["hh_id"] = H["_key"].astype(object)  # the opaque key of the submission (never the _uuid itself)
    out["kode_kemendagri"] = H["kode_kemendagri"]
    out["kode_kab_kemendagri"] = H["kode_kab_kemendagri"]
    out["kelurahan"] = H["_kel_name"]
    out["kab_kota"] = H["kab_kota"]
    rw = col("rw").astype("Int64")
    out["rw"] = rw.where((rw >= 1) & (rw <= 99))
    out["hh_size"] = H["hh_size"].astype("Int64")
    bracket = col("expenditure_bracket")
    out["expenditure_bracket"] = bracket
    out["income_quintile"] = bracket.map(QUINTILE_OF_BRACKET).astype("Int64")
    for name in ("dtks", "received_bansos", "received_bst"):
        out[name] = _yes_no(col(name))  # "dk" (don't know) -> NA
    out["n_phones"] = col("n_phones").astype("Int64")
    out["phone_shared"] = _yes_no(col("phone_shared"))
    # household internet (BPS): any member used it in the last 3 months
    uses = P[["_hh_id", "uses_internet"]].copy() if "uses_internet" in P.columns else pd.DataFrame({"_hh_id": P["_hh_id"], "uses_internet": pd.NA})
    uses["yes"] = uses["uses_internet"].eq("yes")
    uses["no"] = uses["uses_internet"].eq("no")
    g = uses.groupby("_hh_id").agg(any_yes=("yes", "any"), any_no=("no", "any"))
    hh = out["hh_id"]
    any_yes = hh.map(g["any_yes"]).fillna(False).astype(bool)
    any_no = hh.map(g["any_no"]).fillna(False).astype(bool)
    has = pd.Series(pd.array([pd.NA] * n, dtype="boolean"), index=idx)
    has[any_yes] = True
    has[~any_yes & any_no] = False
    out["has_internet"] = has
    for opt, name in CONN_COLUMNS.items():
        out[name] = _option(H, "connection", opt)
    quota = col("quota_spend")
    mobile = out["conn_mobile_data"]
    q = pd.to_numeric(quota, errors="coerce").astype("Float64")
    q = q.where((q >= 0) & (q <= 5_000_000))
    no_mobile_data = (mobile == False).fillna(False).astype(bool)  # noqa: E712 - the question was not asked
    q = q.mask(no_mobile_data, 0.0)
    out["quota_spend_rp"] = q.astype("Float64")
    mid = bracket.map(BRACKET_MIDPOINT).astype("Float64")
    out["quota_burden"] = (q / mid).astype("Float64")
    knows = _yes_no(col("knows_jaki"))
    installed = _yes_no(col("installed_jaki"))
    installed = installed.where(~(knows == False), False).astype("boolean")  # noqa: E712
    used = _yes_no(col("used_bst_check"))
    used = used.where(~(installed == False), False).astype("boolean")  # noqa: E712
    out["knows_jaki"], out["installed_jaki"], out["used_bst_check"] = knows, installed, used
    asked = (used == False)  # noqa: E712 - reasons are asked of households that did not use the check
    for opt, name in REASON_COLUMNS.items():
        out[name] = _option(H, "jaki_reasons", opt, asked)
    out["used_qlue"] = _yes_no(col("used_qlue"))
    out["used_complaint_channel"] = _yes_no(col("used_complaint_channel"))
    for opt, name in INFO_COLUMNS.items():
        out[name] = _option(H, "info_bansos", opt)
    out["respondent_line_no"] = col("respondent_line_no").astype("Int64")
    return out


def _age_group(age: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=age.index, dtype=object)
    for lo, hi, label in AGE_BANDS:
        out[(age >= lo) & (age <= hi)] = label
    return out


def derive_persons(P: pd.DataFrame) -> pd.DataFrame:
    col = lambda name: P[name] if name in P.columns else pd.Series([pd.NA] * len(P), index=P.index, dtype=object)  # noqa: E731
    out = pd.DataFrame(index=P.index)
    out["hh_id"] = P["_hh_id"].astype(object)
    out["line_no"] = P["line_no"].astype("Int64")
    out["person_id"] = out["hh_id"] + "-" + out["line_no"].astype("str")
    age = P["age"].astype("Int64")
    out["age"] = age
    out["age_group"] = _age_group(age)
    out["sex"] = col("sex")
    five_plus = (age >= 5).fillna(False)
    out["education"] = col("education").map(EDUCATION_LEVEL).where(five_plus)
    out["occupation"] = col("occupation").where((age >= 10).fillna(False))
    for name in ("literate", "uses_internet", "owns_smartphone", "digital_skill_basic"):
        out[name] = _yes_no(col(name)).where(five_plus).astype("boolean")
    return out


def add_respondent(Hd: pd.DataFrame, Pd: pd.DataFrame) -> pd.DataFrame:
    """The respondent's age, sex and education from their roster line (NA when the line is not in the roster)."""
    r = Pd[["hh_id", "line_no", "age", "sex", "education"]].rename(
        columns={"line_no": "respondent_line_no", "age": "respondent_age", "sex": "respondent_sex", "education": "respondent_education"}
    )
    out = Hd.merge(r, on=["hh_id", "respondent_line_no"], how="left", validate="one_to_one")
    out.index = Hd.index
    return out

