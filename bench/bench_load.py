"""Protocol-level load: N sessions arriving at once on a page, timed on the server's side (issue 16).

No browser: each session is a client that speaks Streamlit's websocket protocol itself (``websockets`` +
Streamlit's own protobuf classes), the way the browser does. It connects to ``ws://HOST/_stcore/stream`` with
the subprotocol ``streamlit``, sends a ``BackMsg.rerun_script`` with the page name and query string, and reads
``ForwardMsg`` s until ``script_finished``. Optionally it then changes the sidebar's indicator ``--changes``
times (a rerun with the selectbox's new widget state, as the browser sends it, including the hashes of the
large messages it already holds, ``cached_message_hashes``) and times each rerun the same way.

In the same run the script starts a bare one-page Streamlit app (title + metric, as in
``bench/bench_concurrency.py``) the same way and sends it the same arrivals: that is the floor this machine
sets (scripts of one server process run on threads under one GIL) before any dashboard code runs. With
``--apps bare skeleton map`` it also starts ``SKELETON_APP``: the map page's Streamlit elements (sidebar,
banner, controls, chart, download, share box) with fixed contents and none of the dashboard's code, which
changes its indicator as the map does: what Streamlit itself costs for that page, so ``map / skeleton`` is
what the dashboard's own code adds.

Reported per (app, N): p50 / p95 / max of the first run's time (connect to ``script_finished``, from the
moment all N sessions are released together), the same for the indicator changes, errors (connection
failures, timeouts, an ``st.exception`` element, a script that did not finish successfully), the server's CPU
seconds (user + system, ``psutil`` if installed, else ``/proc``) during the arrival and its peak RSS (sampled
every 50 ms during the arrival, and the process's ``VmHWM``).

Usage::

    .venv/bin/python bench/bench_load.py --sessions 10 50 100 --runs 3 [--changes 1] [--page peta]
    .venv/bin/python bench/bench_load.py --target ws://127.0.0.1:8080 --apps map --sessions 50
    .venv/bin/python bench/bench_load.py --profile bench/out/map_profile.pstats --apps map --sessions 50

``--uploads K --upload-dir DIR`` adds, for each N and run, the same map arrival with K Upload-page sessions
released with it, each uploading the KoboToolbox export in DIR (main + ``-anggota`` CSV, and ``design.csv``
if present) the way the browser does: ``file_urls_request``, one multipart PUT per file to
``/_stcore/upload_file/<session>/<file>`` with the XSRF cookie and header, then a rerun with the uploaders'
widget states; *upload ready* is from the first PUT until the run that ingests the files has finished.

``--target URL`` (http:// or ws://) uses a running server or proxy (e.g. ``deploy/start.sh``) for the map
instead of starting one; its CPU and RSS are then those of the processes given with ``--server-pids`` (or
not measured). Each session sends a ``st_route`` cookie with its own id, as a browser would after its
first request through the proxy of ``deploy/``, which hashes it to pick a backend. ``--profile FILE`` starts the dashboard with every script run profiled by cProfile
on its own thread (``bench/profiled_streamlit.py``), stats written to FILE when the server stops.

Everything is on 127.0.0.1; every wait has a timeout (``--timeout``) and every loop a fixed count, so a run
always ends by itself. The dashboard needs a build (``DIGIDIV_DATA`` or ``data/``, or ``--data DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tests.browser.server import free_port, healthy  # noqa: E402  (one way to find a port and probe a server)

try:
    import psutil
except ImportError:  # pragma: no cover - /proc fallback
    psutil = None

BARE_APP = '''import streamlit as st
st.set_page_config(layout="wide")
st.title("Bare one-page app")
st.metric("A number", "95,4%")
'''
# The map page's elements with nothing of the dashboard's own code: the same sidebar (language radio, the
# indicator list, the 267-kelurahan search), banner, title, layer control, heading block, an interactive
# Vega-Lite chart reading its data from a URL, deferred PNG download, table toggle and share box, with
# fixed contents of about the same size. What Streamlit itself costs for such a page, measured in the same
# run: the floor for the map page, as the bare app is the floor for any page.
SKELETON_APP = '''import streamlit as st
st.set_page_config(layout="wide")
kel = {f"31.7{i // 45}.{i % 45:02d}.100{i % 7}": f"Kelurahan {i:03d} Sukamaju, Kec. {i // 10:02d} (Jakarta Timur)" for i in range(267)}
ind = [f"indicator_{i:02d}" for i in range(22)]
with st.sidebar:
    st.radio("Language", ["id", "en"], format_func=str.upper, horizontal=True, key="w_lang")
    st.selectbox("Indicator", ind, format_func=lambda i: "Households with internet access " + i, key="w_indicator")
    st.selectbox("Kelurahan", list(kel), format_func=lambda c: kel.get(c, c), index=None, placeholder="Type a name",
                 key="w_kel", help="Search a kelurahan to open its profile")
st.warning("SYNTHETIC SURVEY: a demo survey, not real respondents. " * 4, icon=":material/science:")
st.title("Map of the kelurahan")
mode = st.segmented_control("Show", ["direct", "sae", "gap", "real"], default="sae", key="map_mode", help="Which layer " * 10)
st.html("<style>.h{font-size:1.75rem}</style><h3 class=h>Households with internet access: small-area estimate</h3>"
        "<p>Choose an indicator in the sidebar. Click a kelurahan on the map to open its profile.</p>"
        "<p>" + "Every kelurahan gets a model-based estimate; grey: none. " * 8 + "</p>")
spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": "container", "height": 560,
        "params": [{"name": "pick", "select": {"type": "point", "fields": ["kode"], "on": "click"}}],
        "layer": [{"data": {"url": "app/static/skeleton-geometry.json", "format": {"property": "features"}},
                   "transform": [{"lookup": "properties.kode", "from": {"data": {"url": "app/static/skeleton-values.json"},
                                  "key": "kode", "fields": ["value", "status", "tip"]}}],
                   "layer": [{"mark": {"type": "geoshape", "stroke": "white", "strokeWidth": 0.5},
                              "encoding": {"color": {"field": "value", "type": "quantitative", "scale": {"scheme": "viridis"},
                                                     "legend": {"title": "Households with internet access", "format": ".0%"}},
                                           "tooltip": [{"field": "tip", "type": "nominal", "title": "Kelurahan"}]}}] * 5}],
        "config": {"view": {"stroke": None}, "font": "sans-serif", "legend": {"orient": "bottom-right"}}}
event = st.vega_lite_chart(spec, theme=None, width="stretch", key="map_chart", on_select="rerun", selection_mode="pick")
st.download_button("Download this map (PNG)", data=lambda: b"png", file_name="peta.png", mime="image/png",
                   icon=":material/image:", on_click="ignore", key="map_png")
st.toggle("Table of the values shown on the map", key="map_table", help="The same numbers as a table")
with st.sidebar.popover("Share this view", icon=":material/link:"):
    st.code("http://127.0.0.1/peta?page=peta&lang=en&indicator=" + str(st.session_state.get("w_indicator")) + "&layer=sae",
            language=None, wrap_lines=True)
    st.caption("The copy button at the right of the link copies it.")
'''
INDICATOR_KEY = "w_indicator"  # the sidebar's indicator selectbox (ui/sidebar.py); its element id ends in the key


def percentile(values, q):
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# --- protocol --------------------------------------------------------------------------------------------------


def rerun_msg(page_name: str, query_string: str, widgets=(), page_script_hash: str = "", cached_hashes=()) -> bytes:
    """A serialized ``BackMsg.rerun_script``: what the browser sends to (re)run the page's script."""
    msg = BackMsg()
    cs = msg.rerun_script
    cs.query_string = query_string
    cs.page_name = page_name
    if page_script_hash:
        cs.page_script_hash = page_script_hash
    cs.cached_message_hashes.extend(sorted(cached_hashes))
    cs.widget_states.SetInParent()
    for wid, value in widgets:
        ws = cs.widget_states.widgets.add()
        ws.id = wid
        ws.string_value = value
    return msg.SerializeToString()


