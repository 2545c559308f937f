"""The canonical survey tables: ``survey_households`` and ``survey_persons`` (docs/ARTEFACTS.md, issue 3).

Each column is declared once here with its dtype, allowed values or range, whether it may be missing, and a
description. From that one declaration come:

- the pandera ``DataFrameSchema`` every ingest is checked against (``validate``), strict and ordered: exactly
  these columns in this order, nothing else (no free text can slip through as an extra column);
- the codebook: ``fields(schema)`` gives the ``analysis.tables.Field`` list written to ``codebook.csv`` and
  ``datapackage.json``.

Booleans are pandas' nullable ``boolean``: NA when a question was not answered or not asked (its ``relevant``
was false), never silently False. Integers are nullable ``Int64``; codes and categories are strings.

Survey definitions follow BPS Susenas (internet use in the last 3 months, persons aged 5+, household with
internet = any member used it) as documented in ``analysis/survey/questionnaire.py``. The design columns
(stratum, psu, weight, fpc_psu) are what Taylor-linearisation variance estimation needs (Lohr 2022, ch. 6-7;
Wolter 2007, ch. 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from analysis.errors import InputError
from analysis.tables import Field

if TYPE_CHECKING:
    import pandera.pandas as pa

# --- the vocabulary: every category's values and their order, declared once -----------------------------------
# (svy's practice: value labels and category order kept with the data in one module). Code elsewhere imports
# these; tests/survey/test_questionnaire.py checks them against the form's choice lists.

# Education: the form's BPS diploma choices (in form order) and the five analysis levels they map to.
DIPLOMAS = ("tidak_punya", "sd", "smp", "sma", "smk", "d1_d3", "d4_s1", "s2_s3")
EDUCATION_LEVELS = ("no_diploma", "sd", "smp", "sma", "tertiary")
EDUCATION_LEVEL = {
    "tidak_punya": "no_diploma",
    "sd": "sd",
    "smp": "smp",
    "sma": "sma",
    "smk": "sma",
    "d1_d3": "tertiary",
    "d4_s1": "tertiary",
    "s2_s3": "tertiary",
}
# Age groups (BPS-style; the ICT questions are asked from age 5): (first age, last age, label).
AGE_BANDS = ((5, 14, "5-14"), (15, 24, "15-24"), (25, 44, "25-44"), (45, 59, "45-59"), (60, 200, "60+"))
AGE_GROUPS = tuple(label for _, _, label in AGE_BANDS)
AGE_GROUP_EDGES = tuple(lo for lo, _, _ in AGE_BANDS)  # left-closed lower bounds; the last group is open
SEXES = ("L", "P")
INCOME_QUINTILES = (1, 2, 3, 4, 5)
# Monthly household expenditure brackets (Rp), the form's choice names in order: name -> (low, high); high None
# = open-ended. Their quintiles: analysis.survey.derive.QUINTILE_OF_BRACKET.
EXPENDITURE_BRACKETS = {
    "lt1500": (0, 1_500_000),
    "1500_3000": (1_500_000, 3_000_000),
    "3000_5000": (3_000_000, 5_000_000),
    "5000_7500": (5_000_000, 7_500_000),
    "7500_10000": (7_500_000, 10_000_000),
    "ge10000": (10_000_000, None),
}
# Main activity: the form's occupation choice names, in order.
OCCUPATIONS = ("school", "housework", "not_working", "employee", "own_account", "casual", "family_worker", "retired", "other")

KODE_KELURAHAN = r"^31\.\d{2}\.\d{2}\.\d{4}$"
KODE_KAB = r"^31\.\d{2}$"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str" | "bool" (non-null bool) | "boolean" | "Int64" | "float64" | "Float64"
    description: str
    nullable: bool = True
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    unique: bool = False
    unit: str | None = None

    def pandera(self) -> pa.Column:
        import pandera.pandas as pa  # imported on use: the vocabulary above is wanted without pandera's 0.7 s

        checks = []
        if self.allowed is not None:
            checks.append(pa.Check.isin(list(self.allowed), error=f"{self.name}: a value outside {list(self.allowed)}"))
        if self.min is not None:
            checks.append(pa.Check.ge(self.min, error=f"{self.name}: a value below {self.min}"))
        if self.max is not None:
            checks.append(pa.Check.le(self.max, error=f"{self.name}: a value above {self.max}"))
        if self.pattern is not None:
            checks.append(pa.Check.str_matches(self.pattern, error=f"{self.name}: a value not matching {self.pattern}"))
        dtype = {"str": pd.StringDtype(na_value=float("nan")), "bool": "bool"}.get(self.dtype, self.dtype)
        return pa.Column(dtype, checks=checks, nullable=self.nullable, unique=self.unique, required=True)


@dataclass(frozen=True)
class Schema:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def pandera(self) -> pa.DataFrameSchema:
        import pandera.pandas as pa

        return pa.DataFrameSchema(
            {c.name: c.pandera() for c in self.columns}, strict=True, ordered=True, name=self.name, coerce=False
        )


def _yes(name: str, description: str) -> Column:
    return Column(name, "boolean", description + " NA when not answered or not asked.")


_DESIGN = (
    Column("survey_id", "str", "Survey identifier (form id and the uploader's or the generator's survey name).", nullable=False),
    Column("synthetic", "bool", "True for the project's generated demo survey: not real respondents.", nullable=False),
    Column("kode_kemendagri", "str", "Kelurahan, Kemendagri code (31.71.01.1001), harmonised from the answer with the project's name matcher.", nullable=False, pattern=KODE_KELURAHAN),
    Column("kode_kab_kemendagri", "str", "Kab/kota, Kemendagri code (31.71), from the register.", nullable=False, pattern=KODE_KAB),
)
_DESIGN_TAIL = (
    Column("stratum", "str", "Design stratum (kota in the demo design; the kelurahan when an export has no design file).", nullable=False),
    Column("psu", "str", "Primary sampling unit (the RW within its kelurahan in the demo design, e.g. 31.75.03.1005-RW05; the household itself when an export has no design file).", nullable=False),
    Column("weight", "float64", "Design weight: households (or persons) in the population this record stands for. Equal weights when the export came without a design file (simple random sample of its kampung).", nullable=False, min=0.0, unit="households"),
    Column("fpc_psu", "Float64", "Number of PSUs in the stratum for the finite population correction; NA when unknown.", min=1.0),
    Column("certainty_kelurahan", "boolean", "True when the household's kelurahan is a first-stage certainty unit of the design (inclusion probability 1, e.g. the oversampled kelurahan); from the design file; NA when it does not say."),
    Column("n_rw_kelurahan", "Int64", "Number of RW in the kelurahan's frame (the second-stage population count when the kelurahan is the first-stage unit); from the design file; NA when unknown.", min=1),
    Column("pi_kelurahan", "Float64", "First-stage inclusion probability of the household's kelurahan (PPS without replacement; 1 for a certainty unit); from the design file; NA when it does not say. With it the city and kota variances use Brewer's without-replacement approximation.", min=0.0, max=1.0),
)

HOUSEHOLDS = Schema(
    name="survey_households",
    title="Survey households (one row per household)",
    description=(
        "Household records of the digital-access survey after validation, de-duplication, removal of test "
        "submissions, personal-data removal and kelurahan harmonisation. Free text is not kept."
    ),
    columns=(
        Column("hh_id", "str", "Household id (the submission's _uuid).", nullable=False, unique=True),
        *_DESIGN,
        Column("kelurahan", "str", "Kelurahan name (register).", nullable=False),
        Column("kab_kota", "str", "Kab/kota name (register).", nullable=False),
        Column("rw", "Int64", "RW (neighbourhood unit) number.", min=1, max=99),
        *_DESIGN_TAIL,
        Column("hh_size", "Int64", "Household members (BPS: usually live here and share meals); the roster count when the roster is complete.", nullable=False, min=1, max=30, unit="persons"),
        Column("expenditure_bracket", "str", "Monthly household expenditure bracket (Rp; form choice names: lt1500 = under 1.5 million, ... ge10000 = 10 million or more).", allowed=tuple(EXPENDITURE_BRACKETS)),
        Column("income_quintile", "Int64", "Expenditure quintile (1 poorest - 5 richest) from the bracket with fixed cut-points (analysis.survey.derive.QUINTILE_OF_BRACKET), so uploads are comparable with the city.", allowed=INCOME_QUINTILES),
        _yes("dtks", "Household registered in DTKS (the integrated social welfare data); 'don't know' is NA."),
        _yes("received_bansos", "Received social assistance (bansos) in the last 12 months; 'don't know' is NA."),
        _yes("received_bst", "Received cash social assistance (BST); asked when bansos was received; 'don't know' is NA."),
        Column("n_phones", "Int64", "Mobile phones owned by household members.", min=0, max=20, unit="phones"),
        _yes("phone_shared", "A phone is shared by several members (asked when the household has a phone)."),
        _yes("has_internet", "Any member accessed the internet in the last 3 months (BPS household definition), from the roster."),
        _yes("conn_mobile_data", "Uses mobile data (quota) at home."),
        _yes("conn_fixed_broadband", "Has fixed broadband (cable/fibre) at home."),
        _yes("conn_public_wifi", "Uses public wifi (JakWifi, RW wifi)."),
        Column("quota_spend_rp", "Float64", "Monthly spending on mobile data quota (Rp); 0 when no mobile data; NA when not answered.", min=0, max=5_000_000, unit="Rp"),
        Column("quota_burden", "Float64", "Quota spending / household expenditure (bracket midpoint; the open top bracket at 1.25 x its floor).", min=0, unit="share"),
        _yes("knows_jaki", "The respondent knows the JAKI (Jakarta Kini) app."),
        _yes("installed_jaki", "JAKI is installed on a household member's phone (False when JAKI is not known)."),
        _yes("used_bst_check", "Has used JAKI's bansos/BST check (False when JAKI is not installed)."),
        _yes("reason_did_not_know", "Reason for not using the JAKI bansos check: did not know about it."),
        _yes("reason_no_smartphone", "Reason for not using the JAKI bansos check: no smartphone."),
        _yes("reason_no_quota", "Reason for not using the JAKI bansos check: no data quota."),
        _yes("reason_cannot_operate", "Reason for not using the JAKI bansos check: cannot read or operate it."),
        _yes("reason_distrust", "Reason for not using the JAKI bansos check: distrust."),
        _yes("used_qlue", "Has reported through Qlue."),
        _yes("used_complaint_channel", "Has used another complaint channel (CRM, LAPOR!, the city's social media)."),
        _yes("info_rt_rw", "Learns about bansos from the RT/RW head."),
        _yes("info_kelurahan_office", "Learns about bansos from the kelurahan office."),
        _yes("info_poster", "Learns about bansos from posters or banners."),
        _yes("info_door_to_door", "Learns about bansos from door-to-door visits."),
        _yes("info_whatsapp", "Learns about bansos from WhatsApp groups."),
        _yes("info_social_media", "Learns about bansos from social media."),
        _yes("info_online_news", "Learns about bansos from online news."),
        _yes("info_jaki", "Learns about bansos from the JAKI app."),
        _yes("info_tv_radio", "Learns about bansos from TV or radio."),
        _yes("info_community_org", "Learns about bansos from community organisations (JRMK, pengajian, PKK)."),
        Column("respondent_line_no", "Int64", "Roster line of the respondent (the adult who answered the household and JAKI questions).", min=1, max=30),
        Column("respondent_age", "Int64", "Respondent's age (years), from the roster.", min=0, max=110, unit="years"),
        Column("respondent_sex", "str", "Respondent's sex (L male, P female), from the roster.", allowed=SEXES),
        Column("respondent_education", "str", "Respondent's education (five levels), from the roster.", allowed=EDUCATION_LEVELS),
    ),
)

PERSONS = Schema(
    name="survey_persons",
    title="Survey persons (one row per household member)",
    description=(
        "Roster members of the surveyed households with the design and household columns copied from their "
        "household. Names are never asked; members are identified by line number."
    ),
    columns=(
        Column("hh_id", "str", "Household id (the submission's _uuid).", nullable=False),
        Column("person_id", "str", "Person id: '<hh_id>-<line_no>'.", nullable=False, unique=True),
        Column("line_no", "Int64", "Line (member number) in the household roster.", nullable=False, min=1, max=30),
        Column("age", "Int64", "Age in completed years.", nullable=False, min=0, max=110, unit="years"),
        Column("age_group", "str", "Age group: 5-14, 15-24, 25-44, 45-59, 60+; NA under 5 (ICT questions are asked from age 5).", allowed=AGE_GROUPS),
        Column("sex", "str", "Sex: L male, P female.", allowed=SEXES),
        Column("education", "str", "Highest diploma in five levels: no_diploma, sd, smp, sma (incl. SMK), tertiary (D1 and above); NA under 5.", allowed=EDUCATION_LEVELS),
        Column("occupation", "str", "Main activity (form choice names); NA under 10.", allowed=OCCUPATIONS),
        _yes("literate", "Can read and write (BPS literacy)."),
        _yes("uses_internet", "Accessed the internet in the last 3 months (BPS Susenas, age 5+)."),
        _yes("owns_smartphone", "Owns a smartphone of their own."),
        _yes("digital_skill_basic", "Can send a message with an attachment or install an app unaided (SDG 4.4.1)."),
        *_DESIGN,
        *_DESIGN_TAIL,
        Column("income_quintile", "Int64", "Household expenditure quintile (1 poorest - 5 richest).", allowed=INCOME_QUINTILES),
        Column("hh_size", "Int64", "Household size.", nullable=False, min=1, max=30, unit="persons"),
    ),
)

def fields(schema: Schema) -> list[Field]:
    """The codebook entries of a schema, in column order."""
    types = {"str": "string", "bool": "boolean", "boolean": "boolean", "Int64": "integer", "float64": "number", "Float64": "number"}
    out = []
    for c in schema.columns:
        desc = c.description
        if c.allowed is not None and c.dtype == "str":
            desc += f" Values: {', '.join(map(str, c.allowed))}."
        out.append(Field(c.name, desc, types[c.dtype], c.unit))
    return out


def coerce(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``df`` restricted to the schema's columns, in order, cast to the declared dtypes (no value checks)."""
    out = {}
    for c in schema.columns:
        s = df[c.name] if c.name in df.columns else pd.Series(pd.NA, index=df.index)
        if c.dtype == "str":
            s = s.astype("str").where(s.notna())
            s = s.astype(pd.StringDtype(na_value=float("nan")))
        elif c.dtype == "bool":
            s = s.astype(bool)
        elif c.dtype == "float64":
            s = pd.to_numeric(s).astype("float64")
        else:
            s = s.astype(c.dtype)
        out[c.name] = s
    return pd.DataFrame(out, index=df.index)


