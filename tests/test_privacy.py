"""analysis.privacy: detection and removal of NIK, KK, phone numbers and names; scanning outputs; errors
without values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.privacy import MARKER, Scrubber, find_pii, redact_errors, scan_for_pii, scrub_text

# A NIK: Jakarta Timur (31.75), kecamatan 04, born 01-01-1985 as a woman (day + 40 = 41), serial 0003.
NIK_WOMAN = "3175044101850003"
NIK_MAN = "3174015508900002"  # 15-08-1990, man
NOT_NIK = "9974010101010001"  # province 99 does not exist: a 16-digit number that is not a NIK -> KK


@pytest.mark.parametrize(
    "text, kinds",
    [
        (f"NIK saya {NIK_WOMAN}", {"nik": 1}),
        (f"nik: {NIK_MAN[:4]} {NIK_MAN[4:8]} {NIK_MAN[8:12]} {NIK_MAN[12:]}", {"nik": 1}),
        (f"{NIK_MAN[:6]}.{NIK_MAN[6:12]}.{NIK_MAN[12:]}", {"nik": 1}),
        (f"No KK {NIK_MAN}", {"kk": 1}),  # a KK has the NIK layout: the keyword decides
        (f"kartu keluarga: {NIK_MAN}", {"kk": 1}),
        (f"nomor {NOT_NIK} hilang", {"kk": 1}),
        ("hubungi 0812-3456-7890", {"phone": 1}),
        ("WA +62 812 3456 7890", {"phone": 1}),
        ("hp anaknya 6281234567890", {"phone": 1}),
        ("0857.1234.5678 sore hari", {"phone": 1}),
        ("kantor (021) 555-1234", {"phone": 1}),
        ("rumah 021-5551234", {"phone": 1}),
        ("nama saya Budi Santoso", {"name": 1}),
        ("Nama: SITI AMINAH", {"name": 1}),
        ("Ibu Sari tidak bisa cek", {"name": 1}),
        ("Pak RT Budi yang kasih tahu", {"name": 1}),
        ("bapak ahmad ketua rt", {"name": 1}),
        ("Sdr. Joko Widodo", {"name": 1}),
        ("email budi.s@gmail.com", {"email": 1}),
        (f"NIK {NIK_WOMAN}, HP 081298765432, nama saya Rina", {"nik": 1, "phone": 1, "name": 1}),
    ],
)
def test_detects_and_removes(text, kinds):
    clean, counts = scrub_text(text)
    assert dict(counts) == kinds
    assert MARKER in clean
    digits = "".join(ch for ch in clean if ch.isdigit())
    assert len(digits) < 8, clean  # no identifier digits survive


@pytest.mark.parametrize(
    "text",
    [
        "tidak ada kuota",
        "Sinyal lemah di gang.",
        "Ketua RT membantu menunjukkan rumah.",
        "Pak RT yang kasih tahu",
        "Info dari Bu Lurah",
        "Ibu Kota Jakarta",
        "dapat info dari grup WA RT 05 RW 03",
        "bayar kuota Rp 50.000 per minggu",
        "pengeluaran 2.500.000 sebulan",
        "bobot 4875.000000000001",
        "kode 31.75.04.1005",
        "12345678-1234-1234-1234-123456789012",  # a submission uuid, not a number
        "",
    ],
)
def test_leaves_ordinary_answers_alone(text):
    assert scrub_text(text) == (text, {})


def test_invalid_nik_dates_are_kk_and_valid_women_are_nik():
    # day 32 (no +40 possible) is not a date of birth: not a NIK, but still a 16-digit number (KK)
    assert dict(scrub_text("3175043201850003")[1]) == {"kk": 1}
    # 41 = 1st, a woman
    assert dict(scrub_text(NIK_WOMAN)[1]) == {"nik": 1}
    # province 31, kabupaten 00: not a NIK
    assert dict(scrub_text("3100044101850003")[1]) == {"kk": 1}


def test_find_pii_returns_spans_not_values():
    hits = find_pii(f"NIK {NIK_WOMAN}")
    assert [(h.kind, h.start, h.end) for h in hits] == [("nik", 4, 20)]
    assert not any(NIK_WOMAN in repr(h) for h in hits)


def test_scrubber_counts_every_occurrence_and_keeps_no_values():
    s = Scrubber()
    series = pd.Series([f"NIK {NIK_MAN}", None, "aman", f"NIK {NIK_MAN}", "hp 081234567890"], dtype="str")
    out = s.scrub_series(series)
    assert out.isna().tolist() == [False, True, False, False, False]
    assert out.tolist()[0] == f"NIK {MARKER}" and out.tolist()[2] == "aman"
    rep = s.report()
    assert rep["nik"] == 2 and rep["phone"] == 1 and rep["cells_changed"] == 3
    assert NIK_MAN not in json.dumps(rep) and NIK_MAN not in repr(s.counts)


def test_scan_finds_patterns_in_frames_and_files(tmp_path):
    df = pd.DataFrame(
        {
            "note": ["aman", f"x {NIK_MAN}", "call 0812 3456 7890"],
            "as_int": [1, 2, int(NIK_WOMAN)],
            "as_float": [0.5, float(NIK_WOMAN), np.nan],
            "weight": [4875.000000000001, 0.002205071664829107, 12.5],
            "uuid": ["00000000-0000-0000-0000-000c0ffee000"] * 3,
        }
    )
    scan = scan_for_pii(df)
    assert dict(scan.counts) == {"nik": 3, "phone": 1}
    assert {(loc["column"], loc["row"]) for loc in scan.locations} == {("note", "1"), ("note", "2"), ("as_int", "2"), ("as_float", "1")}
    assert NIK_MAN not in str(scan) and NIK_MAN not in repr(scan.locations)

    (tmp_path / "sub").mkdir()
    df.to_csv(tmp_path / "a.csv", index=False)
    df.drop(columns=["as_float"]).to_parquet(tmp_path / "sub" / "b.parquet")
    (tmp_path / "c.json").write_text(json.dumps({"notes": [f"KK {NOT_NIK}"]}))
    (tmp_path / "clean.csv").write_text("a,b\n1,2\n")
    scan = scan_for_pii(tmp_path)
    assert scan.files_scanned == 4
    files = {loc["file"] for loc in scan.locations}
    assert files == {"a.csv", "sub/b.parquet", "c.json"}
    assert scan.counts["kk"] == 1
    assert scan_for_pii(tmp_path, exclude=["a.csv", "sub", "c.json"]).clean
    assert scan_for_pii(tmp_path / "clean.csv").clean


def test_scan_reads_xlsx(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["catatan", "n"])
    wb.active.append([f"nik {NIK_WOMAN}", 1])
    wb.save(tmp_path / "x.xlsx")
    scan = scan_for_pii(tmp_path / "x.xlsx")
    assert dict(scan.counts) == {"nik": 1}


def test_redact_errors_drops_the_parser_message():
    secret = f"could not convert string to float: '{NIK_MAN}'"
    with pytest.raises(InputError) as info:
        with redact_errors("bad_number", "a number cannot be read", "upload.csv"):
            raise ValueError(secret)
    err = info.value
    assert err.code == "bad_number"
    assert str(err) == "upload.csv: a number cannot be read (ValueError; cell values are not shown to protect personal data)"
    assert err.__cause__ is None and err.__suppress_context__
    for e in (err, err.__context__):
        if e is not None:
            assert NIK_MAN not in str(e) and NIK_MAN not in repr(e.args)
    assert err.__context__ is None or err.__context__.__traceback__ is None


def test_redact_errors_wipes_undecodable_bytes():
    with pytest.raises(InputError) as info:
        with redact_errors("bad_text", "the text cannot be decoded"):
            f"{NIK_MAN}\xff".encode("latin-1").decode("utf-8")
    ctx = info.value.__context__
    assert ctx is None or (NIK_MAN.encode() not in getattr(ctx, "object", b"") and NIK_MAN not in str(ctx))


def test_redact_errors_passes_input_errors_and_success_through():
    with pytest.raises(InputError) as info:
        with redact_errors("x", "y"):
            raise InputError("own_code", "own message")
    assert info.value.code == "own_code"
    with redact_errors("x", "y"):
        value = 1
    assert value == 1


# --- issue 13: one matcher for scrubber and scan (separators, digit scripts), linear overlap check -------------

_SEPARATED = [
    "3172/0512/0890/0003",  # slashes
    "3,172,051,208,900,003",  # comma grouping
    "3172051208\n900003",  # split by a line break
    "3172_0512_0890_0003",
    "\uff13\uff11\uff17\uff12\uff10\uff15\uff11\uff12\uff10\uff18\uff19\uff10\uff10\uff10\uff10\uff13",  # full-width
    "\u0663\u0661\u0667\u0662\u0660\u0665\u0661\u0662\u0660\u0668\u0669\u0660\u0660\u0660\u0660\u0663",  # Arabic-Indic
]


@pytest.mark.parametrize("nik", _SEPARATED)
def test_scrubber_and_scan_find_a_nik_with_any_separator_or_digit_script(nik):
    clean, counts = scrub_text(f"nomor {nik} ya")
    assert counts["nik"] + counts["kk"] == 1 and nik not in clean
    assert not scan_for_pii(pd.DataFrame({"a": [f"x {nik}"]})).clean


@pytest.mark.parametrize("phone", ["hp_081234567890", "wa.0812-3456-7890", "\uff10\uff18\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10"])
def test_scan_finds_a_phone_after_an_underscore_or_in_full_width_digits(phone):
    assert not scan_for_pii(pd.DataFrame({"a": [phone]})).clean
    assert scrub_text(phone)[1]["phone"] == 1


def test_scan_does_not_join_single_digit_cells_into_a_number():
    assert scan_for_pii(pd.DataFrame({"a": [str(i % 10) for i in range(64)]})).clean


def test_many_hits_in_one_cell_take_linear_time():
    import time

    text = " ".join(f"0812345678{i % 100:02d}" for i in range(20_000))
    t = time.perf_counter()
    clean, counts = scrub_text(text)
    assert counts["phone"] == 20_000
    assert time.perf_counter() - t < 10
