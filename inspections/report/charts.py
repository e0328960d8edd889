"""The report's charts as PNG bytes (matplotlib, Agg backend, DejaVu Sans for Vietnamese glyphs)."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from .data import ReportData

WIDTH_IN, HEIGHT_IN, DPI = 6.4, 3.2, 150
LATE_COLOUR, EARLY_COLOUR, ABSENT_COLOUR, OTHER_COLOUR = "#c0504d", "#f79646", "#4f81bd", "#9bbb59"


@dataclass(frozen=True)
class Chart:
    """One chart: a file-name key, its caption and the PNG."""

    key: str
    caption: str
    png: bytes


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; set before pyplot is imported
    from matplotlib import pyplot

    pyplot.rcParams.update({"font.family": "DejaVu Sans", "font.size": 8, "axes.spines.top": False,
                            "axes.spines.right": False, "svg.fonttype": "none"})
    return pyplot


def _png(figure) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    _pyplot().close(figure)
    return buffer.getvalue()


def _label(text: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(text, width)[:3])


def units_chart(data: ReportData) -> bytes:
    """Late, early and absent (unexcused sessions) counts of each report group, side by side."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    names = [_label(u.name) for u in data.units]
    series = (("late_count", "Đi muộn (lần)", LATE_COLOUR), ("early_count", "Về sớm (lần)", EARLY_COLOUR),
              ("absent_sessions", "Vắng không lý do (buổi)", ABSENT_COLOUR))
    width = 0.8 / len(series)
    for i, (key, label, colour) in enumerate(series):
        xs = [j + (i - 1) * width for j in range(len(names))]
        values = [u.counts[key] for u in data.units]
        bars = axes.bar(xs, values, width, label=label, color=colour)
        axes.bar_label(bars, fontsize=7, padding=1)
    axes.set_xticks(range(len(names)), names)
    axes.set_ylabel("Số lần / số buổi")
    axes.set_title(f"Vi phạm thời giờ làm việc theo đơn vị - kỳ {data.period.label}", fontsize=9)
    axes.legend(fontsize=7, frameon=False)
    axes.margins(y=0.15)
    return _png(figure)


def trend_chart(data: ReportData) -> bytes:
    """Late, early and absent totals of the last six periods; periods without punches are marked."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    labels = [p.period.short_label for p in data.trend]
    for key, label, colour in (("late_count", "Đi muộn (lần)", LATE_COLOUR),
                               ("early_count", "Về sớm (lần)", EARLY_COLOUR),
                               ("absent_sessions", "Vắng không lý do (buổi)", ABSENT_COLOUR)):
        xs = [i for i, p in enumerate(data.trend) if p.has_data]
        ys = [data.trend[i].counts[key] for i in xs]
        axes.plot(xs, ys, marker="o", label=label, color=colour)
        for x, y in zip(xs, ys, strict=True):
            axes.annotate(str(y), (x, y), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7)
    for i, point in enumerate(data.trend):
        if not point.has_data:
            axes.annotate("chưa có\ndữ liệu", (i, 0), ha="center", va="bottom", fontsize=7, color="#777777")
    axes.set_xticks(range(len(labels)), labels)
    axes.set_xlim(-0.5, len(labels) - 0.5)
    axes.set_ylim(bottom=0)
    axes.margins(y=0.2)
    axes.set_title("Diễn biến 6 tháng gần nhất (toàn bộ đơn vị)", fontsize=9)
    axes.legend(fontsize=7, frameon=False)
    return _png(figure)


def violations_chart(data: ReportData) -> bytes:
    """Spot-check violations by checklist item, most frequent first (horizontal bars)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    items = sorted(data.spot.violations, key=lambda v: (-v.count, v.label))[:12]
    figure, axes = plt.subplots(figsize=(WIDTH_IN, max(1.6, 0.3 * len(items) + 0.8)))
    bars = axes.barh([_label(v.label, 40) for v in reversed(items)], [v.count for v in reversed(items)],
                     color=OTHER_COLOUR)
    axes.bar_label(bars, fontsize=7, padding=2)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks for a handful of findings
    axes.set_xlabel("Số lần phát hiện")
    axes.set_title("Vi phạm theo tiêu chí kiểm tra", fontsize=9)
    return _png(figure)


def report_charts(data: ReportData) -> list[Chart]:
    """The charts that have something to show for this report."""
    charts = []
    if data.units and data.has_punches:
        charts.append(Chart("units", "Biểu đồ 1. Số lần đi muộn, về sớm và số buổi vắng không lý do theo đơn vị",
                            units_chart(data)))
    if any(p.has_data for p in data.trend):
        charts.append(Chart("trend", f"Biểu đồ {len(charts) + 1}. Diễn biến 6 tháng gần nhất", trend_chart(data)))
    if data.spot.violations:
        charts.append(Chart("violations", f"Biểu đồ {len(charts) + 1}. Vi phạm theo tiêu chí kiểm tra đột xuất",
                            violations_chart(data)))
    return charts
