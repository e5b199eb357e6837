"""Printing and plotting simulation results."""

from __future__ import annotations

import base64
import html
import io
import textwrap
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from django.utils.translation import gettext, gettext_noop

from policies.simulator.engine import SimResult

# (result attribute, header msgid shown in the active language, format)
COLUMNS = (
    ("policy", gettext_noop("policy"), "{}"),
    ("overload_minutes", gettext_noop("overload min"), "{:.0f}"),
    ("vm_hours", gettext_noop("VM-hours"), "{:.0f}"),
    ("scale_outs", gettext_noop("scale-outs"), "{}"),
    ("scale_ins", gettext_noop("scale-ins"), "{}"),
    ("flaps", gettext_noop("flaps"), "{}"),
    ("peak_vms", gettext_noop("peak VMs"), "{}"),
)
WARM_COLUMN = ("warm_vm_hours", gettext_noop("stopped VM-h"), "{:.0f}")  # shown when some result has a warm pool


def _columns(results: list[SimResult]) -> tuple:
    if any(r.warm_pool_size for r in results):
        return COLUMNS[:3] + (WARM_COLUMN,) + COLUMNS[3:]
    return COLUMNS


def table(results: list[SimResult], *, markdown: bool = False) -> str:
    """A text (or Markdown) table, with each policy's change against the first row, its headers in the active
    language. VM-hours are powered-on VM-hours; with a warm pool, "stopped VM-h" are the powered-off ones in the
    pool."""
    columns = _columns(results)
    heads = [gettext(h) for _, h, _ in columns] + [gettext("overload vs first"), gettext("VM-hours vs first")]
    rows = []
    for r in results:
        base = results[0]
        cells = [fmt.format(getattr(r, key)) for key, _, fmt in columns]
        cells.append(_pct(r.overload_minutes, base.overload_minutes))
        cells.append(_pct(r.vm_hours, base.vm_hours))
        rows.append(cells)
    if markdown:
        lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(width(h), *(width(row[i]) for row in rows)) for i, h in enumerate(heads)]
    out = ["  ".join(ljust(h, w) for h, w in zip(heads, widths, strict=True))]
    out += ["  ".join(ljust(c, w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a Hangul syllable (any East Asian wide character) takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ljust(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` terminal columns (``str.ljust`` for Latin text)."""
    return text + " " * (columns - width(text))


def _pct(value: float, base: float) -> str:
    if base == 0:
        return "—"
    return f"{(value - base) / base * 100:+.0f} %"


class PlotError(ValueError):
    """The plot cannot be drawn as asked (e.g. a window with no samples); the message says why."""


def _window(series: dict[str, list], window: tuple[float, float] | None) -> dict[str, list]:
    if window is None:
        return series
    keep = [i for i, t in enumerate(series["t"]) if window[0] <= t <= window[1]]
    return {k: [v[i] for i in keep] for k, v in series.items()}


LINE_STYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def styles(count: int) -> list[tuple[Any, Any]]:
    """A (colour, line style) pair per curve, every pair different and every colour different for any count:
    the ten qualitative colours up to ten curves, else colours spread over a continuous map."""
    # matplotlib takes about half a second to import: only when a plot is asked for.
    import matplotlib  # noqa: PLC0415

    if count <= 10:
        colours = [matplotlib.colormaps["tab10"](i) for i in range(count)]
    else:
        cmap = matplotlib.colormaps["turbo"]
        colours = [cmap(0.05 + 0.9 * i / (count - 1)) for i in range(count)]
    return [(colour, LINE_STYLES[i % len(LINE_STYLES)]) for i, colour in enumerate(colours)]


@dataclass(frozen=True)
class PlotWords:
    """The plot's own words (``{policy}``, ``{threshold}``, ``{overload}``, ``{vm_hours}``, ``{stopped}`` filled
    in), English by default; a page passes them in its reader's language."""

    trace: str = "{load} (trace)"
    capacity: str = "{policy}: capacity at {threshold} % CPU"
    vms_axis: str = "VMs (powered on)"
    vms: str = "{policy} ({overload} overload min, {vm_hours} VM-h)"
    vms_warm: str = "{policy} ({overload} overload min, {vm_hours} VM-h, {stopped} stopped VM-h)"


def plot_words() -> PlotWords:
    """The plot's words in the active language (``simulate --plot``)."""
    return PlotWords(
        trace=gettext("{load} (trace)"), capacity=gettext("{policy}: capacity at {threshold} % CPU"),
        vms_axis=gettext("VMs (powered on)"), vms=gettext("{policy} ({overload} overload min, {vm_hours} VM-h)"),
        vms_warm=gettext("{policy} ({overload} overload min, {vm_hours} VM-h, {stopped} stopped VM-h)"),
    )


# Latin faces first, then Hangul ones (docs/i18n.md): a Korean legend needs one of them installed.
PLOT_FONTS = ["DejaVu Sans", "NanumGothic", "Noto Sans CJK KR", "UnDotum"]


@contextmanager
def plot_fonts() -> Iterator[None]:
    """Draw with :data:`PLOT_FONTS` that are installed (matplotlib falls back along the list per glyph)."""
    import matplotlib  # noqa: PLC0415 - see styles()
    from matplotlib import font_manager  # noqa: PLC0415

    installed = {font.name for font in font_manager.fontManager.ttflist}
    fonts = [name for name in PLOT_FONTS if name in installed] or ["sans-serif"]
    with matplotlib.rc_context({"font.family": fonts}):
        yield


def _figure(results: list[SimResult], *, threshold: float, tz_offset: float, title: str,
            window: tuple[float, float] | None = None, load_label: str = "load", words: PlotWords | None = None):
    import matplotlib  # noqa: PLC0415 - see styles()

    matplotlib.use("Agg")
    w = words or PlotWords()
    import matplotlib.dates as mdates  # noqa: PLC0415
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    first = _window(results[0].series, window)
    if not first["t"]:
        raise PlotError(gettext("the plot window holds no samples of the trace; choose a START..END inside the trace")
                        if window else gettext("no samples to plot"))
    tz = timezone(timedelta(seconds=tz_offset))
    fig, (ax_load, ax_vms) = plt.subplots(2, 1, figsize=(15, 8), sharex=True, height_ratios=[3, 2])
    times = [datetime.fromtimestamp(t, UTC).astimezone(tz) for t in first["t"]]
    # a sample holds from its time to the next one's: steps, so a one-interval spike is as wide as it lasted
    ax_load.step(times, [float("nan") if v is None else v for v in first["load"]], where="post", lw=0.6,
                 color="black", label=w.trace.format(load=load_label))
    for r, (colour, style) in zip(results, styles(len(results)), strict=True):
        series = _window(r.series, window)
        t = [datetime.fromtimestamp(x, UTC).astimezone(tz) for x in series["t"]]
        ax_load.step(t, [c * threshold / 100 for c in series["capacity"]], where="post", lw=0.9, color=colour,
                     linestyle=style, alpha=0.9, label=w.capacity.format(policy=r.policy, threshold=f"{threshold:g}"))
        figures = {"policy": r.policy, "overload": f"{r.overload_minutes:.0f}", "vm_hours": f"{r.vm_hours:.0f}",
                   "stopped": f"{r.warm_vm_hours:.0f}"}
        ax_vms.step(t, series["vms"], where="post", lw=0.9, color=colour, linestyle=style, alpha=0.9,
                    label=(w.vms_warm if r.warm_pool_size else w.vms).format(**figures))
    ax_load.set_ylabel(load_label)
    ax_load.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    ax_load.set_title("\n".join(textwrap.wrap(title, width=110)) if title else "", fontsize=10)
    ax_vms.set_ylabel(w.vms_axis)
    ax_vms.yaxis.set_major_locator(MaxNLocator(integer=True))  # a VM count has no fractions
    ax_vms.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    short = window is not None or first["t"][-1] - first["t"][0] <= 3 * 86400  # days alone would all read alike
    ax_vms.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M" if short else "%m-%d", tz=tz))
    fig.tight_layout()
    return fig


def plot(results: list[SimResult], path: str | Path, *, threshold: float, tz_offset: float = 0.0,
         title: str = "", window: tuple[float, float] | None = None, load_label: str = "load",
         words: PlotWords | None = None) -> None:
    """Write a PNG/SVG/PDF (by extension) or a self-contained HTML page (the PNG inline, and the table);
    :class:`PlotError` when there is nothing to plot (an empty window). ``words`` default to English; the page's
    own words and the table are in the active language."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 - see styles()

    path = Path(path)
    with plot_fonts():
        fig = _figure(results, threshold=threshold, tz_offset=tz_offset, title=title, window=window,
                      load_label=load_label, words=words)
        try:
            if path.suffix.lower() in (".html", ".htm"):
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
                data = base64.b64encode(buf.getvalue()).decode("ascii")
                body = html.escape(table(results))
                heading = html.escape(title or gettext("Simulation"))
                alt = html.escape(gettext("load, capacity and VM count"), quote=True)
                path.write_text(
                    "<!doctype html><html><head><meta charset='utf-8'><title>"
                    f"{heading}</title></head><body>"
                    f"<h1>{heading}</h1><pre>{body}</pre>"
                    f"<img alt='{alt}' src='data:image/png;base64,{data}'></body></html>",
                    encoding="utf-8",
                )
            else:
                fig.savefig(path, dpi=110, bbox_inches="tight")
        finally:
            plt.close(fig)


def plot_png(results: list[SimResult], *, threshold: float, tz_offset: float = 0.0, title: str = "",
             load_label: str = "load", words: PlotWords | None = None, dpi: int = 90) -> bytes:
    """The plot as PNG bytes (for a page); :class:`PlotError` when there is nothing to plot."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 - see styles()

    with plot_fonts():
        fig = _figure(results, threshold=threshold, tz_offset=tz_offset, title=title, load_label=load_label,
                      words=words)
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
            return buf.getvalue()
        finally:
            plt.close(fig)
