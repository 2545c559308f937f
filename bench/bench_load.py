"""Protocol-level load: N sessions arriving at once on a page, timed on the server's side (issue 16).

No browser: each session is a client that speaks Streamlit's websocket protocol itself (``websockets`` +
Streamlit's own protobuf classes), the way the browser does. It connects to ``ws://HOST/_stcore/stream`` with
the subprotocol ``streamlit``, sends a ``BackMsg.rerun_script`` with the page name and query string, and reads
``ForwardMsg`` s until ``script_finished``. Optionally it then changes the sidebar's indicator ``--changes``
times (a rerun with the selectbox's new widget state, as the browser sends it, including the hashes of the
large messages it already holds, ``cached_message_hashes``) and times each rerun the same way.

In the same run the script starts a bare one-page Streamlit app (title + metric, as in
``bench/bench_concurrency.py``) the same way and sends it the same arrivals: that is the floor this machine
sets (scripts of one server process run on threads under one GIL) before any dashboard code runs.

Reported per (app, N): p50 / p95 / max of the first run's time (connect to ``script_finished``, from the
moment all N sessions are released together), the same for the indicator changes, errors (connection
failures, timeouts, an ``st.exception`` element, a script that did not finish successfully), the server's CPU
seconds (user + system, ``psutil`` if installed, else ``/proc``) during the arrival and its peak RSS (sampled
every 50 ms during the arrival, and the process's ``VmHWM``).

Usage::

    .venv/bin/python bench/bench_load.py --sessions 10 50 100 --runs 3 [--changes 1] [--page peta]
    .venv/bin/python bench/bench_load.py --target ws://127.0.0.1:8080 --apps map --sessions 50
    .venv/bin/python bench/bench_load.py --profile bench/out/map_profile.pstats --apps map --sessions 50

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

try:
    import psutil
except ImportError:  # pragma: no cover - /proc fallback
    psutil = None

BARE_APP = '''import streamlit as st
st.set_page_config(layout="wide")
st.title("Bare one-page app")
st.metric("A number", "95,4%")
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


# --- server ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001
        return False


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


async def arrival(url: str, page: str, query: str, sessions: int, changes: int, timeout: float, pids: list[int]):
    """N sessions released together; returns their results and the servers' CPU / peak RSS meanwhile."""
    release, t0 = asyncio.Event(), [0.0]
    tasks = [asyncio.create_task(one_session(url, page, query, changes, release, t0, timeout)) for _ in range(sessions)]
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
    wall = time.perf_counter() - t0[0]
    done.set()
    await sampler
    cpu_by = [round(cpu_seconds(p) - c0, 2) for p, c0 in zip(pids, cpu0_by)]
    cpu = sum(cpu_by) if pids else float("nan")
    return results, {"wall": wall, "cpu_s": cpu, "client_cpu_s": time.process_time() - client0, "cpu_by_pid": cpu_by, "peak_rss_mb": peak[0],
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


async def measure(targets: list[Target], query: str, ns: list[int], runs: int, timeout: float, warm: int = 1) -> list[dict]:
    """For each N and each run, one arrival on every target in turn (bare app, then the map): so both see
    the same machine load, run by run."""
    for t in targets:  # untimed sessions fill the servers' caches (st.cache_data) and imports
        r, _ = await arrival(t.url, t.page, query, warm if t.label == "map" else 1, t.changes, timeout, t.pids)
        if not all(x["ok"] for x in r):
            raise RuntimeError(f"{t.label}: warm-up session failed: {[x.get('error') for x in r if not x['ok']][:1]}")
    medians = []
    for n in ns:
        per_run: dict[str, list[dict]] = {t.label: [] for t in targets}
        for k in range(runs):
            for t in targets:
                load = os.getloadavg()[0]
                results, server = await arrival(t.url, t.page, query, n, t.changes, timeout, t.pids)
                s = summarise(t.label, n, results, server)
                s["load_avg"] = load
                per_run[t.label].append(s)
                print(f"  {t.label} N={n} run {k + 1}: first p95 {s['first_p95']:.2f} s, change p95 "
                      f"{s['change_p95']:.2f} s, ok {s['ok']}/{n}, cpu {s['cpu_s']:.1f} s, rss "
                      f"{s['peak_rss_mb']:.0f} MB, load avg {load:.1f}"
                      + (f", cpu by process {s['cpu_by_pid']}" if len(t.pids) > 1 else "")
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
    ap.add_argument("--apps", nargs="+", default=["bare", "map"], choices=["bare", "map"])
    ap.add_argument("--data", type=Path, help="DIGIDIV_DATA for the dashboard (default: its own default)")
    ap.add_argument("--target", help="a running server / proxy for the map (http:// or ws:// on 127.0.0.1)")
    ap.add_argument("--server-pids", type=int, nargs="*", default=[], help="with --target: processes to measure")
    ap.add_argument("--profile", type=Path, help="profile every dashboard script run (cProfile) into this file")
    ap.add_argument("--option", action="append", default=[],
                    help="a Streamlit config option for the servers started here, e.g. runner.postScriptGC=false")
    ap.add_argument("--warm", type=int, default=1,
                    help="untimed warm-up sessions on the map first (through a proxy: enough to reach every backend)")
    ap.add_argument("--timeout", type=float, default=180.0, help="per-step timeout (s)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "load.json")
    args = ap.parse_args(argv)
    if max(args.sessions) > 500 or args.runs > 10 or args.changes > 10:
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
                if app == "bare":
                    script = tmp / "bare_app.py"
                    script.write_text(BARE_APP, encoding="utf-8")
                    proc, url = start_server(script, tmp / "bare.log", None, options=args.option)
                    # one page, no sidebar: first runs only (a rerun of it is cheaper still)
                    targets.append(Target("bare", ws_url(url), "", 0, [proc.pid]))
                else:
                    proc, url = start_server(ROOT / "dashboard.py", tmp / "map.log", args.data, args.profile,
                                             options=args.option)
                    targets.append(Target("map", ws_url(url), args.page, args.changes, [proc.pid]))
                procs.append(proc)
                print(f"{app}: {url} pid {proc.pid}", flush=True)
            rows = asyncio.run(measure(targets, args.query, args.sessions, args.runs, args.timeout, args.warm))
        finally:
            for proc in procs:
                stop_server(proc)
    print()
    print(f"sessions {args.sessions}, median of {args.runs} runs, {args.changes} indicator change(s) per map session")
    print(HEADER)
    for r in rows:
        print(fmt_row(r))
    bare = {r["sessions"]: r for r in rows if r["app"] == "bare"}
    for r in rows:
        if r["app"] == "map" and r["sessions"] in bare:
            b = bare[r["sessions"]]
            print(f"N={r['sessions']}: map first-run p95 / bare p95 = {r['first_p95'] / b['first_p95']:.2f}x")
    args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
