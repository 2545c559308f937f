"""Parse an upload in a child process with a memory and a time limit, so that no file can take the server down.

Why a process and not only careful readers: the readers check sizes before they allocate (the XLSX bounding
box, line, column, cell and cell-length caps in ``analysis.survey.export_files``), but they call native code
(python-calamine's Rust reader aborts the whole process when an allocation fails; pandas' C parser) whose
worst cases are not ours to prove. A child process turns any of these into an error for one upload:

- the child sets ``RLIMIT_AS`` (address space) to what it already uses plus ``MEMORY_BYTES`` before it reads
  anything, so an over-allocation fails in the child (``MemoryError``, or an abort of the child only);
- the parent waits at most ``TIMEOUT_S`` for the answer, then kills the child (``parse_timeout``);
- a child that dies without answering (signal, abort, exit) is ``parse_failed``; an ``InputError`` raised in
  the child is raised again in the parent with the same code, message and source.

Processes come from a ``forkserver`` (multiprocessing): a clean single-threaded server started once, with
the ingestion modules and the questionnaire preloaded, forks each child. Forking the Streamlit server itself
(threads holding locks) is unsafe, and ``spawn`` would re-import pandas for every upload (about 2 s).

At most ``SLOTS`` children run at once (a semaphore held from the child's start to its answer): a 20 MB
export costs its child 5-10 s of CPU, so five uploads at once would take every core from the sessions that
only read (issue 16: 50 map sessions during 5 uploads). ``SLOTS`` = cores - 1, at least 1: one core is left
to the server's own threads. A caller that must wait is told first (``on_wait``: the page says the upload is
queued), then waits at most ``QUEUE_TIMEOUT_S`` (``upload_busy``); the child's ``timeout`` starts when it
has a slot.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from pathlib import Path

from analysis.errors import InputError

TIMEOUT_S = 120.0  # a 50 MB export ingests in well under 30 s on these machines (bench/RESULTS.md)
MEMORY_BYTES = 3 * 1024**3  # address space the child may add to what it has when it starts
# Imported once in the forkserver (children inherit them): the ingestion and what it imports lazily, and the
# parent's main module (a child re-imports it otherwise: for ``streamlit`` the CLI, about 1 s per upload).
PRELOAD = ["__main__", "analysis.survey.sandbox_warm"]

QUEUE_TIMEOUT_S = 600.0  # how long an upload may wait for a free slot before it is refused (upload_busy)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


SLOTS = max(1, _cores() - 1)  # children parsing at once

_ctx = None
_lock = threading.Lock()
_slots = threading.BoundedSemaphore(SLOTS)


def _context():
    """The forkserver context, its server started with ``PRELOAD`` imported and warmed.

    Python 3.11's forkserver ignores the parent's ``sys.path``: the project root is put on ``PYTHONPATH``
    while the server starts, so the preload imports work from any working directory.
    """
    global _ctx
    with _lock:
        if _ctx is None:
            from multiprocessing import forkserver

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            root = str(Path(__file__).resolve().parents[2])
            old = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = root + (os.pathsep + old if old else "")
            try:
                forkserver.ensure_running()
            finally:
                if old is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = old
            _ctx = ctx
        return _ctx


def _vm_size() -> int:
    """This process's address space (bytes), from /proc; 0 when unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0


def _limit_memory(extra: int) -> None:
    try:
        import resource

        limit = _vm_size() + extra
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - platform without RLIMIT_AS
        pass


def _child(conn, fn, args, kwargs, memory: int) -> None:
    _limit_memory(memory)
    try:
        out = ("ok", fn(*args, **kwargs))
    except InputError as err:
        text = str(err)
        if err.source and text.startswith(f"{err.source}: "):
            text = text[len(err.source) + 2:]
        out = ("input_error", err.code, text, err.source)
    except MemoryError:
        out = ("memory",)
    except BaseException as err:  # noqa: BLE001 - reported to the parent by type only (never a value)
        if err.__traceback__ is not None:
            traceback.clear_frames(err.__traceback__)
        out = ("error", type(err).__name__)
    try:
        conn.send(out)
    except MemoryError:
        conn.send(("memory",))
    finally:
        conn.close()


def run_isolated(fn, *args, timeout: float = TIMEOUT_S, memory: int = MEMORY_BYTES, on_wait=None,
                 queue_timeout: float = QUEUE_TIMEOUT_S, **kwargs):
    """``fn(*args, **kwargs)`` in a forked child with ``memory`` bytes of address space and ``timeout`` seconds,
    once one of the ``SLOTS`` is free.

    ``fn`` must be importable by name (a module-level function); its result comes back pickled. ``on_wait()``
    is called (on the caller's thread) when every slot is taken, before waiting for one. Raises
    ``InputError`` ``upload_busy`` (no slot within ``queue_timeout`` seconds), ``parse_timeout`` /
    ``parse_failed`` (value-free messages), the child's own ``InputError`` unchanged, or ``RuntimeError``
    naming only the type of any other exception in the child.
    """
    if not _slots.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        if not _slots.acquire(timeout=queue_timeout):
            raise InputError("upload_busy", f"the server was reading other uploads for {queue_timeout:.0f} s; try again later")
    try:
        return _run_child(fn, args, kwargs, timeout, memory)
    finally:
        _slots.release()


def _run_child(fn, args, kwargs, timeout: float, memory: int):
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs, memory), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            raise InputError("parse_timeout", f"reading the file took longer than {timeout:.0f} s; refused")
        try:
            out = recv.recv()
        except (EOFError, OSError):
            out = ("died",)
    finally:
        recv.close()
        if proc.is_alive():
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    kind = out[0]
    if kind == "ok":
        return out[1]
    if kind == "input_error":
        raise InputError(out[1], out[2], out[3])
    if kind in ("memory", "died"):
        raise InputError("parse_failed", "reading the file needed more memory than an upload may use, or the reader stopped; refused")
    raise RuntimeError(f"the isolated parse failed ({out[1]})")
