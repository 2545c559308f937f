"""The indicator registry: every survey indicator the dashboard shows, defined once.

An indicator is a proportion (or a mean) over a *universe* of households or persons. The universe is
estimated as a domain of the whole sample (never by dropping rows), and questions skipped by the form's
logic are read as "no" where the skip means "no" (JAKI installed is "no" for a respondent who does not know
JAKI). Each indicator says which direction is good, so maps and gap tables colour it the right way round;
``None`` means neutral (an information channel is neither good nor bad).

Definitions follow BPS where BPS has one: household internet access is "at least one member accessed the
internet in the last three months" (BPS, *Statistik Telekomunikasi Indonesia*, concept of SUSENAS KOR
module), individual internet use and smartphone ownership are asked of persons aged 5 and over (BPS, same
publication). The JAKI, bansos-information and quota indicators come from the field findings summarised in
``../shared/GUIDE.md`` (Kampung Tengah and Kampung Gedong).

Domain variables: persons are classified by their own education, age group and sex; households by their
respondent's (the adult who answered the household and JAKI questions), and both by the household's
expenditure quintile.

Expressions (``universe``, ``numerator``, ``false_when``) are pandas ``DataFrame.eval`` expressions over the
columns of ``survey_households`` / ``survey_persons`` (docs/ARTEFACTS.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.tables import Field, Table

HOUSEHOLD, PERSON = "household", "person"
SOURCE_TABLE = {HOUSEHOLD: "survey_households", PERSON: "survey_persons"}
PROPORTION, MEAN = "proportion", "mean"


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    label_id: str
    label_en: str
    unit: str  # "household" | "person"
    universe: str  # DataFrame.eval expression selecting the universe ("" = everyone)
    numerator: str  # column name or DataFrame.eval expression (boolean for a proportion, numeric for a mean)
    denominator: str  # the universe in words
    higher_is_better: bool | None
    description: str
    measure: str = PROPORTION  # "proportion" | "mean"
    false_when: str = ""  # a missing numerator is "no" where this holds (skip logic)
    source: str = "project survey (survey_households / survey_persons)"

    @property
    def table(self) -> str:
        return SOURCE_TABLE[self.unit]

    def values(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(y as float with NaN for missing, universe mask) for the rows of ``frame``."""
        universe = _mask(frame, self.universe, self.indicator_id) if self.universe else np.ones(len(frame), dtype=bool)
        y = _as_float(_evaluate(frame, self.numerator, self.indicator_id))
        if self.false_when:
            skipped = _mask(frame, self.false_when, self.indicator_id)
            y = np.where(np.isnan(y) & skipped, 0.0, y)
        return y, universe


def _evaluate(frame: pd.DataFrame, expression: str, indicator_id: str):
    if expression in frame.columns:
        return frame[expression]
    try:
        return frame.eval(expression, engine="python")
    except Exception as exc:  # an expression naming a column the table lacks
        raise InputError("indicator_expression", f"indicator {indicator_id}: cannot evaluate '{expression}' ({type(exc).__name__}: {exc})") from exc


def _as_float(values) -> np.ndarray:
    series = pd.Series(values)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _mask(frame: pd.DataFrame, expression: str, indicator_id: str) -> np.ndarray:
    values = _evaluate(frame, expression, indicator_id)
    return pd.Series(values).astype("boolean").fillna(False).to_numpy(dtype=bool)


_INFO_CHANNELS = [
    ("rt_rw", "Ketua RT/RW", "RT/RW head"),
    ("kelurahan_office", "Kantor kelurahan", "Kelurahan office"),
    ("poster", "Poster/spanduk", "Posters and banners"),
    ("door_to_door", "Pendataan dari rumah ke rumah", "Door-to-door visits"),
    ("whatsapp", "Grup WhatsApp", "WhatsApp groups"),
    ("social_media", "Media sosial", "Social media"),
    ("online_news", "Berita daring", "Online news"),
    ("jaki", "Aplikasi JAKI", "The JAKI app"),
    ("tv_radio", "TV/radio", "TV or radio"),
    ("community_org", "Organisasi warga/komunitas", "Community organisations"),
]

