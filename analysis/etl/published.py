"""Published figures typed from publications, each with its citation: table ``published_figures``.

Stage ``analysis.etl.published``. The figures live in the committed file
``analysis/embedded/published_figures.csv`` (one row per figure: figure_id, indicator, region, group_dim, group,
year, value, unit, label_id, label_en, citation, source_url), so the dashboard always has the city-wide context it argues against
(BPS: 93.33% of DKI households online in 2019, 95.39% in 2022, 96.69% with a mobile phone in 2019; SMERU:
7.35% of DKI residents without a diploma use the internet) even when no source can be fetched. Where a figure
is known only through a secondary source, the citation says "as cited in" and the URL points at that source.
The Susenas March 2019 breakdown for DKI (by sex, expenditure group, education), BPS kab/kota poverty rates
2023-2024, BST recipients and JakWifi locations per kota (issue 11) were typed from the collectors' file
``published/dki_published_figures_2019_2024.csv`` (source ``published_dki_2019_2024``, kept as the test oracle).
A figure without a citation fails the build (``bad_published_figure``).

``build`` always returns the table and validates it first: unique ids, every column filled, a year between
1990 and the current decade, percentages within [0, 100] and other values not negative. A figure that fails
is a bug in the committed file, so it raises ``InputError`` rather than silently dropping the figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import config
from analysis.errors import InputError
from analysis.etl import readers
from analysis.tables import Field, Table

STAGE = "analysis.etl.published"
FIGURES_CSV = config.EMBEDDED_DIR / "published_figures.csv"
COLUMNS = ["figure_id", "indicator", "region", "group_dim", "group", "year", "value", "unit", "label_id", "label_en", "citation", "source_url"]

FIELDS = [
    Field("figure_id", "Stable id of the figure"),
    Field("indicator", "What is measured (matches bps_indicators.indicator where the same concept exists)"),
    Field("region", "Area the figure describes (DKI Jakarta, Indonesia, or a kab/kota such as Jakarta Utara)"),
    Field("group_dim", "Breakdown of the population the figure describes (all, sex, expenditure_group, education, "
          "literacy)"),
    Field("group", "Group within group_dim (all; male/female; bottom 40%/middle 40%/top 20%; SMP or higher; no diploma)"),
    Field("year", "Reference year of the data (not of the publication)", "integer"),
    Field("value", "The published value, as printed", "number"),
    Field("unit", "Unit of value ('%' units are percentages of the stated population)"),
    Field("label_id", "Label in Bahasa Indonesia"),
    Field("label_en", "Label in English"),
    Field("citation", "Full citation; 'as cited in' when known through a secondary source"),
    Field("source_url", "Where the figure (or the citing source) can be read"),
]


def validate(df: pd.DataFrame, source: str = "published_figures.csv") -> None:
    """Raise ``InputError`` (code ``bad_published_figure``) for a duplicate id, an empty cell or an
    implausible year or value."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError("missing_columns", f"expected columns missing: {missing}", source)
    dupes = sorted(df.loc[df["figure_id"].duplicated(), "figure_id"].astype(str))
    if dupes:
        raise InputError("bad_published_figure", f"duplicate figure ids: {dupes}", source)
    for col in COLUMNS:
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if empty.any():
            ids = list(df.loc[empty, "figure_id"].astype(str))
            raise InputError("bad_published_figure", f"column {col!r} is empty for {ids}", source)
    for _, r in df.iterrows():
        fid = r["figure_id"]
        try:
            year, value = int(r["year"]), float(r["value"])
        except (TypeError, ValueError) as exc:
            raise InputError("bad_published_figure", f"{fid}: year or value is not a number", source) from exc
        if not 1990 <= year <= 2035:
            raise InputError("bad_published_figure", f"{fid}: year {year} is implausible", source)
        if str(r["unit"]).startswith("%") and not 0 <= value <= 100:
            raise InputError("bad_published_figure", f"{fid}: percentage {value} outside [0, 100]", source)
        if value < 0:
            raise InputError("bad_published_figure", f"{fid}: negative value {value}", source)
        if not str(r["source_url"]).startswith(("http://", "https://")):
            raise InputError("bad_published_figure", f"{fid}: source_url is not a URL", source)


def load(path: Path | str | bytes = FIGURES_CSV) -> pd.DataFrame:
    df = readers.read_table(path, expected_columns=COLUMNS, text_columns=["figure_id"], source="published_figures.csv")
    validate(df)
    df = df[COLUMNS].reset_index(drop=True)
    df["year"] = df["year"].astype("int64")
    df["value"] = df["value"].astype("float64")
    for col in COLUMNS:
        if col not in ("year", "value"):
            df[col] = df[col].astype("str")
    return df


def build(ctx) -> list[Table]:
    data = load()
    return [
        Table(
            name="published_figures",
            title="Published figures on internet access in DKI Jakarta (BPS, SMERU), with citations",
            description=(
                "Figures typed from publications, each row with its citation and URL: the city-wide numbers "
                "this dashboard breaks down per kelurahan. Embedded in the project (always available)."
            ),
            data=data,
            fields=FIELDS,
            sources=["published_figures"],
        )
    ]
