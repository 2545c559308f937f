"""Fixtures the statistics tests share: R's ``apiclus1`` (``tests/stats/fixtures/README.md``) and its
published design ``svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.stats.design import SurveyDesign

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def apiclus1() -> pd.DataFrame:
    """The 183 schools, with the indicator columns the tests use (``stypeE/H/M``, ``schwide``) added."""
    data = pd.read_csv(FIXTURES / "apiclus1.csv")
    for s in "EHM":
        data[f"stype{s}"] = data["stype"] == s
    data["schwide"] = data["sch.wide"] == "Yes"
    return data


@pytest.fixture(scope="session")
def dclus1(apiclus1) -> SurveyDesign:
    return SurveyDesign(apiclus1, "pw", psu="dnum", fpc="fpc")
