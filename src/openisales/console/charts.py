"""Server-rendered SVG charts for the console: pure functions returning markup.

:func:`bar_chart` draws labelled horizontal bars (outcomes by failure code,
display result, business result), :func:`time_series` vertical bars over
labelled buckets (attempts per hour, labels already in the VDN's time zone),
:func:`status_bar` one 100 % stacked bar with a legend (records by status).

Every chart is an ``<svg role="img">`` with an ``aria-label`` (the title and
the data in words), a ``<title>`` and a ``<desc>``; each bar carries a
``<title>`` tooltip with its label and value. Labels and titles are escaped
(characters XML cannot hold become U+FFFD), values are printed with thousands
separators, the largest value spans the full plot, and empty input draws a
small "No data" chart. No JavaScript, no external resources; the same input
gives the same string.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from markupsafe import Markup, escape

TEXT = "#1a1a1a"  # contrast 17.4:1 on white
MUTED = "#595959"  # axis and baseline, 7:1 on white
# Bar fills: each at least 4.5:1 against white (WCAG AA for text, above the
# 3:1 asked of graphics), distinguishable side by side.
PALETTE = (
    "#1f5fa8",  # blue
    "#b34700",  # orange
    "#2e7d32",  # green
    "#7b1fa2",  # purple
    "#c62828",  # red
    "#00695c",  # teal
    "#5d4037",  # brown
    "#37474f",  # blue grey
)
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
NO_DATA = "No data"

_CHAR_PX = 7.0  # average advance of a 12 px character; East Asian wide ones count 12
_WIDE_PX = 12.0
_ROW = 22  # height of one horizontal bar's row
_BAR = 16  # thickness of a bar
_TITLE_H = 28  # room for the title line
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def bar_chart(
    bars: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = 480,
    label_width: int = 160,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``, in the order given.

    ``label_width`` pixels hold the labels (a longer label is shortened with
    "…"; its tooltip keeps it whole); the value is printed after each bar.
    Bars take the palette's colours in turn (classes ``bar c0`` … ``c7``).
    Raises ``ValueError`` for a negative value.
    """
    _check(bars)
    if not bars:
        return _no_data(title, width)
    texts = [_count(v) for _, v in bars]
    value_width = max(_text_px(t) for t in texts) + 8
    plot = max(40.0, width - label_width - value_width - 8)
    top = max(v for _, v in bars)
    height = _TITLE_H + _ROW * len(bars) + 4
    out = [_open(title, width, height, _summary(bars)), _title_text(title)]
    for i, ((label, value), text) in enumerate(zip(bars, texts, strict=True)):
        y = _TITLE_H + _ROW * i
        w = _scale(value, top, plot)
        colour = PALETTE[i % len(PALETTE)]
        shown = _shorten(label, label_width - 8)
        out.append(
            f'<g class="bar-row">'
            f'<text class="label" x="{label_width - 8}" y="{y + 12}" text-anchor="end" '
            f'fill="{TEXT}">{_t(shown)}</text>'
            f'<rect class="bar c{i % len(PALETTE)}" x="{label_width}" y="{y}" width="{_num(w)}" '
            f'height="{_BAR}" fill="{colour}">'
            f"<title>{_t(f'{label}: {text}')}</title></rect>"
            f'<text class="value" x="{_num(label_width + w + 4)}" y="{y + 12}" '
            f'fill="{TEXT}">{text}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def time_series(
    points: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = 480,
    height: int = 180,
) -> Markup:
    """Vertical bars over time buckets: ``(label, value)`` in time order.

    The caller formats the labels (``"14:00"`` in the VDN's time zone). Labels
    are printed under the bars, every k-th one when they would not fit; each
    bar's tooltip has its own. The largest value is marked on the axis.
    Raises ``ValueError`` for a negative value.
    """
    _check(points)
    if not points:
        return _no_data(title, width)
    top = max(v for _, v in points)
    top_text = _count(top)
    left = _text_px(top_text) + 8
    bottom = height - 20  # baseline; labels below it
    plot_h = max(20.0, bottom - _TITLE_H - 8)
    plot_w = max(float(len(points)), width - left - 4)
    slot = plot_w / len(points)
    bar_w = max(1.0, slot * 0.8)
    label_px = max(_text_px(label) for label, _ in points) + 6
    every = max(1, math.ceil(label_px / slot))
    out = [
        _open(title, width, height, _summary(points)),
        _title_text(title),
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{width - 4}" y2="{bottom}" '
        f'stroke="{MUTED}" stroke-width="1"/>',
        f'<text class="axis-label" x="{left - 4}" y="{_num(bottom - plot_h + 4)}" '
        f'text-anchor="end" fill="{TEXT}">{top_text}</text>',
        f'<text class="axis-label" x="{left - 4}" y="{bottom}" text-anchor="end" '
        f'fill="{TEXT}">0</text>',
    ]
    for i, (label, value) in enumerate(points):
        h = _scale(value, top, plot_h)
        x = left + slot * i + (slot - bar_w) / 2
        out.append(
            f'<g class="bar-col"><rect class="bar" x="{_num(x)}" y="{_num(bottom - h)}" '
            f'width="{_num(bar_w)}" height="{_num(h)}" fill="{PALETTE[0]}">'
            f"<title>{_t(f'{label}: {_count(value)}')}</title></rect>"
        )
        if i % every == 0:
            out.append(
                f'<text class="label" x="{_num(x + bar_w / 2)}" y="{height - 6}" '
                f'text-anchor="middle" fill="{TEXT}">{_t(label)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


def status_bar(
    parts: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = 480,
) -> Markup:
    """One 100 % stacked bar of ``(label, count)`` parts, with a legend below.

    Each part takes the palette's next colour (classes ``bar c0`` …); the
    legend gives its count and share. All counts zero, or no parts: "No data".
    Raises ``ValueError`` for a negative count.
    """
    _check(parts)
    total = sum(v for _, v in parts)
    if total == 0:
        return _no_data(title, width)
    plot = float(width - 8)
    height = _TITLE_H + _BAR + 12 + 18 * len(parts)
    summary = ", ".join(f"{label} {_count(v)} ({_share(v, total)})" for label, v in parts)
    out = [_open(title, width, height, summary), _title_text(title)]
    x = 4.0
    for i, (label, value) in enumerate(parts):
        w = value * plot / total
        out.append(
            f'<rect class="bar c{i % len(PALETTE)}" x="{_num(x)}" y="{_TITLE_H}" '
            f'width="{_num(w)}" height="{_BAR}" fill="{PALETTE[i % len(PALETTE)]}">'
            f"<title>{_t(f'{label}: {_count(value)} ({_share(value, total)})')}</title>"
            "</rect>"
        )
        x += w
    for i, (label, value) in enumerate(parts):
        y = _TITLE_H + _BAR + 12 + 18 * i
        out.append(
            f'<g class="legend"><rect class="swatch c{i % len(PALETTE)}" x="4" y="{y}" '
            f'width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="22" y="{y + 10}" fill="{TEXT}">'
            f"{_t(f'{label}: {_count(value)} ({_share(value, total)})')}</text></g>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def _check(items: Sequence[tuple[str, int]]) -> None:
    for label, value in items:
        if value < 0:
            raise ValueError(f"negative value {value} for {label!r}")


def _open(title: str, width: int, height: float, summary: str) -> str:
    label = f"{title}. {summary}" if summary else title
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{_num(height)}" viewBox="0 0 {width} {_num(height)}" '
        f'aria-label="{_t(label)}" {FONT}>'
        f"<title>{_t(title)}</title><desc>{_t(summary)}</desc>"
    )


def _title_text(title: str) -> str:
    return (
        f'<text class="chart-title" x="4" y="16" font-weight="bold" fill="{TEXT}">'
        f"{_t(title)}</text>"
    )


def _no_data(title: str, width: int) -> Markup:
    return Markup(
        _open(title, width, 56, NO_DATA)
        + _title_text(title)
        + f'<text class="no-data" x="4" y="44" fill="{TEXT}">{NO_DATA}</text></svg>'
    )


def _summary(items: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{label} {_count(v)}" for label, v in items)


def _scale(value: int, top: int, span: float) -> float:
    """``value``'s length when ``top`` spans ``span`` pixels (monotone in ``value``)."""
    return value / top * span if top else 0.0


def _count(value: int) -> str:
    return f"{value:,}"


def _share(value: int, total: int) -> str:
    if value == 0:
        return "0%"
    pct = value * 100 / total
    return "<1%" if pct < 1 else f"{math.floor(pct + 0.5)}%"


def _num(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _t(text: str) -> Markup:
    """``text`` as XML character data or attribute value: cleaned (:func:`_xml`), escaped."""
    return escape(_xml(text))


def _xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (each becomes U+FFFD)."""
    return _NOT_XML.sub("\ufffd", text)


def _char_px(ch: str) -> float:
    return _WIDE_PX if unicodedata.east_asian_width(ch) in ("W", "F") else _CHAR_PX


def _text_px(text: str) -> int:
    return math.ceil(sum(_char_px(c) for c in text))


def _shorten(text: str, px: float) -> str:
    """``text``, cut and ended with "…" when wider than ``px`` (estimated)."""
    if _text_px(text) <= px:
        return text
    used = _CHAR_PX  # the ellipsis
    for i, ch in enumerate(text):
        used += _char_px(ch)
        if used > px:
            return text[:i] + "…"
    return text  # pragma: no cover - the whole text fit after all
