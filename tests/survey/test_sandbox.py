"""The upload's parse runs in a child with memory and time limits (analysis.survey.sandbox): an input that
over-allocates, hangs or aborts the reader costs that upload only; the server process answers the next one."""

from __future__ import annotations

import os
import time

import pytest

from analysis.errors import InputError
from analysis.survey.sandbox import run_isolated


def _hog():
    return bytearray(64 * 1024**3)


def _sleep():
    time.sleep(60)


def _abort():
    os.abort()


def _refuse():
    raise InputError("empty_file", "the file is empty", "a.csv")


def _add(a, b=0):
    return a + b


def test_result_and_input_errors_come_back():
    assert run_isolated(_add, 2, b=3) == 5
    with pytest.raises(InputError) as info:
        run_isolated(_refuse)
    assert info.value.code == "empty_file" and str(info.value) == "a.csv: the file is empty"


@pytest.mark.parametrize("fn, code", [(_hog, "parse_failed"), (_abort, "parse_failed")])
def test_over_allocation_and_abort_are_one_uploads_error(fn, code):
    with pytest.raises(InputError) as info:
        run_isolated(fn)
    assert info.value.code == code
    assert run_isolated(_add, 1) == 1  # and the next one works


def test_a_hang_is_killed_at_the_time_limit():
    t = time.perf_counter()
    with pytest.raises(InputError) as info:
        run_isolated(_sleep, timeout=2)
    assert info.value.code == "parse_timeout"
    assert time.perf_counter() - t < 20
