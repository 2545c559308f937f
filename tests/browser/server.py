"""Start ``streamlit run dashboard.py`` on a free localhost port, and wait helpers for a rendered page.

Shared by the browser tests and ``bench/bench_dashboard.py``. Chromium is Debian's (``/usr/bin/chromium``,
installed by ``bash scripts/setup.sh --test``), driven by Playwright for Python; never ``playwright install``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:  # noqa: S310 (localhost)
            return resp.status == 200
    except OSError:
        return False


@contextmanager
def streamlit_server(script: Path, data_dir: Path | None, timeout: float = 60.0, log_path: Path | None = None, info: dict | None = None):
    """Yield ``(url, seconds_to_healthy)`` for a server running ``script``; stop it afterwards.

    ``info`` (optional) receives the server's ``pid`` (benchmarks read its peak memory)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if data_dir is not None:
        env["DIGIDIV_DATA"] = str(data_dir)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--global.developmentMode", "false",
    ]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if info is not None:
        info["pid"] = proc.pid
    try:
        while not healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode} (log: {log_path})")
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"streamlit not healthy after {timeout} s")
            time.sleep(0.02)
        yield url, time.perf_counter() - start
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_path:
            log.close()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_rendered(page, timeout: float = 30_000) -> None:
    """Wait until the script run finished: the app reports ``notRunning`` and the status widget is gone."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