def validate(df: pd.DataFrame, schema: Schema, source: str | None = None) -> pd.DataFrame:
    """Check ``df`` against ``schema``; return it unchanged or raise ``InputError``.

    Codes: ``schema_missing_columns`` / ``schema_extra_columns`` / ``schema_column_order`` (the columns),
    ``schema_dtype`` (a column's type), ``schema_values`` (values outside the allowed set or range, nulls where
    none are allowed, duplicate ids). Messages name columns, checks and counts of failing rows, never cell
    values (a failing cell could hold personal data).
    """
    from pandera.errors import SchemaError, SchemaErrors

    cols = list(df.columns)
    missing = [c for c in schema.names if c not in cols]
    extra = [c for c in cols if c not in schema.names]
    if missing:
        raise InputError("schema_missing_columns", f"{schema.name}: missing column(s) {missing}", source)
    if extra:
        raise InputError("schema_extra_columns", f"{schema.name}: column(s) not in the schema {extra}", source)
    if cols != schema.names:
        raise InputError("schema_column_order", f"{schema.name}: columns are not in the declared order", source)
    try:
        schema.pandera().validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        problems = []
        dtype_problem = False
        if cases is not None and len(cases):
            for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
                check = str(check)
                if check.startswith("dtype("):
                    dtype_problem = True
                    problems.append(f"{column}: type is not {check[6:-1]}")
                else:
                    problems.append(f"{column}: {len(group)} row(s) fail [{check}]")
        else:
            problems.append(type(exc).__name__)
        code = "schema_dtype" if dtype_problem else "schema_values"
        err = InputError(code, f"{schema.name}: " + "; ".join(problems), source)
        raise err from None
    return df
