"""A fuzzer for the survey ingestion (issue 13): Hypothesis mutates a valid export made by the project's seeded
generator (``analysis.survey.generate``) and checks the properties every input must keep, whatever it is:

1. only ``InputError`` escapes ``ingest_export``;
2. rows in = rows out + rows rejected, for households and persons, and rows in = the rows that were written;
3. no planted identifier (a valid-looking NIK, a phone number, a name) reaches an output table, a reject, the
   report, a download or an error message, wherever it was planted (any cell, a header, the file name, the
   sheet name);
4. bounded time (``TIME_LIMIT_S`` per example; Hypothesis' deadline in the bench profile).

Mutations: encodings and BOMs (UTF-8, UTF-8-SIG, UTF-16, Windows-1252, one byte cut), line endings (LF, CRLF,
CR), delimiter and Excel's ``sep=`` line, CSV or XLSX, header variants (XML paths, bare names, other
separators, KoboToolbox group names, labels), reordered / duplicated / dropped columns, batches and extra
files, huge and sparse cells, numbers at the edges, planted identifiers.

Budgets are settings profiles: ``ci`` (the default, 30 examples, derandomised, no deadline: the README's test
command) and ``bench`` (``HYPOTHESIS_PROFILE=bench``; ``bench/bench_fuzz.py`` runs it). Every failure
Hypothesis found is kept below as an ``@example``.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from analysis.csv_safety import escape_formula
from analysis.errors import InputError
from analysis.privacy import fold_digits, scan_for_pii
from analysis.survey.ingest import ingest_export
from tests.survey.bad_exports.base import to_labels, xlsx_bytes

settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "bench", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1000")), deadline=timedelta(seconds=60),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
TIME_LIMIT_S = 120.0  # per example, on a loaded 2-core machine (a clean one takes well under 5 s)
N_HOUSEHOLDS = 12

NIK = "3171234508900003"  # valid structure: DKI, Jakarta Pusat, born 23.08.1990, serial 0003
PHONE = "81234567890"  # the national significant number; written as 0812..., +62 812..., 62812...
NAMES = ("Siti Rahayu", "Budi Santoso")
_FULL = str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
_ARABIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
SEPARATORS = ["", " ", ".", "-", "/", ",", "_", "\n"]


def _group(digits: str, sep: str, sizes) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(digits[i:i + n])
        i += n
    return sep.join(out)


IDENTIFIERS = st.one_of(
    st.builds(lambda sep, sizes: _group(NIK, sep, sizes), st.sampled_from(SEPARATORS), st.sampled_from([(4, 4, 4, 4), (6, 6, 4), (2, 2, 2, 6, 4), (16,)])),
    st.sampled_from([NIK.translate(_FULL), NIK.translate(_ARABIC), f"NIK:{NIK}", f"kk {NIK}"]),
    st.builds(lambda pre, sep: pre + _group(PHONE, sep, (3, 4, 4)), st.sampled_from(["0", "+62", "62", "+62 ", "hp_0", "wa.0"]), st.sampled_from(SEPARATORS[:7])),
    st.sampled_from([("0" + PHONE).translate(_FULL), f"Ibu {NAMES[0]}", f"Bapak {NAMES[1]}", f"nama saya {NAMES[1]}"]),
)

EDGE_NUMBERS = st.sampled_from([
    "0", "-1", "31", "111", "2147483648", str(2**63), str(2**64), "-" + str(2**63), "1e308", "1e309", "inf", "-inf",
    "nan", "NaN", "1.5", "1,5", "\u0663", "\uff13", " ", "0x10", "1_000", "99999999999999999999",
])
NUMERIC = ["lokasi/rw", "rumah_tangga/hh_size", "rumah_tangga/n_phones", "rumah_tangga/quota_spend", "penutup/respondent_line_no", "_index"]
NUMERIC_ROSTER = ["anggota/age", "anggota/line_no", "_parent_index"]


# --- the valid export, generated once per module --------------------------------------------------------------

_BASE: dict = {}


def _base() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(main, roster, register): the first ``N_HOUSEHOLDS`` submissions of a small generated export."""
    if not _BASE:
        import tempfile

        from analysis.etl.registers import load_register
        from analysis.survey.generate import GenerateOptions, generate

        register = load_register()
        with tempfile.TemporaryDirectory() as tmp:
            generate(GenerateOptions(out=Path(tmp), households=200, kelurahan=6, format="csv", delimiter=","), register=register)
            read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False).replace("", None)  # noqa: E731
            main = next(Path(tmp).glob("*_SYNTHETIC.csv"))
            m = read(main).iloc[:N_HOUSEHOLDS].reset_index(drop=True)
            r = read(main.with_name(main.stem + "-anggota.csv"))
        r = r[r["_parent_index"].isin(set(m["_index"]))].reset_index(drop=True)
        _BASE.update(main=m, roster=r, register=register)
    return _BASE["main"].copy(), _BASE["roster"].copy(), _BASE["register"]


