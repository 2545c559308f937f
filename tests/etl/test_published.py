"""published_figures: the committed figures, their validation, and agreement with the BPS source."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.build import BuildContext
from analysis.errors import InputError
from analysis.etl import bps, published


@pytest.fixture(scope="module")
def table(tmp_path_factory, manifest):
    empty = tmp_path_factory.mktemp("noraw")
    ctx = BuildContext(raw=empty, processed=empty / "p", manifest=manifest)
    tables = published.build(ctx)  # no source at all: the embedded figures are always there
    assert [t.name for t in tables] == ["published_figures"]
    tables[0].check()
    return tables[0]


def _figure(table, fid):
    row = table.data[table.data.figure_id == fid]
    assert len(row) == 1
    return row.iloc[0]


def test_the_figures_the_guide_argues_with(table):
    assert _figure(table, "bps_dki_hh_internet_2019")["value"] == 93.33
    assert _figure(table, "bps_dki_hh_internet_2022")["value"] == 95.39
    assert _figure(table, "bps_dki_hh_mobile_phone_2019")["value"] == 96.69
    smeru = _figure(table, "smeru_dki_internet_no_diploma")
    assert smeru["value"] == 7.35 and "SMERU" in smeru["citation"]
    assert list(table.data.columns) == published.COLUMNS
    assert table.data["citation"].str.len().min() > 20
    assert table.data["source_url"].str.startswith("http").all()


def test_figures_agree_with_the_bps_source(table, raw_dir):
    res = bps.parse_internet_households(raw_dir / "bps_ict" / "bps_pct_households_internet_by_province_urbanrural_2022_raw.csv")
    totals = {r["region_name"]: r["value"] for r in res.rows if r["breakdown"] == "total"}
    assert _figure(table, "bps_dki_hh_internet_2022")["value"] == totals["DKI Jakarta"]
    assert _figure(table, "bps_idn_hh_internet_2022")["value"] == totals["Indonesia"]


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def test_duplicate_id_rejected(table):
    df = pd.concat([table.data, table.data.iloc[[0]]])
    with pytest.raises(InputError) as e:
        published.load(_csv(df))
    assert e.value.code == "bad_published_figure" and "duplicate figure ids" in str(e.value)


def test_percentage_out_of_range_rejected(table):
    df = table.data.copy()
    df.loc[0, "value"] = 193.33
    with pytest.raises(InputError) as e:
        published.load(_csv(df))
    assert "outside [0, 100]" in str(e.value)


def test_missing_citation_rejected(table):
    df = table.data.copy()
    df.loc[2, "citation"] = ""
    with pytest.raises(InputError) as e:
        published.load(_csv(df))
    assert "'citation' is empty" in str(e.value)


def test_missing_column_rejected(table):
    with pytest.raises(InputError) as e:
        published.load(_csv(table.data.drop(columns=["source_url"])))
    assert e.value.code == "missing_columns"


def test_every_collected_dki_figure_is_typed_in_with_its_citation(table, mirror, manifest):
    path = mirror / manifest["published_dki_2019_2024"].files[0].path
    collected = pd.read_csv(path, dtype=str, keep_default_na=False)
    typed = table.data.set_index("figure_id")
    for r in collected.itertuples(index=False):
        row = typed.loc[r.figure_id]
        assert (row["indicator"], row["region"], row["group_dim"], row["group"]) == (r.topic, r.area, r.group_dim, r.group)
        assert row["year"] == int(r.year) and row["value"] == float(r.value)
        assert r.citation in row["citation"] and row["source_url"] == r.source_url
    assert typed.loc["susenas2019_dki_persons_internet_3m", "value"] == 73.46
    assert typed.loc["bps_poverty_2024_jakarta_utara", "value"] == 6.44


def test_a_figure_without_a_citation_fails(table):
    df = table.data.copy()
    df.loc[df.figure_id == "susenas2019_dki_men_internet_3m", "citation"] = ""
    with pytest.raises(InputError) as e:
        published.load(_csv(df))
    assert e.value.code == "bad_published_figure" and "citation" in str(e.value)
