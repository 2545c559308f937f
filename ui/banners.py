"""Notices shown above every page: synthetic survey, missing sources, no build at all."""

from __future__ import annotations

import streamlit as st

from ui import data, state


def survey_is_synthetic(report: dict | None) -> bool:
    """True when any survey or survey-derived table in the build is synthetic (from the build report)."""
    if not report:
        return False
    return any(t.get("synthetic") for t in report.get("tables", []))


def render(report: dict | None, manifest_titles: dict[str, str]) -> None:
    tr = state.translator()  # the language read once (each read of the session state takes its lock)
    if report is None:
        st.error(tr("banner.no_build", path=str(data.processed_dir())), icon=":material/database_off:")
        return
    if survey_is_synthetic(report):
        st.warning(tr("banner.synthetic"), icon=":material/science:")
    missing = report.get("missing_sources") or []
    if missing:
        adds = {m["id"]: m.get("adds") for m in report.get("missing") or []}
        with st.expander(tr("banner.missing_sources", n=len(missing)), icon=":material/info:"):
            st.markdown("\n".join(
                f"- `{sid}`: {manifest_titles.get(sid, sid)}" + (f" — {tr('banner.would_add')} {adds[sid]}" if adds.get(sid) else "")
                for sid in missing))
            st.caption(tr("banner.missing_sources_help"))
            st.code("python -m analysis build --fetch\nDIGIDIV_MIRROR=/path/to/shared/data python -m analysis build --fetch", language="bash")
