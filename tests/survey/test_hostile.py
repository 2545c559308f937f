"""Issue 13's hostile files, one test each: bounded refusals, clear errors instead of tracebacks, no silent loss,
valid variants read, and no identifier in any output. The fuzzer (test_fuzz_ingest.py) generalises these."""

from __future__ import annotations

import io
import time
import zipfile

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.privacy import scan_for_pii
from analysis.survey.ingest import ingest_export
from tests.survey.bad_exports.base import base_frames, csv_bytes, xlsx_bytes

NIK = "3171234508900003"
PHONE = "081234567890"


@pytest.fixture(scope="module")
def register():
    from analysis.etl.registers import load_register

    return load_register()


@pytest.fixture(scope="module")
def frames():
    return base_frames(6)


def _csv(m, r, **kw):
    return {"main.csv": csv_bytes(m, **kw), "anggota.csv": csv_bytes(r, **kw)}


def _ingest(files, register, **kw):
    r = ingest_export(files, register=register, source_name="upload", **kw)
    assert r.households_in == len(r.households) + len(r.household_rejects)
    assert r.persons_in == len(r.persons) + len(r.person_rejects)
    for df in (r.households, r.persons, r.household_rejects, r.person_rejects):
        assert scan_for_pii(df).clean
    return r


def _stray_cell(xlsx: bytes, ref: str) -> bytes:
    """The workbook with one extra cell at ``ref`` in its first sheet."""
    zin = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                row = "".join(ch for ch in ref if ch.isdigit())
                data = data.replace(b"</sheetData>", f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'.encode())
            zout.writestr(item, data)
    return out.getvalue()


# --- bounded work -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ref, code", [("XFD1048576", "too_many_columns"), ("DKJ60000", "too_many_columns"), ("BZ1048576", "too_many_cells")])
def test_a_stray_xlsx_cell_is_refused_before_the_sheet_is_read(frames, register, ref, code):
    x = _stray_cell(xlsx_bytes({"main": frames[0], "anggota": frames[1]}), ref)
    t = time.perf_counter()
    with pytest.raises(InputError) as info:
        ingest_export({"a.xlsx": x}, register=register)
    assert info.value.code == code
    assert time.perf_counter() - t < 10


def test_the_server_survives_a_stray_cell_upload(frames, register):
    from analysis import upload

    city = upload.CityArtefacts.from_tables(None, register)
    bad = upload.handle_upload({"a.xlsx": _stray_cell(xlsx_bytes({"main": frames[0], "anggota": frames[1]}), "XFD1048576")}, city)
    assert not bad.ok and bad.error_code == "too_many_columns"
    good = upload.handle_upload(_csv(*frames), city)
    assert good.ok


@pytest.mark.parametrize("make, code", [
    (lambda m: m.assign(**{"penutup/catatan": ["x" * 48_000_000] + [None] * 5}), "row_too_long"),
    (lambda m: m.assign(**{"penutup/catatan": ["x" * 40_000] + [None] * 5}), "cell_too_long"),
])
def test_huge_cells_are_refused_fast(frames, register, make, code):
    t = time.perf_counter()
    with pytest.raises(InputError) as info:
        ingest_export(_csv(make(frames[0].copy()), frames[1]), register=register, max_file_bytes=None)
    assert info.value.code == code
    assert time.perf_counter() - t < 30


@pytest.mark.parametrize("ncols", [60_000, 200_000])
def test_very_wide_headers_are_refused_fast(frames, register, ncols):
    m = frames[0].copy()
    extra = ",".join(f"c{i}" for i in range(ncols))
    main = csv_bytes(m).replace(b"\n", b"," + extra.encode() + b"\n", 1)
    t = time.perf_counter()
    with pytest.raises(InputError) as info:
        ingest_export({"main.csv": main, "anggota.csv": csv_bytes(frames[1])}, register=register)
    assert info.value.code in ("too_many_columns", "row_too_long", "malformed_csv")
    assert time.perf_counter() - t < 10


# --- clear errors instead of tracebacks -------------------------------------------------------------------

@pytest.mark.parametrize("damage", [lambda b: b[:-1], lambda b: b + b"\x00\xd8a\x00"])
def test_damaged_utf16_is_bad_encoding(frames, register, damage):
    files = {k: damage(b"\xff\xfe" + v.decode().encode("utf-16-le")) for k, v in _csv(*frames).items()}
    with pytest.raises(InputError) as info:
        ingest_export(files, register=register)
    assert info.value.code == "bad_encoding"


def test_cr_only_line_endings_are_read(frames, register):
    r = _ingest({k: v.replace(b"\n", b"\r") for k, v in _csv(*frames).items()}, register)
    assert len(r.households) == 6 and len(r.persons) == len(frames[1])


@pytest.mark.parametrize("value", [str(2**63), str(2**64), "1e400", "-" + str(2**63)])
def test_integers_at_the_edges_are_unreadable_not_a_crash(frames, register, value):
    m, ro = frames[0].copy(), frames[1].copy()
    m.loc[0, "rumah_tangga/quota_spend"] = value
    ro.loc[0, "anggota/age"] = value
    r = _ingest(_csv(m, ro), register)
    assert r.reject_counts()["persons"]["age missing or out of range"] == 1


@pytest.mark.parametrize("col, value, reason", [("rumah_tangga/n_phones", "50", "n_phones out of range"), ("penutup/respondent_line_no", "99", "respondent_line_no out of range")])
def test_an_out_of_range_cell_is_a_reject_with_its_row(frames, register, col, value, reason):
    m = frames[0].copy()
    m.loc[2, col] = value
    r = _ingest(_csv(m, frames[1]), register)
    rej = r.household_rejects
    assert rej["reason"].tolist() == [reason] and rej["row"].tolist() == [4]


# --- no silent loss, no wrong success ----------------------------------------------------------------------

def test_two_main_and_two_roster_batches_are_concatenated(frames, register):
    m, ro = frames
    files = {"a.csv": csv_bytes(m.iloc[:3]), "b.csv": csv_bytes(m.iloc[3:]), "r1.csv": csv_bytes(ro.iloc[:5]), "r2.csv": csv_bytes(ro.iloc[5:])}
    r = _ingest(files, register)
    assert r.households_in == 6 and r.persons_in == len(ro) and len(r.persons) == len(ro)
    assert r.format["main_batches"] == 2 and r.format["roster_batches"] == 2


def test_one_question_under_two_headers_is_refused(frames, register):
    m = frames[0].copy()
    m["hh_size"] = m["rumah_tangga/hh_size"]
    with pytest.raises(InputError) as info:
        ingest_export(_csv(m, frames[1]), register=register)
    assert info.value.code == "duplicate_fields"


def test_roster_keys_that_disagree_are_rejected(frames, register):
    ro = frames[1].copy()
    ro.loc[0, "_parent_index"] = "2"
    r = _ingest(_csv(frames[0], ro), register)
    assert r.person_rejects["reason"].str.startswith("roster keys disagree").sum() == 1


@pytest.mark.parametrize("edit", [str.upper, lambda u: "uuid:" + u, lambda u: " " + u + " "])
def test_duplicate_uuids_are_normalised(frames, register, edit):
    m = frames[0]
    m = pd.concat([m, m.iloc[[0]].assign(_uuid=edit(m["_uuid"].iloc[0]), _index="99")], ignore_index=True)
    r = _ingest(_csv(m, frames[1]), register)
    assert r.reject_counts()["households"] == {"duplicate _uuid": 1}


@pytest.mark.parametrize("yes, no", [("TRUE", "FALSE"), ("1", "0"), ("True", "False"), ("1.0", "0.0")])
def test_option_columns_as_booleans(frames, register, yes, no):
    m = frames[0].copy()
    m["rumah_tangga/connection"] = None
    for o in ("mobile_data", "fixed_broadband", "public_wifi"):
        m[f"rumah_tangga/connection/{o}"] = yes if o == "mobile_data" else no
    r = _ingest(_csv(m, frames[1]), register)
    assert r.households["conn_mobile_data"].all() and not r.households["conn_public_wifi"].any()


@pytest.mark.parametrize("w", ["inf", "-inf", "nan", "1e999"])
def test_non_finite_design_weights_are_refused(frames, register, w):
    m = frames[0]
    d = pd.DataFrame({"hh_id": m["_uuid"], "stratum": "31.75", "psu": m["_uuid"], "weight": [w] + ["1"] * 5})
    with pytest.raises(InputError) as info:
        ingest_export(_csv(*frames), register=register, design=csv_bytes(d))
    assert info.value.code == "bad_design"


# --- valid exports accepted ---------------------------------------------------------------------------------

def test_instructions_sheet_before_the_data(frames, register):
    inst = pd.DataFrame({"Petunjuk": ["Ekspor dari KoboToolbox", "Baris kedua"], "Catatan": ["a", "b"]})
    r = _ingest({"a.xlsx": xlsx_bytes({"Instructions": inst, "main": frames[0], "anggota": frames[1]})}, register)
    assert len(r.households) == 6


def test_kobo_generated_group_names(frames, register):
    m = frames[0].rename(columns=lambda c: "group_lk7yq12/" + c.split("/")[-1] if c.startswith("rumah_tangga/") else c)
    assert len(_ingest(_csv(m, frames[1]), register).households) == 6


def test_odk_central_export(frames, register):
    m, ro = frames
    om = m.rename(columns={"_uuid": "KEY"}).drop(columns=["_index"])
    om["KEY"] = "uuid:" + om["KEY"]
    orr = ro.drop(columns=["_index", "_parent_index", "_submission__uuid", "_parent_table_name", "_submission__id"])
    orr["PARENT_KEY"] = "uuid:" + ro["_submission__uuid"]
    orr["KEY"] = orr["PARENT_KEY"] + "/anggota[" + ro["anggota/line_no"] + "]"
    om.columns = [c.replace("/", "-") for c in om.columns]
    orr.columns = [c.replace("/", "-") for c in orr.columns]
    r = _ingest({"form.csv": csv_bytes(om), "form-anggota.csv": csv_bytes(orr)}, register)
    assert len(r.households) == 6 and len(r.persons) == len(ro)


@pytest.mark.parametrize("sep, line", [(",", b"sep=,\n"), (";", b"sep=;\r\n")])
def test_excel_sep_line(frames, register, sep, line):
    files = {k: line + v for k, v in _csv(*frames, sep=sep).items()}
    assert len(_ingest(files, register).households) == 6


def test_cli_takes_the_main_table_and_the_roster_as_two_files(frames, register, tmp_path):
    from analysis.survey.ingest import ingest_export_to_dir

    (tmp_path / "x.csv").write_bytes(csv_bytes(frames[0]))
    (tmp_path / "members.csv").write_bytes(csv_bytes(frames[1]))
    r = ingest_export_to_dir([tmp_path / "x.csv", tmp_path / "members.csv"], tmp_path / "out", register=register)
    assert len(r.households) == 6
    assert scan_for_pii(tmp_path / "out").clean


# --- no identifier leaves -----------------------------------------------------------------------------------

def test_an_identifier_used_as_uuid_never_reaches_an_output(frames, register, tmp_path):
    from analysis.survey.ingest import ingest_export_to_dir

    m, ro = frames[0].copy(), frames[1].copy()
    m["_uuid"] = [NIK, PHONE, "+62 812 3456 7890", *m["_uuid"].iloc[3:]]
    ro["_submission__uuid"] = ro["_parent_index"].astype(int).map(lambda i: m["_uuid"].iloc[i - 1])
    d = pd.DataFrame({"hh_id": m["_uuid"], "stratum": [NIK] * 6, "psu": [PHONE] * 6, "weight": "2"})
    (tmp_path / f"{NIK}.csv").write_bytes(csv_bytes(m))
    (tmp_path / f"{NIK}-anggota.csv").write_bytes(csv_bytes(ro))
    (tmp_path / "design.csv").write_bytes(csv_bytes(d))
    r = ingest_export_to_dir(tmp_path / f"{NIK}.csv", tmp_path / "out", register=register, design_path=tmp_path / "design.csv")
    assert len(r.households) == 6
    scan = scan_for_pii(tmp_path / "out")
    assert scan.clean, str(scan)
    assert NIK not in r.survey_id


def test_error_messages_never_quote_an_identifier_header(frames, register):
    m = frames[0].rename(columns={"rumah_tangga/hh_size": f"hh_size {NIK}"})
    with pytest.raises(InputError) as info:
        ingest_export({f"{PHONE}.csv": csv_bytes(m), "anggota.csv": csv_bytes(frames[1])}, register=register)
    assert NIK not in str(info.value) and PHONE not in str(info.value)
    assert scan_for_pii(pd.DataFrame({"m": [str(info.value)]})).clean


def test_cli_csvs_are_formula_escaped(frames, register, tmp_path):
    from analysis.survey.ingest import ingest_export_to_dir

    ingest_export_to_dir(_write(tmp_path, frames), tmp_path / "out", register=register)
    text = (tmp_path / "out" / "survey_households.csv").read_text()
    assert "\n=" not in text and ",=" not in text


def _write(tmp_path, frames):
    m = frames[0].copy()
    (tmp_path / "m.csv").write_bytes(csv_bytes(m))
    (tmp_path / "m-anggota.csv").write_bytes(csv_bytes(frames[1]))
    return tmp_path / "m.csv"


def test_sheet_extent_reads_prefixed_xml_across_chunks_and_refuses_oversized_tags():
    from analysis.survey.export_files import _SheetExtent

    data = b'<x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><c s="1" r="B1"/><x:c><x:v>1</x:v></x:c></x:row><x:row><x:c r="XFD7"><x:v>2</x:v></x:c></x:row>'
    e = _SheetExtent()
    for i in range(0, len(data), 5):
        e.feed(data[i:i + 5])
    assert (e.rows, e.cols, e.cells) == (7, 16384, 3)
    with pytest.raises(InputError, match="too_many|column") as info:
        e.check("a.xlsx")
    assert info.value.code == "too_many_columns"
    e = _SheetExtent()
    e.feed(b'<row r="1"><c r="XFD1048576" junk="' + b"x" * 70_000)
    e.feed(b'"><v>1</v></c></row>')
    with pytest.raises(InputError) as info:
        e.check("a.xlsx")
    assert info.value.code == "malformed_xlsx"


def test_the_dashboard_survives_hostile_uploads_and_the_map_still_answers(frames, dashboard_data, monkeypatch):
    """Upload through the page (the whole dashboard, AppTest): a stray cell at XFD1048576 and a huge cell are
    refused with their code, then the map page of the same app still renders (done-when of issue 13)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("DIGIDIV_DATA", str(dashboard_data))
    x = _stray_cell(xlsx_bytes({"main": frames[0], "anggota": frames[1]}), "XFD1048576")
    huge = frames[0].assign(**{"penutup/catatan": ["x" * 2_000_000] + [None] * 5})
    at = AppTest.from_file(str(root / "dashboard.py"), default_timeout=180)
    for files, code in (({"a.xlsx": x}, "too_many_columns"), (_csv(huge, frames[1]), "row_too_long")):
        at.switch_page("pages/unggah.py")
        at.session_state["_upload_files_for_test"] = files
        at.run()
        assert not at.exception
        assert at.session_state["upload_outcome"].error_code == code
    at.switch_page("pages/peta.py")
    at.run()
    assert not at.exception
    assert at.get("vega_lite_chart"), "the map page draws its map after the hostile uploads"


@pytest.mark.parametrize("prefix, newline", [(b"sep=;\n", b"\n"), (b"", b"\r"), (b"sep=;\r\n", b"\r\n")])
def test_design_file_with_sep_line_or_cr_endings(frames, register, prefix, newline):
    m = frames[0]
    d = pd.DataFrame({"hh_id": m["_uuid"], "stratum": "31.75", "psu": m["_uuid"], "weight": "2"})
    design = prefix + csv_bytes(d, sep=";").replace(b"\n", newline)
    r = _ingest(_csv(*frames), register, design=design)
    assert r.weighted and (r.households["weight"] == 2.0).all()
