"""ui.downloads: spreadsheet-safe CSV (formula injection) and the deterministic zip."""

import io
import zipfile

import pandas as pd

from ui import downloads


def test_formula_cells_get_an_apostrophe_numbers_do_not():
    df = pd.DataFrame(
        {
            "name": ["=HYPERLINK(\"http://x\")", "+62 812", "-cmd", "@SUM(A1)", "\tTab", "Gambir", None],
            "diff": [-0.05, 0.1, -1.0, 2.0, 0.0, 3.0, None],
        }
    )
    back = pd.read_csv(io.BytesIO(downloads.safe_csv_bytes(df)))
    assert back["name"].tolist()[:6] == ["'=HYPERLINK(\"http://x\")", "'+62 812", "'-cmd", "'@SUM(A1)", "'\tTab", "Gambir"]
    assert pd.isna(back["name"].iloc[6])
    assert back["diff"].iloc[0] == -0.05  # numbers stay numbers


def test_escaping_a_file_keeps_numeric_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n-0.5,=1+1\n1e-3,-x\n", encoding="utf-8")
    back = pd.read_csv(io.BytesIO(downloads.safe_csv_from_file(path)), dtype=str)
    assert back.to_dict("list") == {"a": ["-0.5", "1e-3"], "b": ["'=1+1", "'-x"]}


def test_zip_is_deterministic_and_escapes_the_project_tables(tmp_path):
    (tmp_path / "rejects").mkdir()
    (tmp_path / "demo_survey").mkdir()
    (tmp_path / "t.csv").write_text("a\n=evil()\n", encoding="utf-8")
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    (tmp_path / "rejects" / "t.rejects.csv").write_text("row,reason\n1,bad\n", encoding="utf-8")
    (tmp_path / "demo_survey" / "export.csv").write_text("a;b\n=1;x\n", encoding="utf-8")
    first, second = downloads.zip_everything(tmp_path), downloads.zip_everything(tmp_path)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        names = sorted(zf.namelist())
        assert names == [
            "jakarta-digital-divide/demo_survey/export.csv",
            "jakarta-digital-divide/rejects/t.rejects.csv",
            "jakarta-digital-divide/t.csv",
            "jakarta-digital-divide/t.parquet",
        ]
        assert zf.read("jakarta-digital-divide/t.csv").decode() == "a\n'=evil()\n"
        # the demo export (';'-delimited, escaped by its own stage) goes in byte for byte
        assert zf.read("jakarta-digital-divide/demo_survey/export.csv").decode() == "a;b\n=1;x\n"
