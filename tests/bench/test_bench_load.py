"""bench/bench_load.py speaks Streamlit's websocket protocol: a tiny app's run is read to its end, its
elements and widgets are parsed, and a rerun with a widget state reaches the script. No timing is asserted."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import bench_load  # noqa: E402

APP = '''import streamlit as st
choice = st.selectbox("Pick", ["alpha", "beta"], key="w_indicator")
st.metric("Chosen", choice)
'''


def test_rerun_msg_round_trips():
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.ParseFromString(bench_load.rerun_msg("peta", "lang=en", [("$$ID-x-w_indicator", "beta")], cached_hashes={"h"}))
    assert msg.rerun_script.page_name == "peta" and msg.rerun_script.query_string == "lang=en"
    assert msg.rerun_script.widget_states.widgets[0].string_value == "beta"
    assert list(msg.rerun_script.cached_message_hashes) == ["h"]


def test_ws_url_is_loopback_only():
    assert bench_load.ws_url("http://127.0.0.1:8080/") == "ws://127.0.0.1:8080/_stcore/stream"
    with pytest.raises(SystemExit):
        bench_load.ws_url("http://example.org:80")


@pytest.mark.slow
def test_session_against_a_tiny_app(tmp_path):
    script = tmp_path / "tiny.py"
    script.write_text(APP, encoding="utf-8")
    proc, url = bench_load.start_server(script, tmp_path / "tiny.log", None)
    try:
        async def go():
            import websockets

            async with websockets.connect(bench_load.ws_url(url), subprotocols=["streamlit"], max_size=None,
                                          ping_interval=None) as ws:
                await ws.send(bench_load.rerun_msg("", ""))
                first = await bench_load.read_run(ws, 60)
                (wid, options), = first.selectboxes.items()
                await ws.send(bench_load.rerun_msg("", "", [(wid, options[1])], cached_hashes=first.cached_hashes))
                second = await bench_load.read_run(ws, 60)
                return first, second, wid, options

        first, second, wid, options = asyncio.run(go())
        assert first.ok and second.ok
        assert wid.endswith("w_indicator") and options == ["alpha", "beta"]
        assert "metric" in first.element_types and "metric" in second.element_types
        # the whole session helper, as the benchmark runs it: one first run and one widget change
        release = asyncio.Event()
        release.set()
        out = asyncio.run(bench_load.one_session(bench_load.ws_url(url), "", "", 1, release, [0.0], 60))
        assert out["ok"], out.get("error")
        assert len(out["changes"]) == 1
    finally:
        bench_load.stop_server(proc)
