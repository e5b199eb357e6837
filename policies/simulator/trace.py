"""Reading a load trace: any CSV with a time column and a load column; empty cells and missing rows are gaps."""

from __future__ import annotations

import csv
import math
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from django.utils.translation import gettext as _

SEP_LINE = re.compile(r"^sep=(.)\r?\n?$")


class TraceError(Exception):
    """The trace cannot be used; the message says which file, line or column and what to do (in the active
    language: the command's ``LANGUAGE_CODE``)."""


@dataclass(frozen=True)
class Trace:
    """Load samples on a time grid: ``loads[i]`` holds from ``times[i]`` to ``times[i + 1]`` (None = gap)."""

    times: list[float]  # epoch seconds, increasing
    loads: list[float | None]
    interval: float  # seconds per sample (the median spacing)
    tz_offset: float = 0.0  # seconds east of UTC of the first timestamp (for local-time plots)

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1] + self.interval

    @property
    def days(self) -> float:
        return (self.end - self.start) / 86400

    def with_gaps(self, spans: list[tuple[float, float]]) -> Trace:
        """Mark samples starting inside any [start, end] span as gaps."""
        loads = list(self.loads)
        for lo, hi in spans:
            i = bisect_left(self.times, lo)
            while i < len(self.times) and self.times[i] <= hi:
                loads[i] = None
                i += 1
        return Trace(self.times, loads, self.interval, self.tz_offset)


# A number this large is no time in seconds (the year 5138): it is in milliseconds, as Grafana's CSV export writes
# times when its values are not formatted; Prometheus' query_range writes seconds.
EPOCH_MS_FROM = 1e11


def parse_time(text: str) -> datetime:
    """ISO 8601 (``1995-07-01 00:00:00-04:00``, naive = UTC), epoch seconds or epoch milliseconds."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return datetime.fromtimestamp(number / 1000 if abs(number) >= EPOCH_MS_FROM else number, UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def separator_line(fh: TextIO) -> tuple[str, int]:
    """The delimiter a leading ``sep=;`` line names (spreadsheet exports, Grafana's "Download for Excel") and the
    lines consumed (1); else ``,`` and 0, with the file left at its start."""
    match = SEP_LINE.match(fh.readline())
    if match:
        return match.group(1), 1
    fh.seek(0)
    return ",", 0


def missing_column(path: Path, wanted: str, columns: Sequence[str], option: str) -> TraceError:
    """``path`` has no column ``wanted``: the columns it has, and the option (``--time-column``, ``--load-column``)
    that chooses another."""
    return TraceError(
        _("%(path)s: no column %(column)s (columns: %(columns)s); choose one with %(option)s.")
        % {"path": path, "column": repr(wanted), "columns": ", ".join(columns) or _("none"), "option": option}
    )


def read_trace(path: str | Path, *, time_column: str, load_column: str) -> Trace:
    """Read ``path``; raises :class:`TraceError` for a missing file, column or an unparsable row."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(_("Trace file %(path)s does not exist or is not a file.") % {"path": path})
    times: list[float] = []
    loads: list[float | None] = []
    tz_offset = 0.0
    previous_line = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            delimiter, skipped = separator_line(fh)
            reader = csv.DictReader(fh, delimiter=delimiter)
            columns = reader.fieldnames or []
            for wanted, option in ((time_column, "--time-column"), (load_column, "--load-column")):
                if wanted not in columns:
                    raise missing_column(path, wanted, columns, option)
            for row in reader:
                line = reader.line_num + skipped
                raw_time = (row.get(time_column) or "").strip()
                if not raw_time:
                    raise TraceError(_("%(path)s:%(line)s: empty %(column)s; every row needs a time.")
                                     % {"path": path, "line": line, "column": repr(time_column)})
                try:
                    at = parse_time(raw_time)
                except (ValueError, OverflowError) as exc:
                    raise TraceError(_("%(path)s:%(line)s: cannot read time %(time)s (%(error)s).")
                                     % {"path": path, "line": line, "time": repr(raw_time), "error": exc}) from exc
                raw_load = (row.get(load_column) or "").strip()
                if raw_load == "":
                    load = None
                else:
                    try:
                        load = float(raw_load)
                    except ValueError as exc:
                        raise TraceError(_("%(path)s:%(line)s: load %(load)s is not a number.")
                                         % {"path": path, "line": line, "load": repr(raw_load)}) from exc
                    if not math.isfinite(load) or load < 0:  # NaN, ±inf (also 1e400) or negative
                        raise TraceError(_("%(path)s:%(line)s: load %(load)s must be a finite number ≥ 0.")
                                         % {"path": path, "line": line, "load": repr(raw_load)})
                t = at.timestamp()
                if times and t == times[-1]:
                    # e.g. a local-time export across a daylight-saving change, or rows written twice
                    raise TraceError(
                        _("%(path)s:%(line)s: time %(time)s repeats the previous row's (line %(previous)s); each "
                          "time may appear once: remove the repeated rows, or export the times in UTC or with "
                          "their offset.")
                        % {"path": path, "line": line, "time": raw_time, "previous": previous_line})
                if times and t < times[-1]:
                    raise TraceError(
                        _("%(path)s:%(line)s: time %(time)s is earlier than the previous row's (line "
                          "%(previous)s); sort the trace by time.")
                        % {"path": path, "line": line, "time": raw_time, "previous": previous_line})
                previous_line = line
                if not times:
                    offset = at.utcoffset()
                    tz_offset = offset.total_seconds() if offset else 0.0
                times.append(t)
                loads.append(load)
    except UnicodeDecodeError as exc:
        raise TraceError(_("%(path)s: not a UTF-8 CSV file (%(error)s).") % {"path": path, "error": exc}) from exc
    except csv.Error as exc:
        raise TraceError(_("%(path)s: malformed CSV (%(error)s).") % {"path": path, "error": exc}) from exc
    if len(times) < 2:
        raise TraceError(_("%(path)s: needs at least two rows of data.") % {"path": path})
    spacings = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    interval = spacings[len(spacings) // 2]
    times, loads = fill_missing(times, loads, interval)
    return Trace(times, loads, interval, tz_offset)


def fill_missing(
    times: list[float], loads: list[float | None], interval: float
) -> tuple[list[float], list[float | None]]:
    """Rows missing from the time grid are gaps: where two rows are more than 1.5 intervals apart, samples with
    no load go in between (one per interval), so the earlier row's load holds for one interval, not until the
    next row."""
    out_t: list[float] = []
    out_l: list[float | None] = []
    for i, (t, load) in enumerate(zip(times, loads, strict=True)):
        out_t.append(t)
        out_l.append(load)
        if i + 1 < len(times) and times[i + 1] - t > 1.5 * interval:
            at = t + interval
            while at < times[i + 1] - interval / 2:
                out_t.append(at)
                out_l.append(None)
                at += interval
    return out_t, out_l