REGISTRY: tuple[Indicator, ...] = (
    Indicator(
        "hh_internet", "Rumah tangga yang mengakses internet", "Households with internet access", HOUSEHOLD, "", "has_internet",
        "all households", True,
        "Share of households in which at least one member used the internet in the last 3 months (BPS definition).",
    ),
    Indicator(
        "person_internet", "Penduduk usia 5+ yang mengakses internet", "Persons aged 5+ who used the internet", PERSON, "age >= 5", "uses_internet",
        "persons aged 5 and over", True,
        "Share of persons aged 5+ who used the internet in the last 3 months (BPS definition).",
    ),
    Indicator(
        "person_smartphone", "Penduduk usia 5+ yang memiliki telepon pintar", "Persons aged 5+ with a smartphone of their own", PERSON, "age >= 5", "owns_smartphone",
        "persons aged 5 and over", True,
        "Share of persons aged 5+ who own a smartphone (not a shared household phone).",
    ),
    Indicator(
        "person_digital_skill", "Penduduk usia 5+ dengan keterampilan digital dasar", "Persons aged 5+ with basic digital skills", PERSON, "age >= 5", "digital_skill_basic",
        "persons aged 5 and over", True,
        "Share of persons aged 5+ who can send a message with an attachment or install an app unaided (basic ICT skill, SDG 4.4.1 as BPS asks it).",
    ),
    Indicator(
        "hh_phone_shared", "Rumah tangga yang memakai HP bergantian", "Households sharing a phone among members", HOUSEHOLD, "n_phones >= 1", "phone_shared",
        "households with at least one mobile phone", False,
        "Share of households with a phone in which a phone is used in turn by several members (field research: families shared one phone).",
    ),
    Indicator(
        "hh_one_phone", "Rumah tangga (2+ anggota) dengan hanya satu HP", "Households of 2+ members with a single phone", HOUSEHOLD, "hh_size >= 2", "n_phones == 1",
        "households of two or more members", False,
        "Share of households of two or more members that own exactly one mobile phone between them.",
    ),
    Indicator(
        "quota_burden", "Beban kuota data (porsi pengeluaran rumah tangga)", "Data-quota burden (share of household spending)", HOUSEHOLD, "", "quota_burden",
        "households with a reported quota spend and expenditure bracket", False,
        "Mean of monthly mobile-data spending divided by household expenditure (bracket midpoint); 0 for households without mobile data.",
        measure=MEAN,
    ),
    Indicator(
        "jaki_aware", "Responden yang mengetahui aplikasi JAKI", "Respondents who know the JAKI app", HOUSEHOLD, "", "knows_jaki",
        "all households (the adult respondent)", True,
        "Share of households whose adult respondent knows JAKI (Jakarta Kini), the city's one-door app.",
    ),
    Indicator(
        "jaki_installed", "Rumah tangga dengan JAKI terpasang", "Households with JAKI installed", HOUSEHOLD, "", "installed_jaki",
        "all households", True,
        "Share of households where JAKI is installed on a member's phone; 'no' when the respondent does not know JAKI.",
        false_when="knows_jaki == False",
    ),
    Indicator(
        "bst_check_used", "Pernah memakai cek bansos/BST di JAKI", "Have used JAKI's bansos/BST check", HOUSEHOLD, "", "used_bst_check",
        "all households", True,
        "Share of households whose respondent has used JAKI's social-assistance (BST) status check by NIK; 'no' when JAKI is unknown or not installed.",
        false_when="(knows_jaki == False) | (installed_jaki == False)",
    ),
    Indicator(
        "qlue_used", "Pernah melapor lewat Qlue", "Have reported through Qlue", HOUSEHOLD, "", "used_qlue",
        "all households", True,
        "Share of households whose respondent has ever filed a report through Qlue.",
    ),
    Indicator(
        "complaint_channel_used", "Pernah memakai kanal pengaduan lain", "Have used another complaint channel", HOUSEHOLD, "", "used_complaint_channel",
        "all households", True,
        "Share of households whose respondent has used any of another complaint channel (CRM, LAPOR!, the city's social media).",
    ),
) + tuple(
    Indicator(
        f"info_{key}", f"Informasi bansos dari: {lid}", f"Learned about bansos from: {len_}", HOUSEHOLD, "", f"info_{key}",
        "all households", None,
        f"Share of households that get information about social assistance (bansos) from {len_.lower()} (several channels may be named).",
    )
    for key, lid, len_ in _INFO_CHANNELS
)

BY_ID = {i.indicator_id: i for i in REGISTRY}


def get(indicator_id: str) -> Indicator:
    try:
        return BY_ID[indicator_id]
    except KeyError:
        raise InputError("unknown_indicator", f"no indicator '{indicator_id}' (known: {', '.join(BY_ID)})") from None


TABLE_COLUMNS = ["indicator_id", "label_id", "label_en", "unit", "universe", "numerator", "denominator", "source", "higher_is_better", "measure", "false_when", "description"]

FIELD_DESCRIPTIONS = {
    "indicator_id": "Stable indicator id (joins estimates, sae_estimates, gaps).",
    "label_id": "Label in Bahasa Indonesia.",
    "label_en": "Label in English.",
    "unit": "Unit of analysis: household or person.",
    "universe": "Universe as a filter expression over the survey table (empty: everyone); estimated as a domain.",
    "numerator": "Column (or expression) counted (proportion) or averaged (mean).",
    "denominator": "The universe in words.",
    "source": "Where the data come from.",
    "higher_is_better": "Direction of good: true, false, or empty when neutral.",
    "measure": "proportion or mean.",
    "false_when": "Skip logic: where this holds, a missing answer counts as no.",
    "description": "What the indicator measures.",
}


def registry_frame() -> pd.DataFrame:
    rows = [asdict(i) for i in REGISTRY]
    frame = pd.DataFrame(rows)[TABLE_COLUMNS]
    frame["higher_is_better"] = frame["higher_is_better"].astype("boolean")
    return frame


def indicators_table() -> Table:
    data = registry_frame()
    return Table(
        name="indicators",
        title="Indicator registry",
        description="Every survey indicator: labels (id/en), unit, universe, numerator, direction of good.",
        data=data,
        fields=[Field(c, FIELD_DESCRIPTIONS[c]) for c in TABLE_COLUMNS],
        sources=[],
    )


