"""``streamlit`` with every script run profiled (bench only): ``python bench/profiled_streamlit.py OUT run app.py ...``.

Streamlit runs each session's script on its own thread, which cProfile (per-thread) does not follow by
itself. This wraps ``ScriptRunner._run_script`` so each run is profiled on its thread with its own
``cProfile.Profile``; the runs are added together and written to ``OUT`` (a pstats file) when the server
stops (SIGTERM). The main thread (the event loop: websocket sends, the server's own serialisation of the
ForwardMsgs) is profiled as a whole into ``OUT.main``. Used by ``bench/bench_load.py --profile OUT``.
"""

from __future__ import annotations

import atexit
import cProfile
import pstats
import signal
import sys
import threading

out = sys.argv.pop(1)

from streamlit.runtime.scriptrunner import script_runner  # noqa: E402

_lock = threading.Lock()
_stats: list[pstats.Stats] = []
_runs = [0]
_original = script_runner.ScriptRunner._run_script


def _profiled_run_script(self, *args, **kwargs):
    prof = cProfile.Profile()
    prof.enable()
    try:
        return _original(self, *args, **kwargs)
    finally:
        prof.disable()
        with _lock:
            _runs[0] += 1
            if _stats:
                _stats[0].add(prof)
            else:
                _stats.append(pstats.Stats(prof))


script_runner.ScriptRunner._run_script = _profiled_run_script

# Garbage collector pauses, by generation (cProfile does not show them): count and seconds.
import gc  # noqa: E402
import time  # noqa: E402

_gc = {g: [0, 0.0] for g in range(3)}
_gc_start = [0.0]


def _gc_cb(phase, info):
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        _gc[info["generation"]][0] += 1
        _gc[info["generation"]][1] += time.perf_counter() - _gc_start[0]


gc.callbacks.append(_gc_cb)
main_prof = cProfile.Profile()


def _dump():
    main_prof.disable()
    with _lock:
        if _stats:
            _stats[0].dump_stats(out)
    main_prof.dump_stats(out + ".main")
    print(f"profiled {_runs[0]} script runs -> {out}", file=sys.stderr, flush=True)
    with open(out + ".gc.txt", "w") as fh:
        fh.write(f"script runs: {_runs[0]}\n")
        for g, (n, secs) in _gc.items():
            fh.write(f"gc generation {g}: {n} collections, {secs:.3f} s\n")


atexit.register(_dump)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

if __name__ == "__main__":
    from streamlit.web.cli import main

    main_prof.enable()
    sys.argv[0] = "streamlit"
    main()