@dataclass
class RunResult:
    """What one script run sent: enough to check it and to drive the next rerun."""

    status: int | None = None
    messages: int = 0
    bytes: int = 0
    exceptions: list[str] = field(default_factory=list)
    page_not_found: bool = False
    page_script_hash: str = ""
    selectboxes: dict[str, list[str]] = field(default_factory=dict)  # element id -> options (formatted)
    uploaders: list[str] = field(default_factory=list)  # st.file_uploader element ids
    texts: list[str] = field(default_factory=list)  # headings and alerts (first 120 characters)
    session_id: str = ""
    cached_hashes: set[str] = field(default_factory=set)
    element_types: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == ForwardMsg.FINISHED_SUCCESSFULLY and not self.exceptions and not self.page_not_found


def absorb(result: RunResult, raw: bytes) -> bool:
    """Parse one ForwardMsg into ``result``; True when it is the end of the run (``script_finished`` with a
    status other than FINISHED_EARLY_FOR_RERUN, after which Streamlit starts another run by itself)."""
    msg = ForwardMsg()
    msg.ParseFromString(raw)
    result.messages += 1
    result.bytes += len(raw)
    kind = msg.WhichOneof("type")
    if msg.metadata.cacheable and msg.hash:
        result.cached_hashes.add(msg.hash)
    if kind == "new_session":
        result.page_script_hash = msg.new_session.page_script_hash or result.page_script_hash
        result.session_id = msg.new_session.initialize.session_id or result.session_id
    elif kind == "page_info_changed":
        pass
    elif kind == "page_not_found":
        result.page_not_found = True
    elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        el = msg.delta.new_element
        etype = el.WhichOneof("type")
        result.element_types.append(etype)
        if etype == "exception":
            result.exceptions.append(f"{el.exception.type}: {el.exception.message[:200]}")
        elif etype == "selectbox":
            result.selectboxes[el.selectbox.id] = list(el.selectbox.options)
        elif etype == "file_uploader":
            result.uploaders.append(el.file_uploader.id)
        elif etype in ("heading", "alert"):
            result.texts.append(f"{etype}: {getattr(el, etype).body[:120]}")
    elif kind == "script_finished":
        result.status = msg.script_finished
        return msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
    return False


