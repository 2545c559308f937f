"""The overview's server-written charts and tables (``analysis/svg_charts.py``, ``analysis/html_tables.py``): valid
XML, one mark per row, labels escaped, gaps for missing values, empty input, numbers in the page's language."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pandas as pd

from analysis import html_tables, svg_charts
from analysis.figures import OKABE_ITO
from analysis.svg_charts import GroupEstimate, SeriesPoint

NS = {"s": "http://www.w3.org/2000/svg"}
HOSTILE = 'Q1 <b>"poorest"</b> & $x$ :smile:'
# what Streamlit's Markdown looks for before loading KaTeX or its emoji plugin (StreamlitMarkdown, 1.67)
EMOJI = re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:")


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def marks(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter("{http://www.w3.org/2000/svg}g") if "mark" in (g.get("class") or "").split()]


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def groups(*estimates):
    return [GroupEstimate(f"G{i}", e, None if e is None else e - 0.03, None if e is None else e + 0.03, f"G{i}: {e}") for i, e in enumerate(estimates)]


def test_group_estimates_is_valid_svg_with_one_mark_per_row_and_its_hover_text():
    svg = svg_charts.group_estimates(groups(0.5, 0.7, 0.9), lang="en", title="Income", missing_note="– none")
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Income"
    assert root.find("s:title", NS).text == "Income" and "G1: 0.7" in root.find("s:desc", NS).text
    drawn = marks(root)
    assert [m.find("s:title", NS).text for m in drawn] == ["G0: 0.5", "G1: 0.7", "G2: 0.9"]
    dots = [float(m.find("s:circle", NS).get("cx")) for m in drawn]
    assert dots == sorted(dots) and len(set(dots)) == 3  # positions follow the estimates
    assert all(c.get("fill") == OKABE_ITO[0] for c in root.iter("{http://www.w3.org/2000/svg}circle"))
    assert "– none" not in texts(root)  # nothing missing, no note
    assert "\n" not in svg  # one line: a blank line would end Markdown's HTML block


def test_whisker_spans_the_interval_and_the_axis_reads_in_the_pages_language():
    rows = [GroupEstimate("a", 0.505, 0.48, 0.53, "a"), GroupEstimate("b", 0.9, 0.88, 0.92, "b")]
    root_id = parse(svg_charts.group_estimates(rows, lang="id", title="t", missing_note="n"))
    root_en = parse(svg_charts.group_estimates(rows, lang="en", title="t", missing_note="n"))
    mark = marks(root_en)[0]
    whisker, dot = mark.findall("s:line", NS)[0], mark.find("s:circle", NS)
    assert float(whisker.get("x1")) < float(dot.get("cx")) < float(whisker.get("x2"))
    def axis(root):
        return [t for g in root.iter(f"{{{NS['s']}}}g") if g.get("class") == "axis" for t in texts(g)]

    assert any(t.endswith("%") for t in axis(root_en))
    assert axis(root_id) == axis(root_en)  # whole percents
    # each estimate written at the right with its CI, in the page's language (an image shows no hover text)
    assert [texts(m)[-2:] for m in marks(root_id)] == [["50,5%", "(48,0–53,0%)"], ["90,0%", "(88,0–92,0%)"]]
    assert [texts(m)[-2:] for m in marks(root_en)] == [["50.5%", "(48.0–53.0%)"], ["90.0%", "(88.0–92.0%)"]]
    fine = [SeriesPoint("DKI", 2019, 1.2, "a"), SeriesPoint("DKI", 2020, 1.6, "b")]
    for lang, mark_ in (("id", ","), ("en", ".")):
        shown = [t for t in texts(parse(svg_charts.line_series(fine, lang=lang, title="t", percent=True, gap_note="g"))) if t.endswith("%")]
        assert shown and all(mark_ in t for t in shown)  # 1-decimal ticks in the page's language: 1,2% / 1.2%


def test_a_missing_estimate_is_a_gap_with_a_note():
    rows = groups(0.5, None, 0.9) + [GroupEstimate("nan", math.nan, math.nan, math.nan, "nan: no reliable estimate")]
    root = parse(svg_charts.group_estimates(rows, lang="en", title="t", missing_note="– no reliable estimate"))
    drawn = marks(root)
    assert len(drawn) == 4  # every row keeps its place
    missing = [m for m in drawn if "missing" in m.get("class").split()]
    assert len(missing) == 2 and all(m.find("s:circle", NS) is None and m.find("s:line", NS) is None for m in missing)
    assert missing[1].find("s:title", NS).text == "nan: no reliable estimate"
    assert "– no reliable estimate" in texts(root)


def test_labels_and_hover_texts_are_escaped():
    rows = [GroupEstimate(HOSTILE, 0.5, 0.4, 0.6, HOSTILE), GroupEstimate("b", 0.6, 0.5, 0.7, "b")]
    svg = svg_charts.group_estimates(rows, lang="en", title=HOSTILE, missing_note="n", notes=[HOSTILE])
    root = parse(svg)  # still well-formed
    assert root.get("aria-label") == HOSTILE and marks(root)[0].find("s:title", NS).text == HOSTILE
    assert HOSTILE in texts(root)
    assert root.find(".//s:b", NS) is None and root.find(".//b") is None  # no element smuggled in
    assert "$" not in svg and not EMOJI.search(svg)  # no KaTeX, no emoji plugin for Streamlit's Markdown to load


def test_empty_input_draws_the_title_and_no_mark():
    root = parse(svg_charts.group_estimates([], lang="en", title="Nothing", missing_note="n", notes=["SYNTHETIC"]))
    assert marks(root) == [] and "Nothing" in texts(root) and "SYNTHETIC" in texts(root)
    root = parse(svg_charts.line_series([], lang="en", title="Nothing", percent=True, gap_note="g"))
    assert marks(root) == [] and "Nothing" in texts(root)


def series(*rows):
    return [SeriesPoint(r, y, v, f"{r}, {y}: {v}") for r, y, v in rows]


def test_line_series_one_mark_per_point_one_line_per_region_in_palette_order():
    points = series(("DKI", 2019, 80.0), ("DKI", 2020, 85.5), ("DKI", 2021, 90.0), ("Indonesia", 2019, 60.0), ("Indonesia", 2021, 65.0))
    root = parse(svg_charts.line_series(points, lang="id", title="Rumah tangga", percent=True, gap_note="Garis terputus"))
    assert [m.find("s:title", NS).text for m in marks(root)] == [p.hover for p in points]
    lines = list(root.iter("{http://www.w3.org/2000/svg}polyline"))
    assert [ln.get("stroke") for ln in lines] == [OKABE_ITO[0]]  # Indonesia has no 2020: no line across the gap
    assert "Garis terputus" in texts(root)  # and the gap is said
    assert {"2019", "2020", "2021", "DKI", "Indonesia"} <= set(texts(root))
    assert any(t.endswith("%") for t in texts(root))
    higher = {m.find("s:title", NS).text: float(m.find("s:circle", NS).get("cy")) for m in marks(root)}
    assert higher["DKI, 2019: 80.0"] < higher["Indonesia, 2019: 60.0"]  # higher values drawn higher (smaller y)


def test_line_series_numbers_that_are_not_percentages_use_the_pages_separators():
    points = series(("DKI", 2019, 1_500_000.0), ("DKI", 2020, 1_650_000.0))
    root = parse(svg_charts.line_series(points, lang="id", title="Rp", percent=False, gap_note="g"))
    ticks = [t for t in texts(root) if t[:1].isdigit() and len(t) > 4]
    assert ticks and all("." in t and "%" not in t for t in ticks)  # 1.500.000, not 1,500,000 or a percentage
    assert "g" not in texts(root)  # no gap, no note


def test_a_missing_value_in_a_series_breaks_its_line():
    points = series(("DKI", 2019, 80.0), ("DKI", 2020, math.nan), ("DKI", 2021, 90.0), ("DKI", 2022, 91.0))
    root = parse(svg_charts.line_series(points, lang="en", title="t", percent=True, gap_note="a break"))
    assert len(marks(root)) == 3
    assert [len(ln.get("points").split()) for ln in root.iter("{http://www.w3.org/2000/svg}polyline")] == [2]  # 2021-2022 only
    assert "a break" in texts(root)


def test_the_image_figure_shows_and_downloads_the_same_file_and_reads_out_every_mark():
    svg = svg_charts.group_estimates(groups(0.5, 0.6), lang="en", title="Income <&>", missing_note="n")
    figure = ET.fromstring(svg_charts.image_figure(svg, "app/static/figure-0123456789abcdef.svg", 'gap-"x".svg', "Download <SVG>"))
    img, link = figure.find("img"), figure.find("figcaption/a")
    assert img.get("src") == link.get("href") == "app/static/figure-0123456789abcdef.svg"
    assert link.get("download") == 'gap-"x".svg' and link.text == "Download <SVG>"
    assert figure.get("data-chart") == "groups"
    assert img.get("alt") == "Income <&>. G0: 0.5; G1: 0.6"  # the title, then every mark's hover text
    _, _, width, height = parse(svg).get("viewBox").split()
    assert (img.get("width"), img.get("height")) == (width, height)  # the box is reserved before the file arrives


def test_ticks_are_round_and_cover_the_range():
    assert svg_charts.ticks(0.47, 0.93) == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert svg_charts.ticks(23.0, 91.0) == [20.0, 40.0, 60.0, 80.0, 100.0]
    assert svg_charts.nice_step(0) == 1.0


def test_html_table_escapes_aligns_numbers_and_has_a_caption():
    frame = pd.DataFrame({"Area <x>": ["Kota & \"A\"", "B"], "Value": ["95,4%", "–"], "n": [1234, 56], "Note": ["a", "1 b"]})
    markup = html_tables.html_table(frame, caption="Source: BPS <2024>")
    root = ET.fromstring(markup)
    assert root.find("caption").text == "Source: BPS <2024>"
    assert [th.text for th in root.iter("th")] == list(frame.columns)
    cells = [[td.text for td in tr.iter("td")] for tr in root.find("tbody")]
    assert cells == [['Kota & "A"', "95,4%", "1234", "a"], ["B", "–", "56", "1 b"]]
    right = [bool(th.get("style")) for th in root.iter("th")]
    assert right == [False, True, True, False]  # numbers right-aligned, text not
    assert "\n" not in markup and "$" not in markup and not EMOJI.search(markup)
    explicit = ET.fromstring(html_tables.html_table(frame, numeric=["Note"]))
    assert [bool(th.get("style")) for th in explicit.iter("th")] == [False, False, False, True]
    empty = ET.fromstring(html_tables.html_table(frame.iloc[0:0]))
    assert len(empty.find("tbody")) == 0 and len(list(empty.iter("th"))) == 4


def test_the_overviews_html_blocks_escape_every_text_and_parse():
    cards = html_tables.metric_cards([(HOSTILE, "95.4% †", "95% CI <1>"), ("b", "–", None)], help_text=HOSTILE)
    block = html_tables.section(HOSTILE, cards, html_tables.bullets([HOSTILE, "two"]), html_tables.note(HOSTILE, lead=True),
                                html_tables.collapsed(HOSTILE, "<table class=\"html-table\"><tbody></tbody></table>"), None)
    root = ET.fromstring(f"<div>{block}</div>")  # well-formed: nothing a text holds became markup
    assert root.find("h3").text == HOSTILE
    assert [dl.find("dt").text for dl in root.iter("dl")] == [HOSTILE, "b"]
    assert [len(dl.findall("dd")) for dl in root.iter("dl")] == [2, 1]  # no note: no empty line
    assert [li.text for li in root.iter("li")] == [HOSTILE, "two"]
    assert root.find("details/summary").text == HOSTILE and root.find("details").get("open") is None  # closed
    assert "<script" not in block and "<style" not in block  # the CSS is added once per block by ui.markup
    assert html_tables.section(None, None) == ""
