"""The indicator registry: required indicators present, well formed, evaluable on the survey columns, with
skip logic read as "no" only where the form's skip means no."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from simulated_survey import make_survey

from analysis.errors import InputError
from analysis.stats import indicators as ind
from analysis.survey import schema

REQUIRED = {
    "hh_internet", "person_internet", "person_smartphone", "hh_phone_shared", "hh_one_phone", "jaki_aware",
    "jaki_installed", "bst_check_used", "quota_burden", "qlue_used",
    "info_rt_rw", "info_kelurahan_office", "info_poster", "info_door_to_door", "info_whatsapp",
    "info_social_media", "info_online_news", "info_jaki", "info_tv_radio", "info_community_org",
}
KEYWORDS = {"True", "False", "and", "or", "not", "None"}


@pytest.fixture(scope="module")
def survey():
    return make_survey(seed=4)


def test_required_indicators_are_registered_once():
    ids = [i.indicator_id for i in ind.REGISTRY]
    assert len(ids) == len(set(ids))
    assert REQUIRED <= set(ids)
    assert ind.get("quota_burden").measure == ind.MEAN
    with pytest.raises(InputError):
        ind.get("no_such_indicator")


def test_every_indicator_is_well_formed():
    for i in ind.REGISTRY:
        assert i.unit in (ind.HOUSEHOLD, ind.PERSON)
        assert i.measure in (ind.PROPORTION, ind.MEAN)
        assert i.label_id.strip() and i.label_en.strip() and i.label_id != i.label_en
        assert i.denominator and i.description and i.numerator
        assert i.higher_is_better in (True, False, None)


def _names(expression: str) -> set[str]:
    return {t for t in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression) if t not in KEYWORDS}


def test_expressions_only_name_columns_of_the_survey_schema():
    """The contract with the survey stage: every column an indicator reads is in its table's schema."""
    columns = {ind.HOUSEHOLD: set(schema.HOUSEHOLDS.names), ind.PERSON: set(schema.PERSONS.names)}
    for i in ind.REGISTRY:
        used = _names(i.universe) | _names(i.numerator) | _names(i.false_when)
        assert used <= columns[i.unit], (i.indicator_id, used - columns[i.unit])


def test_every_indicator_evaluates_on_a_sample(survey):
    households, persons = survey
    for i in ind.REGISTRY:
        frame = households if i.unit == ind.HOUSEHOLD else persons
        y, universe = i.values(frame)
        assert y.shape == universe.shape == (len(frame),)
        assert universe.any()
        observed = y[universe & ~np.isnan(y)]
        assert len(observed) > 0
        if i.measure == ind.PROPORTION:
            assert set(np.unique(observed)) <= {0.0, 1.0}


def test_skip_logic_counts_skipped_questions_as_no():
    frame = pd.DataFrame({
        "knows_jaki": pd.array([True, True, False, pd.NA, True], dtype="boolean"),
        "installed_jaki": pd.array([True, False, pd.NA, pd.NA, pd.NA], dtype="boolean"),
        "used_bst_check": pd.array([True, pd.NA, pd.NA, pd.NA, pd.NA], dtype="boolean"),
    })
    installed, _ = ind.get("jaki_installed").values(frame)
    assert installed[:3].tolist() == [1.0, 0.0, 0.0]
    assert np.isnan(installed[3]) and np.isnan(installed[4])  # not answered: stays missing
    bst, _ = ind.get("bst_check_used").values(frame)
    assert bst[:3].tolist() == [1.0, 0.0, 0.0] and np.isnan(bst[3]) and np.isnan(bst[4])


def test_universe_filters():
    persons = pd.DataFrame({"age": [3, 5, 40], "uses_internet": pd.array([pd.NA, True, False], dtype="boolean")})
    y, universe = ind.get("person_internet").values(persons)
    assert universe.tolist() == [False, True, True]
    hh = pd.DataFrame({"hh_size": [1, 2, 4], "n_phones": pd.array([1, 1, pd.NA], dtype="Int64")})
    y, universe = ind.get("hh_one_phone").values(hh)
    assert universe.tolist() == [False, True, True] and y[1] == 1.0 and np.isnan(y[2])


def test_registry_table_follows_the_contract():
    table = ind.indicators_table()
    table.check()
    assert table.data.columns[:9].tolist() == ["indicator_id", "label_id", "label_en", "unit", "universe", "numerator", "denominator", "source", "higher_is_better"]
    assert len(table.data) == len(ind.REGISTRY)
    assert table.data.loc[table.data["indicator_id"] == "info_whatsapp", "higher_is_better"].isna().all()


def test_a_missing_column_is_a_clear_error():
    with pytest.raises(InputError) as err:
        ind.get("hh_one_phone").values(pd.DataFrame({"hh_size": [2]}))
    assert err.value.code == "indicator_expression" and "hh_one_phone" in str(err.value)
