"""Scheduled actions: weekday/time windows in the config's time zone that set min/max (and optionally a
desired count). Windows may cross midnight; wall-clock times follow DST through ``zoneinfo``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    """One scheduled action. ``weekdays`` are the days the window *starts* on (0 = Monday)."""

    weekdays: frozenset[int]
    start: time
    end: time
    min_vms: int
    max_vms: int
    desired_vms: int | None = None
    name: str = ""

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class ActiveWindow:
    window: Window
    started_on: date  # local date the active occurrence started on (identifies the occurrence)

    @property
    def key(self) -> str:
        return f"{self.window.name}@{self.started_on.isoformat()}"


def parse_weekdays(text: str) -> frozenset[int]:
    """``"mon,tue,fri"`` or ``"mon-fri"`` → {0, 1, 4}; raises ValueError with the bad token."""
    days: set[int] = set()
    for raw in text.split(","):
        token = raw.strip().lower()
        if not token:
            continue
        if "-" in token:
            first, _, last = token.partition("-")
            if first not in WEEKDAY_NAMES or last not in WEEKDAY_NAMES:
                raise ValueError(f"unknown weekday range {raw.strip()!r}")
            i, j = WEEKDAY_NAMES.index(first), WEEKDAY_NAMES.index(last)
            span = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
            days.update(span)
        elif token in WEEKDAY_NAMES:
            days.add(WEEKDAY_NAMES.index(token))
        else:
            raise ValueError(f"unknown weekday {raw.strip()!r}")
    if not days:
        raise ValueError("no weekday given")
    return frozenset(days)


def active_window(windows: Iterable[Window], *, now: datetime, tz: ZoneInfo) -> ActiveWindow | None:
    """The window active at ``now`` (aware) in ``tz``; when several are, the one that started last wins."""
    local = now.astimezone(tz)
    today, clock = local.date(), local.time().replace(tzinfo=None)
    yesterday = today - timedelta(days=1)
    best: tuple[datetime, ActiveWindow] | None = None
    for window in windows:
        occurrence: date | None = None
        if window.crosses_midnight:
            if today.weekday() in window.weekdays and clock >= window.start:
                occurrence = today
            elif yesterday.weekday() in window.weekdays and clock < window.end:
                occurrence = yesterday
        elif today.weekday() in window.weekdays and window.start <= clock < window.end:
            occurrence = today
        if occurrence is None:
            continue
        started = datetime.combine(occurrence, window.start)
        if best is None or started > best[0]:
            best = (started, ActiveWindow(window, occurrence))
    return best[1] if best else None


@dataclass
class Bounds:
    min_vms: int
    max_vms: int
    desired_vms: int | None = None
    window_key: str = ""


def effective_bounds(*, min_vms: int, max_vms: int, active: ActiveWindow | None) -> Bounds:
    """The config's bounds, replaced by the active window's while one is active."""
    if active is None:
        return Bounds(min_vms, max_vms)
    w = active.window
    return Bounds(w.min_vms, w.max_vms, w.desired_vms, active.key)