async def read_run(ws, timeout: float) -> RunResult:
    result = RunResult()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no script_finished within the timeout")
        raw = await asyncio.wait_for(ws.recv(), timeout=left)
        if isinstance(raw, str):
            continue
        if absorb(result, raw):
            return result


def ws_url(target: str) -> str:
    parts = urlsplit(target)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--target must be on the loopback interface, not {parts.hostname}")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"


async def one_session(url: str, page: str, query: str, changes: int, release: asyncio.Event, t0: list[float],
                      timeout: float) -> dict:
    import websockets

    out = {"ok": False, "changes": []}
    sid = uuid.uuid4().hex
    await release.wait()
    start = time.perf_counter()
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout, ping_interval=None,
                                      additional_headers={"Cookie": f"st_route={sid}"}, compression=None) as ws:
            await ws.send(rerun_msg(page, query))
            first = await read_run(ws, timeout)
            out["first"] = time.perf_counter() - start
            out["from_release"] = time.perf_counter() - t0[0]
            out["first_bytes"] = first.bytes
            if not first.ok:
                raise RuntimeError(f"first run: status {first.status}, exceptions {first.exceptions[:1]}, "
                                   f"page_not_found {first.page_not_found}")
            cached = set(first.cached_hashes)
            sel = next(((i, o) for i, o in first.selectboxes.items() if i.endswith(INDICATOR_KEY)), None)
            if changes and sel is None:
                raise RuntimeError("no indicator selectbox on the page")
            for k in range(changes):
                wid, options = sel
                value = options[(k + 1 + hash(sid)) % len(options)]
                t = time.perf_counter()
                await ws.send(rerun_msg(page, query, [(wid, value)], cached_hashes=cached))
                rerun = await read_run(ws, timeout)
                out["changes"].append(time.perf_counter() - t)
                cached |= rerun.cached_hashes
                if not rerun.ok:
                    raise RuntimeError(f"rerun: status {rerun.status}, exceptions {rerun.exceptions[:1]}")
            out["ok"] = True
    except Exception as exc:  # noqa: BLE001 - a failed session is a result
        out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out


