"""Table accounting and the deterministic, atomic writers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.tables import Field, Table, datapackage, write_table


def _table(**kw):
    data = pd.DataFrame({"kode": ["31.71.01.1001", "31.71.01.1002"], "value": [1.5, 2.25]})
    args = dict(
        name="demo",
        title="Demo",
        description="A demo table.",
        data=data,
        fields=[Field("kode", "Kemendagri code"), Field("value", "A value", unit="%")],
        sources=["crosswalk_bps_kemendagri"],
    )
    args.update(kw)
    return Table(**args)


def test_rows_in_must_equal_used_plus_rejected():
    rejects = pd.DataFrame({"row": [3], "reason": ["duplicate code"]})
    t = _table(rows_in=4, rejects=rejects)  # 4 in, 1 rejected, so 3 used although only 2 came out: reshaping is allowed
    t.check()
    lost = _table(rows_in=4, rows_used=2, rejects=rejects)
    with pytest.raises(AssertionError, match="a row was lost"):
        lost.check()


def test_declared_fields_must_match_columns():
    with pytest.raises(AssertionError, match="declared fields"):
        _table(fields=[Field("kode", "code")]).check()


def test_write_is_deterministic_and_writes_rejects(tmp_path):
    rejects = pd.DataFrame({"row": [3], "reason": ["duplicate code"]})
    t = _table(rejects=rejects)
    write_table(t, tmp_path / "a")
    write_table(t, tmp_path / "b")
    for name in ("demo.parquet", "demo.csv", "rejects/demo.rejects.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "demo.csv").read_text() == "kode,value\n31.71.01.1001,1.5\n31.71.01.1002,2.25\n"
    assert pd.read_parquet(tmp_path / "a" / "demo.parquet").equals(t.data)
    assert not list((tmp_path / "a").glob(".*"))  # no temporary files left behind


def test_stale_rejects_file_is_removed(tmp_path):
    write_table(_table(rejects=pd.DataFrame({"row": [3], "reason": ["x"]})), tmp_path)
    assert (tmp_path / "rejects" / "demo.rejects.csv").exists()
    write_table(_table(), tmp_path)
    assert not (tmp_path / "rejects" / "demo.rejects.csv").exists()


def test_datapackage_describes_fields_sources_and_synthetic_flag(manifest):
    from analysis.sources import manifest_dicts

    dp = datapackage([_table(synthetic=True)], manifest_dicts(manifest))
    res = {r["format"]: r for r in dp["resources"]}
    assert set(res) == {"csv", "parquet"}
    assert res["csv"]["schema"]["fields"] == [
        {"name": "kode", "type": "string", "description": "Kemendagri code"},
        {"name": "value", "type": "number", "description": "A value", "unit": "%"},
    ]
    assert res["csv"]["synthetic"] is True and "SYNTHETIC" in res["csv"]["description"]
    assert dp["sources"][0]["id"] == "crosswalk_bps_kemendagri"
    assert dp["sources"][0]["citation"].startswith("BPS")
    json.dumps(dp)  # serialisable