# --- mutations ------------------------------------------------------------------------------------------------

@st.composite
def plans(draw):
    p = {
        "format": draw(st.sampled_from(["csv", "csv", "xlsx"])),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])),
        "cut_byte": draw(st.booleans()) and draw(st.booleans()),
        "newline": draw(st.sampled_from(["\n", "\r\n", "\r"])),
        "sep": draw(st.sampled_from([",", ";"])),
        "sep_line": draw(st.booleans()) and draw(st.booleans()),
        "headers": draw(st.sampled_from(["xml", "xml", "bare", "dot", "dash", "kobo_group", "labels_id", "labels_en"])),
        "shuffle": draw(st.booleans()),
        "duplicate_column": draw(st.sampled_from([None, None, None, "main", "roster"])),
        "drop_column": draw(st.sampled_from([None, None, None, "main", "roster"])),
        "main_batches": draw(st.sampled_from([1, 1, 2])),
        "roster_batches": draw(st.sampled_from([1, 1, 2])),
        "extra_table": draw(st.booleans()) and draw(st.booleans()),
        "huge_cell": draw(st.sampled_from([None, None, 1_000, 40_000, 1_100_000])),
        "stray_cell": draw(st.sampled_from([None, None, (5_000, 80), (1_048_576, 16_384), (60_000, 3_000)])),
        "edges": draw(st.lists(st.tuples(st.booleans(), st.integers(0, 99), st.integers(0, 99), EDGE_NUMBERS), max_size=4)),
        "plants": draw(st.lists(st.tuples(st.sampled_from(["cell", "cell", "cell", "header", "file", "sheet"]), st.booleans(), st.integers(0, 999), st.integers(0, 999), IDENTIFIERS), min_size=1, max_size=4)),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    return p


def _rename_headers(m: pd.DataFrame, r: pd.DataFrame, mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if mode.startswith("labels"):
        m = m[[c for c in m.columns if c.count("/") < 2]]
        return to_labels(m, r, lang="Indonesian (id)" if mode == "labels_id" else "English (en)")
    def ren(c: str) -> str:
        if c.startswith("_") or "/" not in c:
            return c
        if mode == "bare":
            return c.split("/", 1)[1]
        if mode == "dot":
            return c.replace("/", ".")
        if mode == "dash":
            return c.replace("/", "-")
        if mode == "kobo_group":
            return "group_lk7yq12/" + c.split("/", 1)[1]
        return c
    return m.rename(columns=ren), r.rename(columns=ren)


def _encode(text: str, p: dict) -> bytes:
    text = text.replace("\n", p["newline"]) if p["newline"] != "\n" else text
    if p["sep_line"]:
        text = f"sep={p['sep']}{p['newline']}" + text
    data = text.encode(p["encoding"], errors="replace")
    return data[:-1] if p["cut_byte"] else data


def _csv_text(df: pd.DataFrame, sep: str) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, sep=sep, lineterminator="\n")
    return buf.getvalue()


def _stray(xlsx: bytes, row: int, col: int) -> bytes:
    letters, n = "", col
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    zin, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", f'<row r="{row}"><c r="{letters}{row}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'.encode())
            zout.writestr(item, data)
    return out.getvalue()