def _http(method: str, url: str, headers: dict, body: bytes | None = None, timeout: float = 60.0):
    import urllib.request

    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get_all("Set-Cookie") or []


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def upload_session(url: str, files: dict[str, bytes], design: bytes | None, release: asyncio.Event,
                         timeout: float) -> dict:
    """One visitor on the Upload page: the page's first run, then the export uploaded the way the browser does
    it (``file_urls_request`` over the websocket, one multipart PUT per file to ``/_stcore/upload_file/...``
    with the XSRF cookie and header, then a rerun with the uploaders' widget states), timed from the first
    PUT until the run that ingests it finishes. Does not change the upload code: it only drives the page."""
    import websockets

    out = {"ok": False}
    sid = uuid.uuid4().hex
    http_base = url.replace("ws://", "http://").rsplit("/_stcore/stream", 1)[0]
    await release.wait()
    start = time.perf_counter()
    try:
        # the XSRF cookie, as the browser gets it with the page
        _, cookies = await asyncio.to_thread(_http, "GET", http_base + "/_stcore/health", {"Cookie": f"st_route={sid}"})
        xsrf = next(c.split(";", 1)[0].split("=", 1)[1] for c in cookies if c.startswith("_streamlit_xsrf="))
        cookie = f"st_route={sid}; _streamlit_xsrf={xsrf}"
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout,
                                      ping_interval=None, additional_headers={"Cookie": cookie}, compression=None) as ws:
            await ws.send(rerun_msg("unggah", "lang=en"))
            first = await read_run(ws, timeout)
            if not first.ok or len(first.uploaders) < 1 or not first.session_id:
                raise RuntimeError(f"upload page: status {first.status}, uploaders {first.uploaders}")
            out["page"] = time.perf_counter() - start
            t = time.perf_counter()
            names = list(files) + (["design.csv"] if design is not None else [])
            msg = BackMsg()
            req_id = uuid.uuid4().hex
            msg.file_urls_request.request_id = req_id
            msg.file_urls_request.session_id = first.session_id
            msg.file_urls_request.file_names.extend(names)
            await ws.send(msg.SerializeToString())
            urls = None
            deadline = time.monotonic() + timeout
            while urls is None:
                fm = ForwardMsg()
                fm.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic())))
                if fm.WhichOneof("type") == "file_urls_response" and fm.file_urls_response.response_id == req_id:
                    urls = list(fm.file_urls_response.file_urls)
            infos = []
            for name, fu in zip(names, urls):
                data = files.get(name, design)
                body, ctype = _multipart(name, data)
                status, _ = await asyncio.to_thread(_http, "PUT", http_base + fu.upload_url, {
                    "Cookie": cookie, "X-Xsrftoken": xsrf, "Content-Type": ctype}, body, timeout)
                if status not in (200, 204):
                    raise RuntimeError(f"upload PUT {status}")
                infos.append((name, len(data), fu))
            out["put"] = time.perf_counter() - t
            rerun = BackMsg()
            cs = rerun.rerun_script
            cs.page_name, cs.query_string = "unggah", "lang=en"
            main_id = next(i for i in first.uploaders if i.endswith("upload_files"))
            design_id = next((i for i in first.uploaders if i.endswith("upload_design")), None)
            for wid, chosen in ((main_id, [x for x in infos if x[0] != "design.csv"]),
                                (design_id, [x for x in infos if x[0] == "design.csv"])):
                if wid is None or not chosen:
                    continue
                w = cs.widget_states.widgets.add()
                w.id = wid
                for name, size, fu in chosen:
                    info = w.file_uploader_state_value.uploaded_file_info.add()
                    info.name, info.size, info.file_id = name, size, fu.file_id
                    info.file_urls.CopyFrom(fu)
            await ws.send(rerun.SerializeToString())
            done = await read_run(ws, timeout)
            out["upload_ready"] = time.perf_counter() - t
            out["elements"] = len(done.element_types)
            out["texts"] = done.texts
            if not done.ok:
                raise RuntimeError(f"upload run: status {done.status}, exceptions {done.exceptions[:1]}")
            out["ok"] = True
    except Exception as exc:  # noqa: BLE001 - a failed upload is a result
        out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out


# --- server ----------------------------------------------------------------------------------------------------


