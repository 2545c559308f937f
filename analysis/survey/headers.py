"""The export's column headers matched to the questionnaire's fields.

KoboToolbox and ODK name a column by its XML name with its group path (``lokasi/kelurahan``; any of
``/ . - :`` as separator, or without the group) or by its **label** in either language of the form; a
select_multiple may add one 0/1 column per option (``path/option`` or ``label/option label``). ``map_headers``
picks the naming that matches most columns and maps each column to (field name, option or None);
``require_columns`` refuses an export whose coded columns are missing, renamed or belong to another form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from analysis.errors import InputError
from analysis.privacy import scrub_text
from analysis.survey.questionnaire import FormDefinition

# Metadata columns KoboToolbox / ODK add to an export (read by the ingest where needed, never "unmatched").
KOBO_META = (
    "_id", "_uuid", "_index", "_parent_index", "_parent_table_name", "_submission_time", "_validation_status",
    "_notes", "_status", "_submitted_by", "__version__", "_tags", "_submission__id", "_submission__uuid",
    "_submission__submission_time", "_submission__validation_status", "_submission__notes", "_submission__status",
    "_submission__submitted_by", "_submission__tags", "_submission___version__", "meta/instanceID", "meta/rootUuid",
    "meta/deprecatedID", "formhub/uuid", "synthetic", "_synthetic", "_version", "_xform_id_string", "instanceID",
)


def normalise_header(s: str) -> str:
    return re.sub(r"\s+", " ", str(s)).strip().casefold()


@dataclass
class HeaderMap:
    """How the export's headers map onto the form: column -> (field name, option or None)."""

    columns: dict[str, tuple[str, str | None]]
    mode: str  # "xml" or the label language
    unmatched: list[str]


def _header_candidates(form: FormDefinition) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per mode ("xml", each language): normalised header -> (field name, option)."""
    modes: dict[str, dict[str, tuple[str, str | None]]] = {"xml": {}}
    variants_of = {}
    for f in form.fields:  # first every field's own header, so an option column never shadows a field
        parts = f.path.split("/")
        variants_of[f.name] = {f.path, f.name} | {sep.join(parts) for sep in (".", "-", ":", "_")}
        for v in variants_of[f.name]:
            modes["xml"].setdefault(normalise_header(v), (f.name, None))
        for lang in form.languages:
            label = f.labels.get(lang)
            if label:
                modes.setdefault(lang, {}).setdefault(normalise_header(label), (f.name, None))
    for f in form.fields:  # then the 0/1 option columns of select_multiple ("path/option", "label/option label")
        if f.type != "select_multiple":
            continue
        for c in form.choices[f.list_name]:
            for v in variants_of[f.name]:
                for sep in ("/", ".", ":"):
                    modes["xml"].setdefault(normalise_header(f"{v}{sep}{c.name}"), (f.name, c.name))
            for lang in form.languages:
                label = f.labels.get(lang)
                if label:
                    modes[lang].setdefault(normalise_header(f"{label}/{c.labels.get(lang) or c.name}"), (f.name, c.name))
                    modes[lang].setdefault(normalise_header(f"{label}/{c.name}"), (f.name, c.name))
    # A label export still has XML-named fields where a field has no label (calculates, metadata).
    for lang in form.languages:
        for k, v in modes["xml"].items():
            modes.setdefault(lang, {}).setdefault(k, v)
    return modes


def _lookup(table: dict, n: str, wanted: set) -> tuple[str, str | None] | None:
    """The field of normalised header ``n``: as written, else without its leading group path components
    (KoboToolbox's auto-generated group names ``group_lk7yq12/hh_size``, or a group the form does not have)."""
    hit = table.get(n)
    if hit is not None and hit[0] in wanted:
        return hit
    if "/" in n:
        parts = n.split("/")
        for k in range(1, len(parts)):
            hit = table.get("/".join(parts[k:]))
            if hit is not None and hit[0] in wanted:
                return hit
    return None


def map_headers(df: pd.DataFrame, form: FormDefinition, fields: list, name: str) -> HeaderMap:
    """Columns -> (field, option). Refuses duplicated column names and one question under two headers
    (``rumah_tangga/hh_size`` and ``hh_size``: which one is the answer?). Linear in the number of columns;
    messages give column numbers and the form's field names, never the export's header text."""
    wanted = {f.name for f in fields}
    cands = _header_candidates(form)
    meta = {normalise_header(m) for m in KOBO_META}
    norm_cols = [normalise_header(c) for c in df.columns]
    first: dict[str, int] = {}
    for i, c in enumerate(norm_cols, start=1):
        if c and c in first:
            raise InputError("duplicate_columns", f"columns {first[c]} and {i} have the same name", name)
        first.setdefault(c, i)
    best_mode, best_hits = "xml", -1
    for mode, table in cands.items():
        hits = sum(1 for c in norm_cols if _lookup(table, c, wanted) is not None)
        if hits > best_hits:
            best_mode, best_hits = mode, hits
    table = cands[best_mode]
    columns, unmatched = {}, []
    taken: dict[tuple[str, str | None], int] = {}
    for i, (col, n) in enumerate(zip(df.columns, norm_cols), start=1):
        hit = _lookup(table, n, wanted)
        if hit is not None:
            if hit in taken:
                what = f"'{hit[0]}'" + (f" (option '{hit[1]}')" if hit[1] else "")
                raise InputError("duplicate_fields", f"the question {what} appears in two columns ({taken[hit]} and {i}) under different headers", name)
            taken[hit] = i
            columns[col] = hit
        elif n in meta or n.startswith("_"):
            continue
        else:
            unmatched.append(col)
    return HeaderMap(columns, best_mode, unmatched)


def count_matches(columns, form: FormDefinition, fields: list) -> int:
    """How many of ``columns`` name one of ``fields`` in the best naming mode (to tell tables apart)."""
    wanted = {f.name for f in fields}
    norm_cols = [normalise_header(c) for c in columns]
    return max(sum(1 for c in norm_cols if _lookup(t, c, wanted) is not None) for t in _header_candidates(form).values())


def require_columns(hmap: HeaderMap, fields: list, form: FormDefinition, name: str, sheet: str) -> None:
    """Raise when the questionnaire's coded columns are not there (text fields and calculates are optional)."""
    present = {fname for fname, opt in hmap.columns.values()}
    present_opts = {fname for fname, opt in hmap.columns.values() if opt}
    required = [f for f in fields if f.type in ("select_one", "select_multiple", "integer", "decimal") and f.name != "line_no"]
    missing = [f.path for f in required if f.name not in present and f.name not in present_opts]
    if not missing:
        return
    share = 1 - len(missing) / max(len(required), 1)
    if share < 0.3:
        raise InputError(
            "another_questionnaire",
            f"the {sheet} has {len(required) - len(missing)} of the questionnaire's {len(required)} coded columns: "
            f"this is not an export of the '{form.form_id}' form",
            name,
        )
    from rapidfuzz import fuzz, process

    suggestions = []
    for path in missing:
        hit = process.extractOne(normalise_header(path.split("/")[-1]), [normalise_header(c) for c in hmap.unmatched], scorer=fuzz.WRatio, score_cutoff=80)
        if hit:
            suggestions.append(f"'{scrub_text(str(hmap.unmatched[hit[2]])[:40])[0]}' looks like '{path}'")
    if suggestions:
        raise InputError("renamed_columns", f"{sheet}: column(s) renamed: {'; '.join(suggestions[:5])}; missing: {missing[:10]}", name)
    raise InputError("missing_columns", f"{sheet}: missing column(s) {missing[:10]}" + (" ..." if len(missing) > 10 else ""), name)