def build(p: dict):
    """The files of one mutated export, and what was planted: (files, rows written (main, roster), planted)."""
    import random

    rnd = random.Random(p["seed"])
    m, r, _ = _base()
    planted: list[str] = []
    for roster, i, j, value in p["edges"]:
        df, cols = (r, NUMERIC_ROSTER) if roster else (m, NUMERIC)
        df.loc[i % len(df), cols[j % len(cols)]] = value
    if p["huge_cell"]:
        m.loc[0, "penutup/catatan"] = ("Ibu Siti Rahayu 0812 3456 7890 " * (p["huge_cell"] // 31 + 1))[: p["huge_cell"]]
        planted.append("0" + PHONE)
    file_names, sheet_names = [], []
    m, r = _rename_headers(m, r, p["headers"])
    for where, roster, i, j, value in p["plants"]:
        planted.append(value)
        df = r if roster else m
        if where == "cell":
            df.iloc[i % len(df), j % df.shape[1]] = value
        elif where == "header":
            cols = list(df.columns)
            k = j % len(cols)
            cols[k] = f"{cols[k]} {value}" if i % 2 else value
            df.columns = cols
        elif where == "file":
            file_names.append(value.replace("/", "_").replace("\n", " "))
        else:
            sheet_names.append(re.sub(r"[\[\]:*?/\\\n]", "_", value)[:31])
    for which, df in (("main", m), ("roster", r)):
        if p["shuffle"]:
            cols = list(df.columns)
            rnd.shuffle(cols)
            df = df[cols]
        if p["duplicate_column"] == which:
            c = df.columns[rnd.randrange(df.shape[1])]
            df = pd.concat([df, df[[c]]], axis=1)
        if p["drop_column"] == which:
            df = df.drop(columns=df.columns[rnd.randrange(df.shape[1])])
        if which == "main":
            m = df
        else:
            r = df
    rows = (len(m), len(r))
    mparts = [m] if p["main_batches"] == 1 else [m.iloc[: len(m) // 2], m.iloc[len(m) // 2:]]
    rparts = [r] if p["roster_batches"] == 1 else [r.iloc[: len(r) // 2], r.iloc[len(r) // 2:]]
    extra = pd.DataFrame({"Petunjuk": ["Ekspor KoboToolbox", "Jangan diubah"], "Catatan": ["-", "-"]})
    stem = file_names[0] if file_names else "akses_digital_jakarta"
    if p["format"] == "xlsx":
        sheets = {}
        if p["extra_table"]:
            sheets["Instructions"] = extra
        for k, part in enumerate(mparts):
            sheets[(sheet_names[0] if sheet_names and k == 0 else f"main{k}")] = part
        for k, part in enumerate(rparts):
            sheets[f"anggota{k}"] = part
        x = xlsx_bytes(sheets)
        if p["stray_cell"]:
            x = _stray(x, *p["stray_cell"])
        files = {f"{stem}.xlsx": x}
    else:
        files = {}
        for k, part in enumerate(mparts):
            files[f"{stem}{'' if k == 0 else k}.csv"] = _encode(_csv_text(part, p["sep"]), p)
        for k, part in enumerate(rparts):
            files[f"{stem}-anggota{'' if k == 0 else k}.csv"] = _encode(_csv_text(part, p["sep"]), p)
        if p["extra_table"]:
            files["README.csv"] = _encode(_csv_text(extra, p["sep"]), p)
    return files, rows, planted


# --- the properties -------------------------------------------------------------------------------------------

_STRIP = re.compile(r"[\s.\-/,_+():]")


def _leaks(text: str, planted: list[str]) -> list[str]:
    """Planted identifiers (their digits, or a name) found in ``text``, separators ignored."""
    flat = _STRIP.sub("", fold_digits(text))
    found = []
    for value in planted:
        digits = "".join(ch for ch in fold_digits(value) if ch.isdigit())
        if len(digits) >= 10 and digits[-10:] in flat:
            found.append(value)
        for name in NAMES:
            if name in value and name in text:
                found.append(value)
    return found


def _event(what: str) -> None:
    if currently_in_test_context():  # outcome counts in --hypothesis-show-statistics
        event(what)


def check_export(p: dict) -> None:
    from analysis.upload import _detail

    files, (main_rows, roster_rows), planted = build(p)
    _, _, register = _base()
    t = time.perf_counter()
    try:
        result = ingest_export(files, register=register, source_name="upload", survey_id="upload")
    except InputError as err:  # the only exception allowed out
        _event(f"refused: {err.code}")
        for message in (str(err), _detail(err) or ""):
            assert not _leaks(message, planted), (err.code, "an error message quotes a planted identifier")
            assert scan_for_pii(pd.DataFrame({"m": [message]})).clean, err.code
        return
    finally:
        assert time.perf_counter() - t < TIME_LIMIT_S
    _event("accepted")
    assert result.households_in == len(result.households) + len(result.household_rejects)
    assert result.persons_in == len(result.persons) + len(result.person_rejects)
    assert result.households_in == main_rows and result.persons_in == roster_rows, "rows were lost or invented"
    outputs = [json.dumps(result.report(), ensure_ascii=False)]
    for df in (result.households, result.persons, result.household_rejects, result.person_rejects):
        assert scan_for_pii(df).clean
        outputs.append(escape_formula(df).to_csv(index=False))  # what the downloads and the CLI write
    leaked = _leaks("\n".join(outputs), planted)
    assert not leaked, "a planted identifier reached an output"


@settings(settings.get_profile(PROFILE))
@given(plans())
@example({"format": "csv", "encoding": "utf-16", "cut_byte": True, "newline": "\r", "sep": ";", "sep_line": True, "headers": "xml", "shuffle": False,
          "duplicate_column": None, "drop_column": None, "main_batches": 2, "roster_batches": 2, "extra_table": False, "huge_cell": None,
          "stray_cell": None, "edges": [], "plants": [("cell", False, 0, 0, NIK)], "seed": 0})
@example({"format": "xlsx", "encoding": "utf-8", "cut_byte": False, "newline": "\n", "sep": ",", "sep_line": False, "headers": "kobo_group", "shuffle": True,
          "duplicate_column": None, "drop_column": None, "main_batches": 1, "roster_batches": 1, "extra_table": True, "huge_cell": None,
          "stray_cell": (1_048_576, 16_384), "edges": [(False, 0, 3, str(2**63))], "plants": [("sheet", False, 0, 0, "+62 812-3456-7890")], "seed": 1})
def test_any_mutated_export_keeps_the_properties(plan):
    check_export(plan)


def test_the_base_export_is_accepted_whole():
    m, r, register = _base()
    files, rows, _ = build({"format": "csv", "encoding": "utf-8", "cut_byte": False, "newline": "\n", "sep": ",", "sep_line": False, "headers": "xml",
                            "shuffle": False, "duplicate_column": None, "drop_column": None, "main_batches": 1, "roster_batches": 1, "extra_table": False,
                            "huge_cell": None, "stray_cell": None, "edges": [], "plants": [("file", False, 0, 0, "x")], "seed": 0})
    res = ingest_export(files, register=register)
    assert (res.households_in, res.persons_in) == rows == (len(m), len(r))
    assert len(res.households) >= len(m) // 2  # the generator's own dirt (duplicates, tests, refusals) is rejected


@pytest.mark.parametrize("value", ["3171/2345/0890/0003", "3,171,234,508,900,003", "hp_081234567890", NIK.translate(_FULL)])
def test_identifiers_planted_in_every_main_column_never_leave(value):
    """Deterministic sweep: the identifier in each column of the main table in turn (the fuzzer samples)."""
    m, _, _ = _base()
    for j in range(0, m.shape[1], 7):
        check_export({"format": "csv", "encoding": "utf-8", "cut_byte": False, "newline": "\n", "sep": ",", "sep_line": False, "headers": "xml",
                      "shuffle": False, "duplicate_column": None, "drop_column": None, "main_batches": 1, "roster_batches": 1, "extra_table": False,
                      "huge_cell": None, "stray_cell": None, "edges": [], "plants": [("cell", False, 1, j, value)], "seed": 0})
