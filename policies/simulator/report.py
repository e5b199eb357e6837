"""Printing and plotting simulation results."""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from policies.simulator.engine import SimResult

COLUMNS = (
    ("policy", "policy", "{}"),
    ("overload_minutes", "overload min", "{:.0f}"),
    ("vm_hours", "VM-hours", "{:.0f}"),
    ("scale_outs", "scale-outs", "{}"),
    ("scale_ins", "scale-ins", "{}"),
    ("flaps", "flaps", "{}"),
    ("peak_vms", "peak VMs", "{}"),
)
WARM_COLUMN = ("warm_vm_hours", "stopped VM-h", "{:.0f}")  # shown when some result has a warm pool


def _columns(results: list[SimResult]) -> tuple:
    if any(r.warm_pool_size for r in results):
        return COLUMNS[:3] + (WARM_COLUMN,) + COLUMNS[3:]
    return COLUMNS


def table(results: list[SimResult], *, markdown: bool = False) -> str:
    """A text (or Markdown) table, with each policy's change against the first row. VM-hours are powered-on
    VM-hours; with a warm pool, "stopped VM-h" are the powered-off ones in the pool."""
    columns = _columns(results)
    heads = [h for _, h, _ in columns] + ["overload vs first", "VM-hours vs first"]
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
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def _pct(value: float, base: float) -> str:
    if base == 0:
        return "—"
    return f"{(value - base) / base * 100:+.0f} %"


def _window(series: dict[str, list], window: tuple[float, float] | None) -> dict[str, list]:
    if window is None:
        return series
    keep = [i for i, t in enumerate(series["t"]) if window[0] <= t <= window[1]]
    return {k: [v[i] for i in keep] for k, v in series.items()}


def _figure(results: list[SimResult], *, threshold: float, tz_offset: float, title: str,
            window: tuple[float, float] | None = None):
    # matplotlib takes about half a second to import: only when a plot is asked for.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.dates as mdates  # noqa: PLC0415
    import matplotlib.pyplot as plt  # noqa: PLC0415

    tz = timezone(timedelta(seconds=tz_offset))
    fig, (ax_load, ax_vms) = plt.subplots(2, 1, figsize=(14, 7.5), sharex=True, height_ratios=[3, 2])
    first = _window(results[0].series, window)
    times = [datetime.fromtimestamp(t, UTC).astimezone(tz) for t in first["t"]]
    ax_load.plot(times, [float("nan") if v is None else v for v in first["load"]], lw=0.6, color="black",
                 label="load (requests / interval)")
    colors = ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"]
    for r, color in zip(results, colors * 3, strict=False):
        series = _window(r.series, window)
        t = [datetime.fromtimestamp(x, UTC).astimezone(tz) for x in series["t"]]
        ax_load.step(t, [c * threshold / 100 for c in series["capacity"]], where="post", lw=0.8, color=color,
                     alpha=0.8, label=f"{r.policy}: capacity at {threshold:g} % CPU")
        ax_vms.step(t, series["vms"], where="post", lw=0.8, color=color, alpha=0.8,
                    label=f"{r.policy} ({r.overload_minutes:.0f} overload min, {r.vm_hours:.0f} VM-h"
                          + (f", {r.warm_vm_hours:.0f} stopped VM-h)" if r.warm_pool_size else ")"))
    ax_load.set_ylabel("requests per interval")
    ax_load.legend(loc="upper left", fontsize=8)
    ax_load.set_title(title)
    ax_vms.set_ylabel("VMs")
    ax_vms.legend(loc="upper left", fontsize=8)
    ax_vms.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M" if window else "%m-%d", tz=tz))
    fig.tight_layout()
    return fig


def plot(results: list[SimResult], path: str | Path, *, threshold: float, tz_offset: float = 0.0,
         title: str = "", window: tuple[float, float] | None = None) -> None:
    """Write a PNG/SVG/PDF (by extension) or a self-contained HTML page (the PNG inline, and the table)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 - see _figure

    path = Path(path)
    fig = _figure(results, threshold=threshold, tz_offset=tz_offset, title=title, window=window)
    try:
        if path.suffix.lower() in (".html", ".htm"):
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            data = base64.b64encode(buf.getvalue()).decode("ascii")
            body = html.escape(table(results))
            path.write_text(
                "<!doctype html><html><head><meta charset='utf-8'><title>"
                f"{html.escape(title or 'simulation')}</title></head><body>"
                f"<h1>{html.escape(title or 'Simulation')}</h1><pre>{body}</pre>"
                f"<img alt='load, capacity and VM count' src='data:image/png;base64,{data}'></body></html>",
                encoding="utf-8",
            )
        else:
            fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