def start_server(script: Path, log: Path, data: Path | None, profile: Path | None = None, port: int | None = None,
                 options: list[str] = ()):
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if data is not None:
        env["DIGIDIV_DATA"] = str(data)
    runner = [sys.executable, str(ROOT / "bench" / "profiled_streamlit.py"), str(profile)] if profile else \
        [sys.executable, "-m", "streamlit"]
    cmd = runner + ["run", str(script), "--server.port", str(port), "--server.address", "127.0.0.1",
                    "--server.headless", "true", "--browser.gatherUsageStats", "false",
                    "--server.fileWatcherType", "none", "--global.developmentMode", "false"]
    for opt in options:  # e.g. runner.postScriptGC=false
        name, _, value = opt.partition("=")
        cmd += [f"--{name}", value]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    start = time.perf_counter()
    while not healthy(url):
        if proc.poll() is not None or time.perf_counter() - start > 90:
            proc.kill()
            raise RuntimeError(f"streamlit did not start (log: {log})")
        time.sleep(0.05)
    return proc, url


def stop_server(proc) -> None:
    proc.terminate()  # SIGTERM: streamlit shuts down cleanly (and the profiled runner writes its stats)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    if psutil is not None:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    if psutil is not None:
        return psutil.Process(pid).memory_info().rss / 2**20
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- a measured arrival ----------------------------------------------------------------------------------------


async def arrival(url: str, page: str, query: str, sessions: int, changes: int, timeout: float, pids: list[int],
                  uploads: int = 0, upload_files: dict | None = None, design: bytes | None = None,
                  upload_lead: float = 0.0):
    """N sessions released together (and ``uploads`` upload sessions with them); returns their results and the
    servers' CPU / peak RSS meanwhile."""
    release, t0, up_release = asyncio.Event(), [0.0], asyncio.Event()
    tasks = [asyncio.create_task(one_session(url, page, query, changes, release, t0, timeout)) for _ in range(sessions)]
    up_tasks = [asyncio.create_task(upload_session(url, upload_files, design, up_release, timeout)) for _ in range(uploads)]
    if up_tasks:  # the uploads start first, so that the sessions arrive while the exports are being ingested
        await asyncio.sleep(0.2)
        up_release.set()
        await asyncio.sleep(upload_lead)
    await asyncio.sleep(0.2)
    cpu0_by = [cpu_seconds(p) for p in pids]
    client0 = time.process_time()
    peak = [sum(rss_mb(p) for p in pids)] if pids else [float("nan")]
    done = asyncio.Event()

    async def sample():
        while not done.is_set():
            if pids:
                peak[0] = max(peak[0], sum(rss_mb(p) for p in pids))
            try:
                await asyncio.wait_for(done.wait(), 0.05)
            except TimeoutError:
                pass

    sampler = asyncio.create_task(sample())
    t0[0] = time.perf_counter()
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout * (changes + 2) + 30)
    up_results = await asyncio.wait_for(asyncio.gather(*up_tasks), timeout=timeout * 3 + 30) if up_tasks else []
    wall = time.perf_counter() - t0[0]
    done.set()
    await sampler
    cpu_by = [round(cpu_seconds(p) - c0, 2) for p, c0 in zip(pids, cpu0_by)]
    cpu = sum(cpu_by) if pids else float("nan")
    if up_tasks:
        ok = [u for u in up_results if u["ok"]]
        extra = {"uploads_ok": len(ok), "upload_p50": statistics.median([u["upload_ready"] for u in ok]) if ok else float("nan"),
                 "upload_max": max([u["upload_ready"] for u in ok], default=float("nan")),
                 "upload_errors": [u["error"] for u in up_results if not u["ok"]][:2]}
    else:
        extra = {}
    return results, {**extra, "wall": wall, "cpu_s": cpu, "client_cpu_s": time.process_time() - client0, "cpu_by_pid": cpu_by, "peak_rss_mb": peak[0],
                     "hwm_mb": sum(hwm_mb(p) for p in pids) if pids else float("nan")}


