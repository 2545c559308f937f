"""analysis.formatting: Indonesian (decimal comma) and English number formatting."""

import math

import pandas as pd
import pytest

from analysis import formatting as fmt


@pytest.mark.parametrize(
    "value, lang, expected",
    [
        (0.954, "id", "95,4%"),
        (0.954, "en", "95.4%"),
        (0.9539, "id", "95,4%"),
        (0.05, "id", "5,0%"),
        (1.0, "en", "100.0%"),
    ],
)
def test_percent(value, lang, expected):
    assert fmt.format_percent(value, lang) == expected


def test_percent_already_in_percent_bps_style():
    assert fmt.format_percent(95.39, "id", 2, scale=1) == "95,39%"
    assert fmt.format_percent(95.39, "en", 2, scale=1) == "95.39%"


def test_thousands_separators_swap_by_language():
    assert fmt.format_int(11011862, "id") == "11.011.862"
    assert fmt.format_int(11011862, "en") == "11,011,862"
    assert fmt.format_number(1234.56, "id", 2) == "1.234,56"
    assert fmt.format_number(1234.56, "en", 2) == "1,234.56"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, math.nan])
def test_missing_is_a_dash_never_zero(missing):
    assert fmt.format_percent(missing, "id") == fmt.MISSING
    assert fmt.format_estimate(missing, 0.1, 0.2, "en") == fmt.MISSING
    assert fmt.format_ci(missing, 0.2, "id") == fmt.MISSING


def test_negative_numbers_use_a_minus_sign_and_no_negative_zero():
    assert fmt.format_number(-5.26, "id", 1) == "\u22125,3"
    assert fmt.format_number(-0.04, "id", 1) == "0,0"
    assert fmt.format_points(-0.052, "id") == "\u22125,2 poin persen"
    assert fmt.format_points(0.052, "en") == "+5.2 percentage points"
    assert fmt.format_points(0.0, "en") == "0.0 percentage points"


def test_estimate_with_ci():
    assert fmt.format_estimate(0.954, 0.931, 0.972, "id") == "95,4% (93,1–97,2)"
    assert fmt.format_estimate(0.954, 0.931, 0.972, "en") == "95.4% (93.1–97.2)"
    assert fmt.format_estimate(0.954, None, None, "en") == "95.4%"


def test_p_values():
    assert fmt.format_p_value(0.0004, "id") == "<0,001"
    assert fmt.format_p_value(0.0312, "en") == "0.031"


def test_plotly_separators_and_unknown_language():
    assert fmt.plotly_separators("id") == ",."
    assert fmt.plotly_separators("en") == ".,"
    with pytest.raises(ValueError):
        fmt.format_percent(0.5, "fr")


def test_a_signed_interval_is_written_with_a_word_not_a_dash():
    """A difference's interval: a dash between signed numbers reads as a minus sign."""
    assert fmt.format_ci(-0.106, -0.004, "en") == "−10.6 to −0.4%"
    assert fmt.format_ci(-0.094, 0.006, "id", percent=False) == "−9,4 s.d. 0,6"
    assert fmt.format_ci(0.931, 0.972, "en") == "93.1–97.2%"
