"""ui.views: shaping artefacts for the pages, on small frames built here (statuses, significance, labels)."""

import numpy as np
import pandas as pd
import pytest

from analysis import vega_charts
from ui import i18n
from ui.data import Built
from ui.views import common
from ui.views import map as map_view
from ui.views import overview as overview_view
from ui.views import profile as profile_view

T = {lang: (lambda key, _l=lang, **kw: i18n.translate(_l, key, **kw)) for lang in ("id", "en")}

REGISTER = pd.DataFrame(
    {
        "kode_kemendagri": ["31.71.01.1001", "31.71.01.1002", "31.75.04.1002", "31.75.05.1001"],
        "kelurahan": ["Gambir", "Cideng", "Tengah", "Gedong"],
        "kecamatan": ["Gambir", "Gambir", "Kramat Jati", "Pasar Rebo"],
        "kode_kab_kemendagri": ["31.71", "31.71", "31.75", "31.75"],
        "kab_kota": ["Kota Adm. Jakarta Pusat"] * 2 + ["Kota Adm. Jakarta Timur"] * 2,
        "kab_kota_short": ["Jakarta Pusat"] * 2 + ["Jakarta Timur"] * 2,
    }
)


def est(ind, level, area, estimate, rel="ok", n=100, domain_var=None, domain_value=None):
    e = np.nan if rel == "suppressed" else estimate
    return {
        "indicator_id": ind, "level": level, "area_code": area, "domain_var": domain_var, "domain_value": domain_value,
        "estimate": e, "se": np.nan if np.isnan(e) else 0.02, "ci_low": e - 0.04, "ci_high": e + 0.04,
        "cv": 0.03, "n": n, "df": 50, "reliability": rel,
    }


ESTIMATES = pd.DataFrame(
    [
        est("hh_internet", "city", "31", 0.95, n=4000),
        est("hh_internet", "kota", "31.75", 0.93),
        est("hh_internet", "kelurahan", "31.71.01.1001", 0.97),
        est("hh_internet", "kelurahan", "31.71.01.1002", 0.80, rel="flag"),
        est("hh_internet", "kelurahan", "31.75.04.1002", 0.5, rel="suppressed", n=12),
        # Gedong is not sampled: no row at all
        est("hh_internet", "domain", "31", 0.84, domain_var="income_quintile", domain_value="1"),
        est("hh_internet", "domain", "31", 0.99, domain_var="income_quintile", domain_value="5"),
        est("hh_internet", "domain", "31", 0.70, domain_var="education", domain_value="no_diploma"),
        est("hh_internet", "domain", "31", 0.98, domain_var="education", domain_value="tertiary"),
    ]
)
SAE = pd.DataFrame(
    {
        "indicator_id": ["hh_internet"] * 4,
        "kode_kemendagri": REGISTER["kode_kemendagri"],
        "estimate": [0.96, 0.82, 0.88, 0.90],
        "ci_low": [0.93, 0.75, 0.80, 0.84],
        "ci_high": [0.99, 0.89, 0.96, 0.96],
        "kind": ["composite", "composite", "composite", "synthetic"],
    }
)
GAPS = pd.DataFrame(
    {
        "indicator_id": ["hh_internet"] * 3,
        "kode_kemendagri": ["31.71.01.1001", "31.71.01.1002", "31.71.01.1001"],
        "vs": ["city", "city", "kota"],
        "diff": [0.02, -0.15, 0.01],
        "se": [0.01, 0.05, 0.01],
        "ci_low": [-0.001, -0.25, -0.01],
        "ci_high": [0.041, -0.05, 0.03],
        "p_value": [0.06, 0.003, 0.3],
    }
)


def test_direct_map_statuses_cover_every_kelurahan():
    rows = map_view.map_rows("direct", "hh_internet", Built(register=REGISTER, estimates=ESTIMATES))
    assert rows["status"].tolist() == ["ok", "flag", "none", "none"]
    assert rows["value"].iloc[0] == pytest.approx(0.97)
    assert pd.isna(rows["value"].iloc[2])  # a suppressed number is never passed to the map


def _tip_text(tip: dict) -> str:
    return " | ".join(f"{k}: {v}" for k, v in tip.items())


def test_direct_hover_explains_missing_and_flagged():
    frame = map_view.map_frame("direct", "hh_internet", Built(register=REGISTER, estimates=ESTIMATES), "id", T["id"])
    hover = {c: _tip_text(tip) for c, tip in zip(frame["kode_kemendagri"], frame["tooltip"])}
    assert frame["tooltip"].iloc[0]["Kelurahan"] == "Gambir" and frame["tooltip"].iloc[0]["SK 95%"] == "93,0–101,0%"
    assert "97,0%" in hover["31.71.01.1001"] and "93,0–101,0%" in hover["31.71.01.1001"]
    assert "RSE 25–50%" in hover["31.71.01.1002"]
    assert "n = 12" in hover["31.75.04.1002"] and "Tidak ada estimasi yang andal" in hover["31.75.04.1002"]
    assert "Tidak termasuk sampel" in hover["31.75.05.1001"]