def summarise(app: str, sessions: int, results: list[dict], server: dict) -> dict:
    ok = [r for r in results if r["ok"]]
    firsts = [r["first"] for r in ok]
    changes = [c for r in ok for c in r["changes"]]
    errors = [r["error"] for r in results if not r["ok"]]
    return {
        "app": app, "sessions": sessions, "ok": len(ok), "errors": len(errors), "error_samples": errors[:3],
        "first_p50": statistics.median(firsts) if firsts else float("nan"),
        "first_p95": percentile(firsts, 0.95), "first_max": max(firsts, default=float("nan")),
        "change_p50": statistics.median(changes) if changes else float("nan"),
        "change_p95": percentile(changes, 0.95), "change_max": max(changes, default=float("nan")),
        "first_kb": statistics.median([r["first_bytes"] for r in ok]) / 1024 if ok else float("nan"),
        **server,
    }


def fmt_row(s: dict) -> str:
    def f(x, spec=".2f"):
        return "–" if x != x else format(x, spec)

    return (f"| {s['app']} | {s['sessions']} | {s['ok']}/{s['sessions']} | {f(s['first_p50'])} | {f(s['first_p95'])} | "
            f"{f(s['first_max'])} | {f(s['change_p50'])} | {f(s['change_p95'])} | {f(s['cpu_s'], '.1f')} | "
            f"{f(s['peak_rss_mb'], '.0f')} | {f(s['first_kb'], '.0f')} | {f(s['client_cpu_s'], '.1f')} |")


