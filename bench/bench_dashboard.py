"""Benchmark: the dashboard in headless Debian Chromium (Playwright), median of N runs.

Measures (issue 5 targets in brackets):
- server start to healthy, ``streamlit run dashboard.py`` until ``/_stcore/health`` answers [<= 1.5 s];
- first visit to the overview on a running server, fully rendered (script finished, status widget gone, the
  city metric cards and both charts' images loaded, laid out and painted), each in a fresh browser context, against a bare one-page Streamlit app measured the
  same way in the same run [<= 2.0 s and <= 1.3x the bare app], with a timeline of what it waited for (median
  time to the title, a sidebar widget, the first metric, the first chart, the first table; the JavaScript chunks
  over 100 KB it loaded);
- switching page (overview <-> methodology via the sidebar navigation) until the new page is rendered [<= 1.0 s];
- changing the map's indicator in the sidebar until the map's shapes show the new colours [<= 0.5 s];
- map payload for 267 kelurahan: the largest WebSocket frame of the map page (the Vega-Lite spec with its
  GeoJSON) and all WebSocket bytes received while the map page loads [<= 250 KB];
- the 7,509 desa of Jawa Barat + Banten (``scale/jabar_banten_desa.geojson`` from the mirror), simplified with
  the boundaries stage's ``simplify_for_web`` and drawn with the same ``vega_charts.choropleth`` (canvas
  renderer; values are SYNTHETIC random numbers; only rendering is measured), from navigation until the
  canvas has painted [<= 6 s, payload <= 3 MB];
- peak resident memory of the dashboard server process (VmHWM).

Usage: ``.venv/bin/python bench/bench_dashboard.py --runs 5`` (needs a build: ``DIGIDIV_DATA`` or ``data/``).
Writes a JSON summary to ``bench/out/dashboard.json``; results are recorded by hand in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import config  # noqa: E402
from tests.browser.server import launch_chromium, streamlit_server, wait_rendered  # noqa: E402

OUT = ROOT / "bench" / "out"
DESA_TOLERANCE, DESA_DECIMALS = 0.004, 4

BARE_APP = '''import streamlit as st
st.set_page_config(layout="wide")
st.title("Bare one-page app")
st.metric("A number", "95,4%")
'''

DESA_APP = '''"""Bench only: the 7,509 desa drawn with the dashboard's map factory. Values are SYNTHETIC."""
import json
import numpy as np
import pandas as pd
import streamlit as st
from analysis import vega_charts

st.set_page_config(layout="wide")
st.title("7,509 desa (SYNTHETIC values, rendering benchmark)")

@st.cache_data
def spec_json(path):
    geo = json.loads(open(path, encoding="utf-8").read())
    codes = [f["id"] for f in geo["features"]]
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"kode_kemendagri": codes, "value": rng.uniform(0.6, 1.0, len(codes)), "status": "ok",
                          "tooltip": [{"Desa": c} for c in codes]})
    spec = vega_charts.choropleth(geo, frame, lang="en", legend_title="SYNTHETIC", no_estimate_name="none", height=700,
                                  renderer=%r, aria=False)
    # as ui.cached.values_in_layer does: the values and their geometry lookup in a layer of their own, which
    # Streamlit leaves alone (top-level inline data that is not GeoJSON would be moved to Arrow)
    spec["layer"] = [{"data": spec.pop("data"), "transform": spec.pop("transform"), "layer": spec.pop("layer"), "resolve": spec["resolve"]}]
    return json.dumps(spec, separators=(",", ":"))