def test_sae_map_gives_every_kelurahan_a_modelled_value():
    frame = map_view.map_frame("sae", "hh_internet", Built(register=REGISTER, sae=SAE), "en", T["en"])
    assert (frame["status"] == "ok").all()
    assert frame["value"].tolist() == SAE["estimate"].tolist()
    assert "synthetic (model only" in _tip_text(frame["tooltip"].iloc[3])


def test_gap_map_is_difference_from_city_with_significance():
    frame = map_view.map_frame("gap", "hh_internet", Built(register=REGISTER, estimates=ESTIMATES, gaps=GAPS), "en", T["en"])
    assert frame["value"].iloc[:2].tolist() == [0.02, -0.15]
    assert frame["status"].tolist() == ["ok", "flag", "none", "none"]
    assert "No significant difference" in _tip_text(frame["tooltip"].iloc[0])
    assert "▼ significantly below" in _tip_text(frame["tooltip"].iloc[1])


def test_significance_is_ci_excluding_zero_with_one_mark_convention():
    assert common.significance(0.01, 0.2) == 1 and common.significance(-0.2, -0.01) == -1
    assert common.significance(-0.01, 0.2) == 0
    assert common.significance(np.nan, 0.2) == 0
    assert [common.significance_mark(lo, hi) for lo, hi in ((0.01, 0.2), (-0.2, -0.01), (-0.01, 0.2))] == [" ▲", " ▼", ""]
    assert common.significance_words(-0.2, -0.01, T["en"]) == "▼ significantly below"
    assert common.significance_words(np.nan, 0.2, T["id"]) == "Perbedaan tidak signifikan"


def test_selected_code_reads_the_vega_selection_event():
    assert vega_charts.selected_code({"selection": {"pick": [{"kode": "31.71.01.1001"}]}}) == "31.71.01.1001"
    assert vega_charts.selected_code({"selection": {"pick": {"kode": "31.71.01.1001"}}}) == "31.71.01.1001"
    assert vega_charts.selected_code({"selection": {"pick": []}}) is None
    assert vega_charts.selected_code({"selection": {}}) is None
    assert vega_charts.selected_code(None) is None


def test_profile_uses_direct_then_sae_and_marks_significance():
    indicators = pd.DataFrame({"indicator_id": ["hh_internet"], "label_id": ["Internet RT"], "label_en": ["HH internet"], "higher_is_better": [True]})
    built = Built(register=REGISTER, indicators=indicators, estimates=ESTIMATES, sae=SAE, gaps=GAPS)
    gambir = profile_view.profile_table("31.71.01.1001", built, "en", T["en"])
    assert gambir["Kelurahan"].iloc[0] == "97.0% (93.0–101.0)"
    assert gambir["_source"].iloc[0] == "direct"
    tengah = profile_view.profile_table("31.75.04.1002", built, "en", T["en"])
    assert tengah["Kelurahan"].iloc[0] == "88.0% (80.0–96.0) *"  # suppressed direct -> modelled
    assert tengah["Kota"].iloc[0] == "93.0% (89.0–97.0)"
    cideng = profile_view.profile_table("31.71.01.1002", built, "en", T["en"])
    assert cideng["Difference from city (pp)"].iloc[0].endswith("▼")


def test_readings_sentences_come_from_the_numbers():
    indicators = pd.DataFrame({"indicator_id": ["hh_internet"], "label_id": ["Internet RT"], "label_en": ["HH internet"], "higher_is_better": [True]})
    sentences = overview_view.readings("hh_internet", Built(indicators=indicators, estimates=ESTIMATES, gaps=GAPS), "id", T["id"])
    assert sentences[0].startswith("Di tingkat kota, Internet RT: 95,0%")
    assert any("84,0%" in s and "99,0%" in s and "15,0 poin persen" in s for s in sentences)
    assert any("70,0%" in s and "98,0%" in s for s in sentences)
    assert any(s.startswith("1 dari 2 kelurahan") for s in sentences)


def test_bps_series_joins_published_years_dki_vs_indonesia():
    bps = pd.DataFrame(
        {
            "indicator": ["households_internet_3m"] * 3,
            "region_code": ["31", "00", "31"],
            "region_name": ["DKI Jakarta", "Indonesia", "DKI Jakarta"],
            "level": ["province", "national", "province"],
            "year": [2022, 2022, 2022],
            "breakdown": ["total", "total", "urban"],
            "value": [95.39, 86.54, 95.39],
            "unit": ["% of households"] * 3,
        }
    )
    published = pd.DataFrame({"indicator": ["households_internet_3m"], "region": ["DKI Jakarta"], "year": [2019], "value": [93.33], "unit": ["% of households"]})
    series = overview_view.bps_series(bps, "households_internet_3m", "id", "DKI", "Indonesia", published)
    assert series[["region", "year", "value"]].values.tolist() == [["DKI", 2019, 93.33], ["DKI", 2022, 95.39], ["Indonesia", 2022, 86.54]]
    assert series["hover"].iloc[0] == "DKI, 2019: 93,33%"
    assert overview_view.bps_internet_context(bps) == {"year": 2022, "dki": 95.39, "national": 86.54}