HEADER = ("| app | N | ok | first run p50 (s) | p95 | max | indicator change p50 (s) | p95 | server CPU (s) | "
          "peak RSS (MB) | first run KB | client CPU (s) |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def median_of(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    out = dict(runs[0])
    for k in keys:
        vals = [r[k] for r in runs if r[k] == r[k]]
        out[k] = statistics.median(vals) if vals else float("nan")
    out["ok"] = min(r["ok"] for r in runs)
    out["errors"] = max(r["errors"] for r in runs)
    return out


@dataclass
class Target:
    label: str
    url: str
    page: str
    changes: int
    pids: list[int]
    uploads: int = 0
    upload_files: dict | None = None
    design: bytes | None = None
    upload_lead: float = 0.0


async def measure(targets: list[Target], query: str, ns: list[int], runs: int, timeout: float, warm: int = 1) -> list[dict]:
    """For each N and each run, one arrival on every target in turn (bare app, then the map): so both see
    the same machine load, run by run."""
    for t in targets:  # untimed sessions fill the servers' caches (st.cache_data) and imports
        if t.uploads:
            continue
        r, _ = await arrival(t.url, t.page, query, warm if t.label != "bare" else 1, t.changes, timeout, t.pids)
        if not all(x["ok"] for x in r):
            raise RuntimeError(f"{t.label}: warm-up session failed: {[x.get('error') for x in r if not x['ok']][:1]}")
    medians = []
    for n in ns:
        per_run: dict[str, list[dict]] = {t.label: [] for t in targets}
        for k in range(runs):
            for t in targets:
                load = os.getloadavg()[0]
                results, server = await arrival(t.url, t.page, query, n, t.changes, timeout, t.pids,
                                                t.uploads, t.upload_files, t.design, t.upload_lead)
                s = summarise(t.label, n, results, server)
                s["load_avg"] = load
                per_run[t.label].append(s)
                print(f"  {t.label} N={n} run {k + 1}: first p95 {s['first_p95']:.2f} s, change p95 "
                      f"{s['change_p95']:.2f} s, ok {s['ok']}/{n}, cpu {s['cpu_s']:.1f} s, rss "
                      f"{s['peak_rss_mb']:.0f} MB, load avg {load:.1f}"
                      + (f", cpu by process {s['cpu_by_pid']}" if len(t.pids) > 1 else "")
                      + (f", uploads ok {s['uploads_ok']}/{t.uploads}, upload p50 {s['upload_p50']:.2f} s, max "
                         f"{s['upload_max']:.2f} s {s['upload_errors']}" if t.uploads else "")
                      + (f", errors e.g. {s['error_samples'][0]}" if s["errors"] else ""), flush=True)
                await asyncio.sleep(1.0)
        for t in targets:
            m = median_of(per_run[t.label])
            m["runs"] = [{k: r[k] for k in ("first_p50", "first_p95", "change_p95", "cpu_s", "ok", "load_avg")}
                         for r in per_run[t.label]]
            medians.append(m)
    return medians


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--changes", type=int, default=1, help="indicator changes per session after the first run")
    ap.add_argument("--page", default="peta")
    ap.add_argument("--query", default="lang=en")
    ap.add_argument("--apps", nargs="+", default=["bare", "map"], choices=["bare", "skeleton", "map"],
                    help="skeleton: the map page's Streamlit elements without the dashboard's code (SKELETON_APP)")
    ap.add_argument("--data", type=Path, help="DIGIDIV_DATA for the dashboard (default: its own default)")
    ap.add_argument("--target", help="a running server / proxy for the map (http:// or ws:// on 127.0.0.1)")
    ap.add_argument("--server-pids", type=int, nargs="*", default=[], help="with --target: processes to measure")
    ap.add_argument("--profile", type=Path, help="profile every dashboard script run (cProfile) into this file")
    ap.add_argument("--option", action="append", default=[],
                    help="a Streamlit config option for the servers started here, e.g. runner.postScriptGC=false")
    ap.add_argument("--warm", type=int, default=1,
                    help="untimed warm-up sessions on the map first (through a proxy: enough to reach every backend)")
    ap.add_argument("--uploads", type=int, default=0,
                    help="also measure the map arrival with this many Upload-page sessions uploading --upload-dir")
    ap.add_argument("--upload-lead", type=float, default=0.0,
                    help="start the uploads this many seconds before the map sessions (to land in their ingest)")
    ap.add_argument("--upload-dir", type=Path, help="a KoboToolbox CSV export (main + -anggota, optional design.csv)")
    ap.add_argument("--timeout", type=float, default=180.0, help="per-step timeout (s)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "load.json")
    args = ap.parse_args(argv)
    if max(args.sessions) > 500 or args.runs > 10 or args.changes > 10 or args.uploads > 20:
        raise SystemExit("bounded: at most 500 sessions, 10 runs, 10 changes")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            targets = []
            for app in args.apps:
                if app == "map" and args.target:
                    targets.append(Target("map", ws_url(args.target), args.page, args.changes, args.server_pids))
                    continue
                if app in ("bare", "skeleton"):
                    script = tmp / f"{app}_app.py"
                    script.write_text(BARE_APP if app == "bare" else SKELETON_APP, encoding="utf-8")
                    proc, url = start_server(script, tmp / f"{app}.log", None, options=args.option)
                    # the bare app: one page, no sidebar: first runs only (a rerun of it is cheaper still); the
                    # skeleton changes its indicator as the map does
                    targets.append(Target(app, ws_url(url), "", 0 if app == "bare" else args.changes, [proc.pid]))
                else:
                    proc, url = start_server(ROOT / "dashboard.py", tmp / "map.log", args.data, args.profile,
                                             options=args.option)
                    targets.append(Target("map", ws_url(url), args.page, args.changes, [proc.pid]))
                procs.append(proc)
                print(f"{app}: {url} pid {proc.pid}", flush=True)
            if args.uploads:
                files = {p.name: p.read_bytes() for p in sorted(args.upload_dir.glob("*.csv"))
                         if p.name != "design.csv" and not p.name.startswith("truth")}
                design_path = args.upload_dir / "design.csv"
                mb = sum(len(b) for b in files.values()) / 1e6
                print(f"uploads: {args.uploads} x {sorted(files)} ({mb:.1f} MB) + design {design_path.exists()}")
                m = next(t for t in targets if t.label == "map")
                targets.append(Target("map+uploads", m.url, m.page, m.changes, m.pids, args.uploads, files,
                                      design_path.read_bytes() if design_path.exists() else None, args.upload_lead))
            rows = asyncio.run(measure(targets, args.query, args.sessions, args.runs, args.timeout, args.warm))
        finally:
            for proc in procs:
                stop_server(proc)
    print()
    print(f"sessions {args.sessions}, median of {args.runs} runs, {args.changes} indicator change(s) per map session")
    print(HEADER)
    for r in rows:
        print(fmt_row(r))
    by_app = {(r["app"], r["sessions"]): r for r in rows}
    for (app, n), r in by_app.items():
        for base in ("bare", "skeleton"):
            if app != base and app in ("map", "skeleton") and (base, n) in by_app:
                print(f"N={n}: {app} first-run p95 / {base} p95 = {r['first_p95'] / by_app[(base, n)]['first_p95']:.2f}x")
    args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
