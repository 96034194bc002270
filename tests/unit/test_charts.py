from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, strategies as st
from markupsafe import Markup

from openisales.console.charts import MUTED, PALETTE, TEXT, bar_chart, status_bar, time_series

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if "bar" in r.get("class", "").split()]


def widths(root: ET.Element) -> list[float]:
    return [float(r.get("width", "nan")) for r in bars(root)]


def tooltips(root: ET.Element) -> list[str]:
    return [r.findtext(f"{SVG}title") or "" for r in bars(root)]


ALL = [
    lambda data: bar_chart(data, title="Outcomes"),
    lambda data: time_series(data, title="Attempts per hour"),
    lambda data: status_bar(data, title="Records"),
]


@pytest.mark.parametrize("chart", ALL)
def test_a_chart_is_an_accessible_well_formed_svg(chart) -> None:
    root = parse(chart([("busy", 3), ("no answer", 1)]))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.findtext(f"{SVG}title") or ""
    assert title in {"Outcomes", "Attempts per hour", "Records"}
    assert (root.get("aria-label") or "").startswith(f"{title}. busy 3")
    assert "no answer 1" in (root.findtext(f"{SVG}desc") or "")
    assert [t.split(" (")[0] for t in tooltips(root)] == ["busy: 3", "no answer: 1"]
    assert all(r.get("fill") in PALETTE for r in bars(root))


@pytest.mark.parametrize("chart", ALL)
def test_labels_and_titles_are_escaped(chart) -> None:
    evil = "<script>alert('x')</script>&\""
    svg = str(chart([(evil, 1)]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    assert tooltips(root)[0].startswith(f"{evil}: 1")
    titled = str(bar_chart([("a", 1)], title="<b>Busy</b>"))
    assert "<b>" not in titled
    assert ET.fromstring(titled).findtext(f"{SVG}title") == "<b>Busy</b>"


def test_characters_xml_cannot_carry_are_replaced() -> None:
    root = parse(bar_chart([("a\x00b\x1b", 1)], title="t\x07"))
    assert tooltips(root) == ["a\ufffdb\ufffd: 1"]
    assert root.findtext(f"{SVG}title") == "t\ufffd"


def test_bar_widths_are_proportional_to_the_values() -> None:
    full, half, third, zero = widths(
        parse(bar_chart([("a", 300), ("b", 150), ("c", 100), ("d", 0)], title="t"))
    )
    assert abs(full / 2 - half) <= 1
    assert abs(full / 3 - third) <= 1
    assert zero == 0


def test_the_largest_value_spans_the_plot_whatever_its_size() -> None:
    small = widths(parse(bar_chart([("a", 1)], title="t", width=480, label_width=160)))
    huge = parse(bar_chart([("a", 10**12), ("b", 5 * 10**11)], title="t"))
    assert small[0] > 200
    assert abs(widths(huge)[0] / 2 - widths(huge)[1]) <= 1
    values = [t.text for t in huge.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["1,000,000,000,000", "500,000,000,000"]


def test_all_zero_values_draw_empty_bars() -> None:
    assert widths(parse(bar_chart([("a", 0), ("b", 0)], title="t"))) == [0, 0]
    heights = [float(r.get("height", "")) for r in bars(parse(time_series([("0h", 0)], title="t")))]
    assert heights == [0]


def test_a_long_label_is_shortened_and_its_tooltip_keeps_it() -> None:
    label = "x" * 100
    root = parse(bar_chart([(label, 1)], title="t"))
    shown = next(t.text for t in root.iter(f"{SVG}text") if t.get("class") == "label")
    assert shown is not None and shown.endswith("…") and len(shown) < 30
    assert tooltips(root) == [f"{label}: 1"]


def test_time_series_heights_are_proportional_and_labels_thinned_to_fit() -> None:
    points = [(f"{h:02d}:00", h) for h in range(48)]
    root = parse(time_series(points, title="t"))
    heights = [float(r.get("height", "")) for r in bars(root)]
    assert len(heights) == 48
    assert abs(heights[46] / 2 - heights[23]) <= 1
    assert heights[0] == 0
    assert tooltips(root)[5] == "05:00: 5"
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert labels[0] == "00:00"
    assert 1 < len(labels) < 48
    few = parse(time_series(points[:4], title="t"))
    assert [t.text for t in few.iter(f"{SVG}text") if t.get("class") == "label"] == [
        "00:00",
        "01:00",
        "02:00",
        "03:00",
    ]


def test_status_bar_segments_fill_the_bar_and_the_legend_gives_shares() -> None:
    parts = [("waiting", 50), ("in call", 3), ("awaiting write-back", 7), ("completed", 940)]
    root = parse(status_bar(parts, title="Records by status", width=408))
    assert sum(widths(root)) == pytest.approx(400, abs=0.05)
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") is None]
    assert legend == [
        "waiting: 50 (5%)",
        "in call: 3 (<1%)",
        "awaiting write-back: 7 (<1%)",
        "completed: 940 (94%)",
    ]
    assert widths(parse(status_bar([("a", 0), ("b", 2)], title="t")))[0] == 0


@pytest.mark.parametrize(
    "svg",
    [
        bar_chart([], title="Outcomes"),
        time_series([], title="Outcomes"),
        status_bar([], title="Outcomes"),
        status_bar([("waiting", 0), ("completed", 0)], title="Outcomes"),
    ],
)
def test_empty_input_draws_no_data(svg) -> None:
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Outcomes. No data"
    assert bars(root) == []
    assert "No data" in [t.text for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("chart", ALL)
def test_a_negative_value_is_refused(chart) -> None:
    with pytest.raises(ValueError, match="negative"):
        chart([("a", -1)])


def test_the_same_input_gives_the_same_markup() -> None:
    data = [("busy", 7), ("暂停", 3), ("no answer", 0)]
    for chart in ALL:
        assert chart(list(data)) == chart(list(data))


def _luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_colours_have_aa_contrast_on_white() -> None:
    for colour in (*PALETTE, TEXT, MUTED):
        assert 1.05 / (_luminance(colour) + 0.05) >= 4.5, colour
    assert len(set(PALETTE)) == len(PALETTE)


DATA = st.lists(st.tuples(st.text(max_size=40), st.integers(min_value=0, max_value=10**15)))


@given(DATA)
def test_any_bars_render_parseable_svg_with_monotone_widths(data) -> None:
    root = parse(bar_chart(data, title="t"))
    drawn = widths(root)
    assert len(drawn) == len(data)
    for (_, a), wa in zip(data, drawn, strict=True):
        for (_, b), wb in zip(data, drawn, strict=True):
            if a < b:
                assert wa <= wb
            if a == b:
                assert wa == wb


@given(DATA)
def test_any_series_and_status_render_parseable_svg(data) -> None:
    assert len(bars(parse(time_series(data, title="t")))) == len(data)
    expected = len(data) if sum(v for _, v in data) else 0
    assert len(bars(parse(status_bar(data, title="t")))) == expected
