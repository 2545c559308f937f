"""Make sure every page runs inside ``dashboard.py`` (navigation, sidebar, URL state), however it is reached.

This guard exists only because the page folder is named ``pages/``: Streamlit's legacy multipage handling
("MPA v1") switches on when a ``pages/`` directory sits beside the main script. ``PagesManager`` sets the
process-wide ``uses_pages_directory`` flag from that directory's existence, and while it is set the script
runner runs ``_mpa_v1`` (its own navigation over ``pages/*.py``, running the requested page file directly)
instead of ``dashboard.py``; only a call to ``st.navigation`` clears the flag (streamlit 1.67:
``runtime/pages_manager.py``, ``runtime/scriptrunner/script_runner.py``, ``commands/navigation.py``).
So Streamlit treats ``pages/`` as its old automatic navigation until ``st.navigation`` has run once in
the server process. So the very first request after a server start for a deep link such as ``/peta?kel=...``
runs ``pages/peta.py`` on its own, without the sidebar, the banners or the state read from the URL. Each page
calls ``require()`` first: when it is not already inside the dashboard's run, it runs ``dashboard.py``, which
runs the page inside its frame, and then ends this run. Inside the frame ``require()`` does nothing.

A page that has nothing more to show (no build yet, nothing chosen) ends with ``end_page()``, not ``st.stop()``:
after ``st.stop()`` Streamlit refuses every further element of the run, so the frame's part drawn after the
page (the sidebar's "share this view" box, ``dashboard.py``) went missing on exactly those pages.
"""

from __future__ import annotations

import contextlib
import runpy
import threading
from pathlib import Path
from typing import NoReturn

import streamlit as st

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"
_local = threading.local()  # each session's script runs on its own thread


class PageEnded(Exception):  # noqa: N818 - a signal, not an error
    """Raised by ``end_page()``, caught by ``inside()``."""


@contextlib.contextmanager
def inside():
    """Used by ``dashboard.py`` around ``page.run()``; a page's ``end_page()`` ends here."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    except PageEnded:
        pass
    finally:
        _local.depth -= 1


def end_page() -> NoReturn:
    """End the page here (instead of ``st.stop()``): the rest of the page is skipped, the dashboard's frame
    still draws what it draws after the page."""
    if getattr(_local, "depth", 0) > 0:
        raise PageEnded
    st.stop()
    raise AssertionError("unreachable: st.stop() raises")  # pragma: no cover


def require() -> None:
    if getattr(_local, "depth", 0) > 0:
        return
    runpy.run_path(str(DASHBOARD), run_name="__main__")
    st.stop()
