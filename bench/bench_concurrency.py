"""Concurrency: 20 browser sessions open the map page at once and 5 of them then upload a kampung export.

Issue 6 check: all sessions succeed (the map drawn, each upload's comparison shown for *its own* kampung, no
exception on any page); p50 and p95 page-ready times written down (target p95 <= 5 s on this 2-core machine).

Set-up (loopback only, nothing fetched): one ``streamlit run dashboard.py`` on 127.0.0.1 and one headless Debian
Chromium (``/usr/bin/chromium``, Playwright's async API), all sessions started together (``asyncio.gather``):
``--contexts separate`` gives each session a fresh browser context (20 browsers with empty caches, all on the
server's 2 cores), ``--contexts shared`` opens 20 tabs of one context warmed by one visit (one browser's
cache). ``--bare`` first times the same arrival on a bare one-page Streamlit app (title + metric): the floor
this machine sets before any dashboard code runs. Data: ``--data DIR`` (a directory holding ``processed/`` from a full build), or by
default the full build (``analysis.build.run_build``) of ``data/raw`` into a temporary directory. The 5 uploads
alternate between two one-kelurahan kampung exports (Tengah and Gedong, ~45 households each) cut from a
SYNTHETIC demo survey generated with another seed (``tests/pages/kampung_support.py``).

Times (per session, wall clock from the moment all sessions are released):
- *map ready*: ``page.goto(/peta)`` until the script run has finished and the choropleth is in the DOM;
- *upload ready*: from choosing the files on the Upload page until the comparison is rendered.

Usage: ``.venv/bin/python bench/bench_concurrency.py --runs 3 [--sessions 20 --uploads 5] [--data DIR]``.
Prints a Markdown table row set; append it to ``bench/RESULTS.md`` by hand (``--append`` does it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_load import percentile  # noqa: E402  (one linear-interpolation percentile for both benchmarks)

from tests.browser.server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.pages import kampung_support as ks  # noqa: E402
from ui import i18n  # noqa: E402

RENDERED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
STATUS = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
MAP_DRAWN = '[data-testid="stVegaLiteChart"] svg.marks path[aria-label*="(31."]'  # the map's shapes are drawn
BARE_APP = '''import streamlit as st
st.set_page_config(layout="wide")
st.title("Bare one-page app")
st.metric("A number", "95,4%")
'''


def prepare_data(tmp: Path, data: Path | None) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """The data dir to serve (``data``, else the full build of ``data/raw`` into ``tmp``) and the two kampung
    exports (Tengah and Gedong from a demo survey generated with another seed than the build's demo)."""
    demo = ks.generate_demo(tmp / "demo", seed=7)
    uploads = {code: ks.split_export(demo, code)[1] for code in (ks.KAMPUNG_CODE, ks.OTHER_KAMPUNG_CODE)}
    if data is None:
        from analysis.build import run_build

        data = tmp / "data"
        run_build(raw=ROOT / "data" / "raw", processed=data / "processed")
    return data, uploads


def start_server(data: Path, log: Path, script: Path = ROOT / "dashboard.py"):
    """The dashboard (or ``script``) on a free loopback port, started the way ``bench_load`` starts it."""
    import bench_load

    return bench_load.start_server(script, log, data)


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def session(browser, url: str, i: int, upload: tuple[str, dict[str, bytes]] | None, t0_event: asyncio.Event, t0: list, shared=None):
    ctx = shared or await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    result = {"session": i, "ok": False}
    try:
        await t0_event.wait()
        start = time.perf_counter()
        await page.goto(f"{url}/peta?lang=en", timeout=300_000)
        await page.wait_for_selector(RENDERED, timeout=300_000)
        await page.wait_for_selector(STATUS, state="detached", timeout=300_000)
        result["script_done"] = time.perf_counter() - start  # the server finished the run; the browser may still draw
        await page.wait_for_selector(MAP_DRAWN, state="attached", timeout=300_000)
        result["map_ready"] = time.perf_counter() - start
        result["map_from_release"] = time.perf_counter() - t0[0]
        if await page.locator(EXCEPTION).count():
            raise RuntimeError("exception on the map page")
        if upload is not None:
            code, files = upload
            await page.goto(f"{url}/unggah?lang=en", timeout=300_000)
            await page.get_by_text(i18n.translate("en", "upload.waiting")).wait_for(timeout=300_000)
            start = time.perf_counter()
            await page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                [{"name": n, "mimeType": "text/csv", "buffer": b} for n, b in files.items()])
            await page.get_by_text(i18n.translate("en", "upload.comparison")).wait_for(timeout=300_000)
            await page.wait_for_selector(RENDERED, timeout=300_000)
            await page.wait_for_selector(STATUS, state="detached", timeout=300_000)
            result["upload_ready"] = time.perf_counter() - start
            name = {ks.KAMPUNG_CODE: "Tengah", ks.OTHER_KAMPUNG_CODE: "Gedong"}[code]
            other = "Gedong" if name == "Tengah" else "Tengah"
            if await page.get_by_text(f"Kelurahan {name}").count() < 1 or await page.get_by_text(f"Kelurahan {other}").count():
                raise RuntimeError("upload result is not this session's kampung")
            if await page.locator(EXCEPTION).count():
                raise RuntimeError("exception on the upload page")
        result["ok"] = True
    except Exception as exc:  # noqa: BLE001 - recorded as a failed session
        result["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        await (page.close() if shared else ctx.close())
    return result


async def bare_session(browser, url: str, t0_event: asyncio.Event, shared=None) -> float:
    """The same arrival on a bare one-page Streamlit app: what 20 tabs cost this machine before any dashboard."""
    ctx = shared or await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    await t0_event.wait()
    start = time.perf_counter()
    await page.goto(url + "/", timeout=300_000)
    await page.wait_for_selector(RENDERED, timeout=300_000)
    await page.wait_for_selector('[data-testid="stMetricValue"]', timeout=300_000)
    elapsed = time.perf_counter() - start
    await (page.close() if shared else ctx.close())
    return elapsed


async def _shared_context(browser, url: str, path: str):
    """One browser context for every tab (``--contexts shared``), warmed by one visit so the tabs share its
    HTTP cache: like 20 tabs of one browser, rather than 20 browsers on one 2-core machine."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    await page.goto(url + path, timeout=300_000)
    await page.wait_for_selector(RENDERED, timeout=300_000)
    await page.close()
    return ctx


async def bare_run(url: str, sessions: int, contexts: str) -> list[float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        shared = await _shared_context(browser, url, "/") if contexts == "shared" else None
        release = asyncio.Event()
        tasks = [asyncio.create_task(bare_session(browser, url, release, shared)) for _ in range(sessions)]
        await asyncio.sleep(1.0)
        release.set()
        times = await asyncio.gather(*tasks)
        await browser.close()
    return list(times)


async def one_run(url: str, sessions: int, uploads: int, files: dict[str, dict[str, bytes]], contexts: str = "separate"):
    from playwright.async_api import async_playwright

    codes = sorted(files)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        shared = await _shared_context(browser, url, "/peta?lang=en") if contexts == "shared" else None
        release, t0 = asyncio.Event(), [0.0]
        uploaders = list(range(0, sessions, max(1, sessions // uploads)))[:uploads]
        upload_of = {i: (codes[k % len(codes)], files[codes[k % len(codes)]]) for k, i in enumerate(uploaders)}  # alternate kampung
        tasks = [asyncio.create_task(session(browser, url, i, upload_of.get(i), release, t0, shared)) for i in range(sessions)]
        await asyncio.sleep(1.0)  # contexts created
        t0[0] = time.perf_counter()
        release.set()
        results = await asyncio.gather(*tasks)
        await browser.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--uploads", type=int, default=5)
    ap.add_argument("--data", type=Path, default=None, help="a data dir holding processed/ (default: a small synthetic build)")
    ap.add_argument("--contexts", choices=["separate", "shared"], default="separate",
                    help="separate: a fresh browser context per session (20 browsers); shared: 20 tabs of one warmed context")
    ap.add_argument("--bare", action="store_true", help="also time the same arrival on a bare one-page app (the machine's floor)")
    ap.add_argument("--append", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_concurrency_") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        data, files = prepare_data(tmp, args.data)
        print(f"data prepared in {time.perf_counter() - t:.1f} s: {data}", flush=True)
        per_run = []
        for r in range(args.runs):
            if args.bare:
                bare_script = tmp / "bare_app.py"
                bare_script.write_text(BARE_APP, encoding="utf-8")
                bproc, burl = start_server(data, tmp / f"bare{r}.log", bare_script)
                try:
                    bare_times = asyncio.run(bare_run(burl, args.sessions, args.contexts))
                finally:
                    bproc.terminate()
                    bproc.wait(timeout=20)
                print(f"run {r + 1}: bare app, {args.sessions} sessions ({args.contexts} contexts): p50 {percentile(bare_times, 0.5):.2f} s, "
                      f"p95 {percentile(bare_times, 0.95):.2f} s", flush=True)
            proc, url = start_server(data, tmp / f"server{r}.log")
            try:
                results = asyncio.run(one_run(url, args.sessions, args.uploads, files, args.contexts))
                peak = peak_rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
            failed = [x for x in results if not x["ok"]]
            maps = [x["map_ready"] for x in results if "map_ready" in x]
            scripts = [x["script_done"] for x in results if "script_done" in x]
            ups = [x["upload_ready"] for x in results if "upload_ready" in x]
            run = {"p50_map": percentile(maps, 0.5), "p95_map": percentile(maps, 0.95), "max_map": max(maps, default=float("nan")),
                   "p50_script": percentile(scripts, 0.5), "p95_script": percentile(scripts, 0.95),
                   "p50_upload": percentile(ups, 0.5), "p95_upload": percentile(ups, 0.95), "ok": len(results) - len(failed),
                   "n": len(results), "uploads_ok": len(ups), "peak_rss_mb": peak, "failed": failed}
            per_run.append(run)
            print(f"run {r + 1}: {run['ok']}/{run['n']} sessions ok, uploads ok {run['uploads_ok']}/{args.uploads}; map ready p50 {run['p50_map']:.2f} s, "
                  f"p95 {run['p95_map']:.2f} s, max {run['max_map']:.2f} s (script done p50 {run['p50_script']:.2f} s, p95 {run['p95_script']:.2f} s); upload ready p50 {run['p50_upload']:.2f} s, p95 {run['p95_upload']:.2f} s; "
                  f"server peak RSS {peak:.0f} MB", flush=True)
            for f in failed:
                print("  failed:", f, flush=True)
    med = {k: statistics.median(r[k] for r in per_run) for k in ("p50_map", "p95_map", "max_map", "p50_script", "p95_script", "p50_upload", "p95_upload", "peak_rss_mb")}
    all_ok = all(r["ok"] == r["n"] and r["uploads_ok"] == args.uploads for r in per_run)
    cmd = f".venv/bin/python bench/bench_concurrency.py --runs {args.runs} --sessions {args.sessions} --uploads {args.uploads} --contexts {args.contexts}"
    lines = [
        f"| {args.sessions} sessions open the map, {args.uploads} then upload (median of {args.runs} runs) | "
        f"{med['p50_map']:.2f} s | {med['p95_map']:.2f} s | {med['max_map']:.2f} s | {med['p50_script']:.2f} s | {med['p95_script']:.2f} s | {med['p50_upload']:.2f} s | {med['p95_upload']:.2f} s | "
        f"{med['peak_rss_mb']:.0f} MB | {'all' if all_ok else 'NOT all'} |",
    ]
    print(f"\ncommand: {cmd}\n" + "\n".join(lines))
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