spec = spec_json(%r)
st.vega_lite_chart(json.loads(spec), theme=None, width="stretch")
st.caption(f"payload {len(spec.encode())} bytes")
'''


def median(xs):
    return statistics.median(xs) if xs else None


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# the overview is fully rendered when its metric cards are there (``analysis.html_tables.metric_cards``; the
# metrics were ``st.metric`` until 2026-12-02's sixth pass) and both kinds of chart (``analysis/svg_charts``: the
# gap by group, the BPS series; images of SVG files since the sixth pass, inline SVG before) are loaded and laid out
OVERVIEW_DRAWN = ('.dd-cards .dd-value', '.dd-figure[data-chart="groups"] img', '.dd-figure[data-chart="series"] img')
BARE_DRAWN = ('[data-testid="stMetricValue"]',)
# Waits until the first element of every selector has a box on screen (an image: and is decoded), then for two
# animation frames: the frame that lays them out has been painted. Run for the dashboard and the bare app alike.
PAINTED_JS = ("async sels => { const shown = s => { const e = document.querySelector(s); if (!e) return false;"
              " if (e.tagName === 'IMG' && !(e.complete && e.naturalWidth > 0)) return false;"
              " const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };"
              " while (!sels.every(shown)) await new Promise(r => requestAnimationFrame(r));"
              " await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); }")
KELURAHAN_DRAWN = '[data-testid="stVegaLiteChart"] svg.marks path[aria-label*="(31."]'  # the map's click layer is drawn
MAP_FILLS = "() => Array.from(document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg.marks path')).map(p => p.getAttribute('fill')).join()"


def canvas_drawn_js():
    """The desa map (canvas renderer) has painted: some pixel in the middle of the canvas is not white."""
    return (
        "() => { const c = document.querySelector('[data-testid=\"stVegaLiteChart\"] canvas'); if (!c || !c.width) return false;"
        " const w = Math.min(400, c.width), h = Math.min(300, c.height);"
        " const d = c.getContext('2d').getImageData((c.width - w) / 2, (c.height - h) / 2, w, h).data;"
        " for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) return true; }"
        " return false; }"
    )


# Recorded in the page from its first byte on (an init script): when each of these first appears (ms since the
# navigation started, ``performance.now()``), to say what a first visit waits for.
TIMELINE_MARKS = {"title": "h1", "sidebar_widget": '[data-testid="stSidebar"] [data-testid="stSelectbox"]',
                  "metric": '.dd-cards .dd-value, [data-testid="stMetricValue"]', "chart_box": ".dd-figure img",
                  "table": "table.html-table"}
TIMELINE_JS = ("marks => { window.__firstSeen = {}; const seen = () => { for (const [k, s] of Object.entries(marks))"
               " if (!(k in window.__firstSeen) && document.querySelector(s)) window.__firstSeen[k] = performance.now(); };"
               " new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true}); }")
BIG_CHUNK = 100_000  # bytes: the JavaScript chunks worth naming in the timeline


def timed_visit(browser, url: str, *ready_selectors: str, timeline: list | None = None) -> float:
    """Seconds from navigation until the page is rendered and every ``ready_selectors`` is there and painted
    (``PAINTED_JS``). With ``timeline``, appends when the page's title, a sidebar widget, the first metric, the
    first chart and the first table first appeared, the time all ``ready_selectors`` were in the
    DOM (``attached_ms``, the measure before 2026-12-02's fourth pass), and the JavaScript chunks over
    ``BIG_CHUNK`` bytes it loaded (name, start, end)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    if timeline is not None:
        page.add_init_script(f"({TIMELINE_JS})({json.dumps(TIMELINE_MARKS)})")
    t0 = time.perf_counter()
    page.goto(url)
    wait_rendered(page, 60_000)
    for selector in ready_selectors:
        page.wait_for_selector(selector, state="attached", timeout=60_000)
    attached = time.perf_counter() - t0
    page.evaluate(PAINTED_JS, list(ready_selectors))
    elapsed = time.perf_counter() - t0
    if timeline is not None:
        seen = page.evaluate("() => window.__firstSeen")
        chunks = page.evaluate(
            "big => performance.getEntriesByType('resource').filter(r => r.name.endsWith('.js') && r.encodedBodySize > big)"
            ".map(r => [r.name.split('/').pop().split('.')[0], Math.round(r.startTime), Math.round(r.responseEnd), r.encodedBodySize])",
            BIG_CHUNK)
        timeline.append({"total_ms": round(elapsed * 1000), "attached_ms": round(attached * 1000), **{f"{k}_ms": round(v) for k, v in seen.items()}, "big_js": chunks})
    context.close()
    return elapsed


def desa_layer() -> Path:
    """Simplify the desa layer once with the boundaries stage's function; slim it to id + geometry."""
    from analysis.etl.boundaries import LayerSpec, read_layer
    from analysis.etl.geometry import simplify_for_web

    target = OUT / f"desa_web_{DESA_TOLERANCE}_{DESA_DECIMALS}.geojson"
    if target.exists():
        return target
    mirror = config.mirror_dir()
    path = mirror / "scale" / "jabar_banten_desa.geojson"
    layer = read_layer(path, LayerSpec("desa", {"kode_kemendagri": "kode_kemendagri", "nama": "name"}, expected_count=7509))
    # A regional map of 7,509 units is read at ~1:1,000,000: a 0.004-degree (~400 m) tolerance and 4 decimals
    # (~11 m) keep every desa recognisable and bring the payload under the 3 MB target (0.0015 and 5
    # decimals, the DKI defaults, give 3.8 MB of GeoJSON alone).
    web = simplify_for_web(layer.data, tolerance=DESA_TOLERANCE, decimals=DESA_DECIMALS)
    features = [
        {"type": "Feature", "id": code, "properties": {}, "geometry": json.loads(json.dumps(geom.__geo_interface__))}
        for code, geom in zip(web["kode_kemendagri"], web.geometry)
    ]
    target.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")), encoding="utf-8")
    return target


def desa_render(browser, desa_app: Path, desa_geojson: Path, runs: int) -> dict:
    """The 7,509 desa map: navigation until the canvas has painted, median of ``runs`` after one warm-up."""
    with streamlit_server(desa_app, None) as (desa_url, _):
        timed = []
        payload = None
        for i in range(runs + 1):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(desa_url + "/")
            wait_rendered(page, 120_000)
            page.wait_for_function(canvas_drawn_js(), timeout=120_000, polling=50)
            if i:  # the first run computes the cached figure on the server
                timed.append(time.perf_counter() - t0)
            payload = page.locator('[data-testid="stCaptionContainer"]').inner_text()
            context.close()
    return {"desa_features": 7509, "desa_render_s": median(timed), "desa_payload_bytes": int(payload.split()[1]),
            "desa_geojson_bytes": desa_geojson.stat().st_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=None, help="DIGIDIV_DATA holding processed/ (default: data/)")
    parser.add_argument("--skip-desa", action="store_true", help="leave out the 7,509-desa rendering (needs the mirror)")
    args = parser.parse_args()
    data_dir = args.data or config.data_dir()
    if not (data_dir / "processed" / "build_report.json").exists():
        print(f"no build in {data_dir}/processed: run python -m analysis build first", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    bare = OUT / "bare_app.py"
    bare.write_text(BARE_APP, encoding="utf-8")
    if not args.skip_desa:
        desa_geojson = desa_layer()
        desa_app = OUT / "desa_app.py"
        desa_app.write_text(DESA_APP % ("canvas", str(desa_geojson)), encoding="utf-8")

    from playwright.sync_api import sync_playwright

    result: dict = {"runs": args.runs}
    # 1. server start to healthy
    starts, bare_starts = [], []
    for _ in range(args.runs):
        with streamlit_server(ROOT / "dashboard.py", data_dir) as (_, t):
            starts.append(t)
        with streamlit_server(bare, None) as (_, t):
            bare_starts.append(t)
    result["server_start_s"] = median(starts)
    result["bare_server_start_s"] = median(bare_starts)

    with sync_playwright() as p:
        browser = launch_chromium(p)
        info: dict = {}
        with streamlit_server(ROOT / "dashboard.py", data_dir, info=info) as (url, _), streamlit_server(bare, None) as (bare_url, _):
            # 2. first visit (one untimed warm-up each, then fresh contexts)
            timed_visit(browser, url + "/", *OVERVIEW_DRAWN)
            timed_visit(browser, bare_url + "/", *BARE_DRAWN)
            visits, bare_visits, timeline, bare_timeline = [], [], [], []
            for _ in range(args.runs):
                visits.append(timed_visit(browser, url + "/", *OVERVIEW_DRAWN, timeline=timeline))
                bare_visits.append(timed_visit(browser, bare_url + "/", *BARE_DRAWN, timeline=bare_timeline))
            result["first_visit_s"] = median(visits)
            result["bare_first_visit_s"] = median(bare_visits)
            result["first_visit_ratio"] = result["first_visit_s"] / result["bare_first_visit_s"]
            # the same up to "in the DOM" only (no paint wait), the measure of the passes before
            result["first_visit_attached_s"] = median([v["attached_ms"] for v in timeline]) / 1000
            result["bare_first_visit_attached_s"] = median([v["attached_ms"] for v in bare_timeline]) / 1000
            result["first_visit_attached_ratio"] = result["first_visit_attached_s"] / result["bare_first_visit_attached_s"]
            # what the first visit waited for: median time to each element, and the big chunks of the last visit
            result["first_visit_timeline_ms"] = {k: median([v[k] for v in timeline if k in v]) for k in timeline[0] if k.endswith("_ms")}
            result["bare_first_visit_timeline_ms"] = {k: median([v[k] for v in bare_timeline if k in v]) for k in bare_timeline[0] if k.endswith("_ms")}
            result["first_visit_big_js"] = timeline[-1]["big_js"]
            result["bare_first_visit_big_js"] = bare_timeline[-1]["big_js"]

            # 3. page switch through the sidebar navigation
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(url + "/")
            wait_rendered(page, 60_000)
            nav = page.locator('[data-testid="stSidebarNav"]')
            switches = []
            for i in range(args.runs * 2):
                target, title = ("Metodologi", "Metodologi") if i % 2 == 0 else ("Ringkasan", "Siapa yang tertinggal")
                t0 = time.perf_counter()
                nav.get_by_text(target, exact=True).click()
                page.wait_for_function("t => { const h = document.querySelector('h1'); return h && h.innerText.startsWith(t); }", arg=title, timeout=60_000)
                wait_rendered(page, 60_000)
                switches.append(time.perf_counter() - t0)
            result["page_switch_s"] = median(switches)

            # 4. map: payload and indicator change
            frames: list[int] = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
            page.goto(url + "/peta?indicator=hh_internet")
            wait_rendered(page, 60_000)
            page.wait_for_selector(KELURAHAN_DRAWN, state="attached", timeout=60_000)
            result["map_ws_bytes"] = sum(frames)
            result["map_spec_bytes"] = max(frames)  # the map element's delta: the Vega-Lite spec with its GeoJSON
            labels = {"hh_internet": "Rumah tangga yang mengakses internet", "jaki_aware": "Responden yang mengetahui aplikasi JAKI"}
            changes, changes_drawn = [], []
            current = "hh_internet"
            for _ in range(args.runs):
                nxt = "jaki_aware" if current == "hh_internet" else "hh_internet"
                box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(0)
                box.click()
                page.keyboard.type(labels[nxt][:25])
                before = page.evaluate(MAP_FILLS)
                t0 = time.perf_counter()
                page.keyboard.press("Enter")
                # the map shows the new values when its shapes' fill colours change (Vega redraws in one go)
                page.wait_for_function(f"b => ({MAP_FILLS})() !== b", arg=before, timeout=60_000)
                changes.append(time.perf_counter() - t0)
                wait_rendered(page, 60_000)
                page.wait_for_selector(KELURAHAN_DRAWN, state="attached", timeout=60_000)
                changes_drawn.append(time.perf_counter() - t0)
                current = nxt
            result["map_indicator_change_s"] = median(changes)
            result["map_indicator_change_drawn_s"] = median(changes_drawn)
            context.close()
            result["dashboard_server_peak_rss_mb"] = peak_rss_mb(info["pid"])

        # 5. the 7,509 desa
        if not args.skip_desa:
            result.update(desa_render(browser, desa_app, desa_geojson, args.runs))
        browser.close()

    (OUT / "dashboard.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