def fuzzy_finds(query: str, label: str) -> bool:
    """Streamlit's selectbox filter (``filter_mode="fuzzy"``): the query's characters in order in the label."""
    rest = iter(label.lower())
    return all(ch in rest for ch in query.lower())


def test_kelurahan_labels_are_searchable_names():
    labels = common.kelurahan_labels(REGISTER)
    assert labels["31.75.04.1002"] == "Tengah (Kramat Jati, Jakarta Timur) · Kampung Tengah"
    assert list(labels)[0] == "31.71.01.1002"  # sorted by kota, kecamatan, name


def test_the_search_finds_a_kampung_name_a_postal_code_and_a_kecamatan(built):
    import pandas as pd

    register = pd.read_parquet(built.processed / "wilayah_register.parquet")
    labels = common.kelurahan_labels(register)
    tengah = labels["31.75.04.1002"]
    for query in ("Kampung Tengah", "13540", "Kramatjati", "tengah"):
        assert fuzzy_finds(query, tengah), query
    assert fuzzy_finds("Kampung Gedong", labels["31.75.05.1001"])
    in_kecamatan = [code for code, label in labels.items() if fuzzy_finds("Kramatjati", label)]
    assert set(register.loc[register["kecamatan"] == "Kramatjati", "kode_kemendagri"]) <= set(in_kecamatan)
    assert all(any(c.isdigit() for c in label) for label in labels.values())  # every label has its postal code


def test_quota_spending_table_puts_the_city_first_and_withholds_suppressed_quartiles():
    rows = [
        ("kota", "31.75", 0.25, np.nan, np.nan, np.nan, 20, "suppressed", "Jakarta Timur"),
        ("kota", "31.75", 0.5, 100000.0, 85000.0, 115000.0, 20, "flag", "Jakarta Timur"),
        ("kota", "31.75", 0.75, np.nan, np.nan, np.nan, 20, "suppressed", "Jakarta Timur"),
        ("city", "31", 0.25, 70000.0, 70000.0, 75000.0, 3622, "ok", "DKI Jakarta"),
        ("city", "31", 0.5, 110000.0, 105000.0, 115000.0, 3622, "ok", "DKI Jakarta"),
        ("city", "31", 0.75, 160000.0, 160000.0, 165000.0, 3622, "ok", "DKI Jakarta"),
    ]
    frame = pd.DataFrame(rows, columns=["level", "area_code", "quantile", "estimate", "ci_low", "ci_high", "n", "reliability", "area_name"])
    table = overview_view.quota_spending_table(frame, "id", T["id"])
    assert table.iloc[:, 0].tolist() == [T["id"]("common.city"), "Jakarta Timur"]
    assert table.loc[0, T["id"]("overview.quota_median")] == "Rp 110.000 (105.000–115.000)"
    assert table.loc[1, T["id"]("overview.quota_q1")] == T["id"]("common.no_reliable_estimate")
    assert table.loc[1, T["id"]("overview.quota_median")].endswith("†") and table.loc[0, T["id"]("overview.quota_n")] == "3.622"
    english = overview_view.quota_spending_table(frame, "en", T["en"])
    assert english.loc[0, "Median"] == "Rp 110,000 (105,000–115,000)"
    assert overview_view.quota_spending_table(None, "en", T["en"]) is None


def test_gradient_frame_keeps_a_suppressed_group_in_its_place_with_no_numbers():
    rows = pd.DataFrame([
        est("x", "domain", "31", 0.4, domain_var="education", domain_value="tertiary"),
        est("x", "domain", "31", 0.2, rel="suppressed", n=9, domain_var="education", domain_value="no_diploma"),
        est("x", "domain", "31", 0.3, rel="flag", domain_var="education", domain_value="sd"),
    ])
    frame = overview_view.gradient_frame(Built(estimates=rows), "x", "education", "en", T["en"])
    no_diploma, sd = T["en"]("domain_values.education.no_diploma"), T["en"]("domain_values.education.sd")
    assert list(frame["label"]) == [no_diploma, sd + " †", T["en"]("domain_values.education.tertiary")]  # vocabulary order
    assert frame["estimate"].isna().tolist() == [True, False, False] and frame["ci_low"].isna().tolist() == [True, False, False]
    assert frame["hover"].iloc[0] == f"{no_diploma}: {T['en']('common.no_reliable_estimate')}, n = 9"
    assert frame["hover"].iloc[2].startswith(T["en"]("domain_values.education.tertiary") + ": 40.0% (95% CI 36.0–44.0%)")
