"""Keep Streamlit's garbage collection after every script run cheap (issue 16).

Streamlit runs ``gc.collect(2)`` after every script run (``runner.postScriptGC``, on by default), a full
collection that holds the GIL while it walks every tracked object of the process. The dashboard's process
holds a few hundred thousand of them that never become garbage: the modules of pandas, pyarrow, scipy,
statsmodels, plotly, geopandas and Streamlit itself. Walking them cost about 0.2-0.3 s per run, more than the
map page's own script, and under 50 arrivals every session waited for every other session's collection
(``bench/bench_load.py --profile``: ``gc.collect`` was the largest item of a warm map run).

``gc.freeze()`` moves every object alive at that moment into a permanent generation that collections skip;
they are still freed by reference counting as usual. ``after_imports()`` does it whenever the process has
imported new modules since the last time (the first runs of each page), after one full collection so that no
cyclic garbage is frozen with them. Streamlit's collection after each run then walks only the objects made
since, and still frees each run's cyclic garbage.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_frozen_at = [0]  # len(sys.modules) when the heap was last frozen


def after_imports() -> bool:
    """Freeze the long-lived heap if new modules were imported since the last freeze; True if it froze."""
    if len(sys.modules) == _frozen_at[0]:
        return False
    with _lock:
        n = len(sys.modules)
        if n == _frozen_at[0]:
            return False
        gc.collect()
        gc.freeze()
        _frozen_at[0] = n
        return True
