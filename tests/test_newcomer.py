"""The newcomer: a fresh clone with no ../shared beside it and no network builds, and the map draws 267 kelurahan.

`git clone` of this repository's committed HEAD into a temporary directory (nothing of the working tree's
data/, no mirror), `python -m analysis build --fetch` there with DIGIDIV_OFFLINE=1 and DIGIDIV_MIRROR="", then
the dashboard's map page in AppTest, run in the clone by the same interpreter (the project's .venv; no new venv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MAP_PAGE = textwrap.dedent('''
    import json
    from streamlit.testing.v1 import AppTest

    from ui import cached

    def map_spec(at):
        for c in at.get("vega_lite_chart"):
            spec = cached.values_from_layer(json.loads(c.proto.spec))  # the values travel in a layer of their own
            values = spec.get("data", {}).get("values") or []
            if values and "kode" in values[0]:
                return spec
        return None

    at = AppTest.from_file("dashboard.py", default_timeout=240)
    at.run()
    at.switch_page("pages/peta.py").run()
    at.toggle(key="map_table").set_value(True).run()  # the table of values, drawn when asked for
    out = {"exceptions": [str(e.value) for e in at.exception], "indicators": {}}
    box = at.sidebar.selectbox(key="w_indicator")
    for ind in box.options:
        at.sidebar.selectbox(key="w_indicator").set_value(ind).run()
        spec = map_spec(at)
        values = spec["data"]["values"] if spec else []
        out["indicators"][ind] = {
            "drawn": sorted({v["kode"] for v in values}),
            "with_value": sum(v["status"] != "none" for v in values),
            "tables": len(at.dataframe),
            "table_rows": max((len(d.value) for d in at.dataframe), default=0),
        }
    out["exceptions"] += [str(e.value) for e in at.exception]
    out["notice"] = "\\n".join(m.value for m in at.markdown) + "\\n".join(c.value for c in at.code)
    print("RESULT " + json.dumps(out))
''')


def _run(cmd, cwd, env, timeout=900):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.slow
def test_fresh_clone_without_mirror_or_network_draws_the_map(tmp_path):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    clone = tmp_path / "jakarta-digital-divide"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIDIV_")}
    env.update({"DIGIDIV_OFFLINE": "1", "DIGIDIV_MIRROR": "", "PYTHONDONTWRITEBYTECODE": "1"})
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], tmp_path, env)
    _run(["git", "checkout", "--quiet", head], clone, env)
    assert not (clone.parent / "shared").exists() and not (clone / "data" / "processed" / "build_report.json").exists()

    _run([sys.executable, "-m", "analysis", "build", "--fetch"], clone, env)
    processed = clone / "data" / "processed"
    report = json.loads((processed / "build_report.json").read_text())
    assert "boundaries_kelurahan" in report["missing_sources"]  # the source is missing ...
    geojson = json.loads((processed / "boundaries_kelurahan.geojson").read_text())
    assert len(geojson["features"]) == 267  # ... but the GeoJSON download is there, from the embedded default
    register = __import__("pandas").read_parquet(processed / "wilayah_register.parquet")
    assert register["kode_bps"].notna().all()  # BPS codes from the shipped crosswalk

    stdout = _run([sys.executable, "-c", MAP_PAGE], clone, env)
    result = json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["exceptions"] == []
    codes = set(register["kode_kemendagri"])
    assert result["indicators"], "no indicator to map"
    for ind, drawn in result["indicators"].items():
        assert len(drawn["drawn"]) == 267 and set(drawn["drawn"]) == codes, ind  # every kelurahan drawn
        assert drawn["with_value"] > 0, ind  # coloured by its estimate, not an empty map
        assert drawn["tables"] >= 1 and drawn["table_rows"] > 0, ind  # the table of values is shown
    assert "python -m analysis build --fetch" in result["notice"]
    assert "DIGIDIV_MIRROR=/path/to/shared/data python -m analysis build --fetch" in result["notice"]
