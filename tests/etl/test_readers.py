"""read_table on the real BPS exports and on malformed inputs the tests write themselves."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.etl.readers import number_style, parse_number, read_table, to_numbers


def _code(exc_info) -> str:
    return exc_info.value.code


def _png_bytes() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- real files -----------------------------------------------------------------------------------------------


def test_bps_2022_csv_four_header_rows_and_bom(mirror):
    path = mirror / "bps_ict" / "bps_pct_households_internet_by_province_urbanrural_2022_raw.csv"
    df = read_table(path, header_rows=4)
    assert df.attrs["encoding"] == "utf-8-sig"
    assert df.attrs["delimiter"] == ","
    assert len(df) == 39
    assert df.columns[0] == "38 Provinsi"  # the BOM is gone
    assert [c.split(" | ")[-2:] for c in df.columns[1:]] == [
        ["Perkotaan", "2022"], ["Perdesaan", "2022"], ["Perkotaan+Perdesaan", "2022"]
    ]
    dki = df[df["38 Provinsi"] == "DKI JAKARTA"]
    assert dki.index[0] == 15  # row number in the file
    assert dki.iloc[0, 3] == pytest.approx(95.39)
    # '-' became missing and the numeric columns are floats
    papua_selatan = df[df["38 Provinsi"] == "PAPUA SELATAN"].iloc[0]
    assert papua_selatan.iloc[1:].isna().all()
    assert df.iloc[:, 1].dtype == np.float64


def test_ict_xlsx_sheet2_and_tidy_reference(mirror):
    df = read_table(mirror / "bps_ict" / "bps_ict_skills_age15_59_by_province_2015_2021.xlsx", sheet="Sheet2",
                    expected_columns=["provinsi"])
    assert list(df.columns) == ["provinsi", "2015", "2016", "2017", "2018", "2019", "2020", "2021"]
    assert len(df) == 35
    tidy = pd.read_csv(mirror / "bps_ict" / "bps_ict_skills_age15_59_by_province_2015_2021_tidy.csv")
    wide = tidy.pivot(index="provinsi", columns="tahun", values="pct_ict_skills_15_59")
    ours = df.set_index("provinsi")
    for year in range(2015, 2022):
        assert np.allclose(ours.loc[wide.index, str(year)].to_numpy(), wide[year].to_numpy())


def test_sheet1_footer_notes_are_dropped(mirror):
    df = read_table(mirror / "bps_ict" / "bps_ict_skills_age15_59_by_province_2015_2021.xlsx", sheet="Sheet1")
    assert len(df) == 35
    assert df.iloc[-1, 0] == "INDONESIA"


def test_codes_stay_text(mirror):
    df = read_table(mirror / "codes" / "dki_bps_kemendagri_crosswalk.csv")
    assert df["bps_parent"].dtype != np.float64
    assert df["bps_code"].str.len().max() == 10
    assert "3173" in set(df["bps_parent"].dropna())


# --- encodings, delimiters, numbers ---------------------------------------------------------------------------


def test_latin1_cp1252_encoding(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes("wilayah,nilai\nPondok Labu – Cilandak,1.5\nKebon Jeruk café,2\n".encode("cp1252"))
    df = read_table(p)
    assert df.attrs["encoding"] == "cp1252"
    assert df["wilayah"].iloc[1] == "Kebon Jeruk café"
    p2 = tmp_path / "latin1b.csv"
    p2.write_bytes("nama,x\nJos\xe9,1\n".encode("latin-1"))
    assert read_table(p2)["nama"].iloc[0] == "José"


def test_utf8_bom_header_matches_expected(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeffProvinsi,Nilai\nBali,3\n".encode("utf-8"))
    df = read_table(p, expected_columns=["provinsi", "nilai"])
    assert list(df.columns) == ["provinsi", "nilai"]
    assert df.attrs["encoding"] == "utf-8-sig"


def test_semicolon_delimiter_with_decimal_commas(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_text("provinsi;total;rumah_tangga\nDKI JAKARTA;95,39;2.743.643\nBALI;91,21;1.234\n", encoding="utf-8")
    df = read_table(p)
    assert df.attrs["delimiter"] == ";"
    assert df["total"].tolist() == [95.39, 91.21]
    assert df["rumah_tangga"].tolist() == [2743643.0, 1234.0]


def test_tab_delimiter(tmp_path):
    p = tmp_path / "tab.tsv"
    p.write_text("a\tb\n1\t2,5\n3\t4,25\n", encoding="utf-8")
    df = read_table(p)
    assert df.attrs["delimiter"] == "\t"
    assert df["b"].tolist() == [2.5, 4.25]


def test_thousands_separators_with_decimal_point(tmp_path):
    p = tmp_path / "thousands.csv"
    p.write_text('kota,rp\nA,"2,743,643"\nB,"1,315,101.5"\n', encoding="utf-8")
    assert read_table(p)["rp"].tolist() == [2743643.0, 1315101.5]


def test_missing_markers(tmp_path):
    p = tmp_path / "markers.csv"
    p.write_text("p,v\nA,-\nB,…\nC,...\nD,NA\nE,\nF,1.5\n", encoding="utf-8")
    df = read_table(p)
    assert df["v"].isna().sum() == 5
    assert df["v"].iloc[-1] == 1.5


def test_identifiers_are_not_numbers(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text("kode,hp,rt,jumlah\n3173031006,0812345678,005,12\n3173031007,0812345679,012,13\n", encoding="utf-8")
    df = read_table(p)
    assert df["kode"].tolist() == ["3173031006", "3173031007"]
    assert df["rt"].tolist() == ["005", "012"]
    assert df["jumlah"].tolist() == [12.0, 13.0]


def test_number_helpers():
    assert number_style(["95,39", "1"]) == "comma"
    assert number_style(["95.39"]) == "dot"
    assert number_style(["1.234"], delimiter=";") == "comma"
    assert number_style(["abc"]) is None
    assert parse_number("2.743.643", "comma") == 2743643
    assert np.isnan(parse_number("-"))
    with pytest.raises(ValueError):
        parse_number("12a")
    values, bad = to_numbers(pd.Series(["1,5", "x", "-", "2"]))
    assert bad.tolist() == [False, True, False, False]
    assert values.iloc[0] == 1.5 and np.isnan(values.iloc[2])


# --- header rows ----------------------------------------------------------------------------------------------


def test_extra_title_rows_above_expected_header(tmp_path):
    p = tmp_path / "title.csv"
    p.write_text("Tabel 3.1 Persentase rumah tangga,,\n,,\nSumber: BPS,,\nprovinsi,2021,2022\nBALI,1,2\n",
                 encoding="utf-8")
    df = read_table(p, expected_columns=["provinsi"])
    assert list(df.columns) == ["provinsi", "2021", "2022"]
    assert df.index.tolist() == [5]


def test_title_row_skipped_without_expected_columns(tmp_path):
    p = tmp_path / "title2.csv"
    p.write_text("Persentase rumah tangga menurut provinsi,,\nprovinsi,a,b\nBALI,1,2\nACEH,3,4\n", encoding="utf-8")
    df = read_table(p)
    assert list(df.columns) == ["provinsi", "a", "b"]
    assert len(df) == 2


# --- errors ---------------------------------------------------------------------------------------------------


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "empty_file"


def test_header_only(tmp_path):
    p = tmp_path / "header.csv"
    p.write_text("provinsi,nilai\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "header_only"


def test_truncated_last_row(tmp_path):
    p = tmp_path / "cut.csv"
    p.write_text("provinsi,perkotaan,perdesaan,total\nACEH,85.64,76.86,79.85\nSUMATERA UTARA,89.9", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "truncated_file"
    assert "row 3" in str(e.value) or "(3)" in str(e.value)


def test_truncated_inside_quotes(tmp_path):
    p = tmp_path / "cutq.csv"
    p.write_text('nama,catatan\nA,"ok"\nB,"terpotong di teng', encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "truncated_file"


def test_ragged_middle_row(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "ragged_row"
    assert "row 3" in str(e.value)


def test_png_renamed_csv(tmp_path):
    p = tmp_path / "chart.csv"
    p.write_bytes(_png_bytes())
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "not_a_table"
    assert "PNG" in str(e.value)


def test_binary_junk(tmp_path):
    p = tmp_path / "junk.csv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "not_a_table"


def test_text_named_xlsx(tmp_path):
    p = tmp_path / "fake.xlsx"
    p.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "not_a_table"


def test_missing_columns_are_named(tmp_path):
    p = tmp_path / "missing.csv"
    p.write_text("provinsi,tahun\nBALI,2020\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p, expected_columns=["provinsi", "tahun", "nilai"])
    assert _code(e) == "missing_columns"
    assert "nilai" in str(e.value)


def test_renamed_column_gets_a_suggestion(tmp_path):
    p = tmp_path / "renamed.csv"
    p.write_text("nama_provinsi,tahun\nBALI,2020\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p, expected_columns=["provinsi", "tahun"])
    assert _code(e) == "renamed_columns"
    assert "'nama_provinsi' looks like expected 'provinsi'" in str(e.value)


def test_duplicate_column_names(tmp_path):
    p = tmp_path / "dupe.csv"
    p.write_text("provinsi,Nilai,nilai\nBALI,1,2\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert _code(e) == "duplicate_columns"


def test_xlsx_empty_sheet():
    data = _xlsx({"Kosong": [], "Data": [["provinsi", "v"], ["BALI", 1]]})
    with pytest.raises(InputError) as e:
        read_table(data, sheet="Kosong")
    assert _code(e) == "empty_sheet"
    # without a sheet name the first sheet with cells is read
    assert read_table(data)["provinsi"].tolist() == ["BALI"]
    with pytest.raises(InputError) as e:
        read_table(_xlsx({"Sheet1": []}))
    assert _code(e) == "empty_sheet"


def test_xlsx_missing_sheet_lists_sheets():
    with pytest.raises(InputError) as e:
        read_table(_xlsx({"Data": [["a"], [1]]}), sheet="Sheet2")
    assert _code(e) == "sheet_not_found"
    assert "Data" in str(e.value)


def test_xlsx_numbers_and_header_only():
    # native numbers in one column, numbers typed as text with decimal commas in another
    df = read_table(_xlsx({"S": [["provinsi", "2020", "2021"], ["BALI", 91.5, "92,75"], ["ACEH", 80, "80,25"]]}))
    assert df["2020"].tolist() == [91.5, 80.0]
    assert df["2021"].tolist() == [92.75, 80.25]
    with pytest.raises(InputError) as e:
        read_table(_xlsx({"S": [["provinsi", "2020"]]}))
    assert _code(e) == "header_only"


def test_error_messages_do_not_echo_cells(tmp_path):
    p = tmp_path / "pii.csv"
    p.write_text("nik,nama\n3173010101900001,Siti Aminah\n3173010101900002", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(p)
    assert "3173010101900002" not in str(e.value) and "Siti" not in str(e.value)
