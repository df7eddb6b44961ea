"""Five-field cron schedules read the way Kubernetes reads a CronJob's ``schedule`` (the
controller uses robfig/cron's standard parser): parse one, and find the longest wait between
two runs, which the platform jobs' staleness alerts are measured in (``k8s_charts/observability``).

Supported, as upstream: ``*`` and ``?``, values, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and
``a/n`` (from ``a`` to the field's maximum), comma lists, month names ``jan``-``dec`` and day
names ``sun``-``sat``; day of week is 0-6 with 0 = Sunday. When both day fields are
restricted a day matches either of them (cron's OR); when either is ``*`` (a ``*/n`` with
n > 1 counts as restricted, as upstream), both must match.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# The Gregorian calendar repeats every 400 years (146,097 days, a whole number of weeks), so
# the gaps between matching days in one such cycle, wrapping round, are all the gaps there are.
CYCLE_DAYS = 146_097
CYCLE_START = datetime.date(2001, 1, 1).toordinal()


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {name: number for number, name in enumerate(MONTHS, start=1)}),
    _Field("day of week", 0, 6, {name: number for number, name in enumerate(DAYS)}),
)


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is * or ?
    any_weekday: bool  # day of week is * or ?

    def runs_on(self, date: datetime.date) -> bool:
        if date.month not in self.months:
            return False
        day, weekday = date.day in self.days, date.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday


def parse(expression: str) -> Schedule:
    """The schedule of a five-field cron expression; ValueError naming the field at fault."""
    parts = expression.split()
    if len(parts) != len(FIELDS):
        raise ValueError(
            f"{expression!r} has {len(parts)} field(s); a schedule has five: "
            "minute hour day-of-month month day-of-week"
        )
    values: list[frozenset[int]] = []
    stars: list[bool] = []
    for field, text in zip(FIELDS, parts, strict=True):
        matched, star = _parse_field(field, text)
        values.append(matched)
        stars.append(star)
    minutes, hours, days, months, weekdays = values
    return Schedule(minutes, hours, days, months, weekdays, any_day=stars[2], any_weekday=stars[4])


def _parse_field(field: _Field, text: str) -> tuple[frozenset[int], bool]:
    matched: set[int] = set()
    star = False
    for item in text.split(","):
        range_text, _, step_text = item.partition("/")
        bounds = range_text.split("-")
        if bounds[0] in ("*", "?") and len(bounds) == 1:
            start, end, item_star = field.low, field.high, True
        elif len(bounds) in (1, 2):
            start = _value(field, bounds[0], item)
            end = _value(field, bounds[-1], item)
            item_star = False
        else:
            raise ValueError(f"{field.name} {item!r} is not a value, a range or a step")
        step = 1
        if "/" in item:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{field.name} {item!r} needs a positive whole step after '/'")
            step = int(step_text)
            if len(bounds) == 1:  # "a/n" runs from a to the field's maximum
                end = field.high
            item_star = item_star and step == 1
        if start > end:
            raise ValueError(f"{field.name} {item!r} starts after it ends")
        matched.update(range(start, end + 1, step))
        star = star or item_star
    return frozenset(matched), star


def _value(field: _Field, text: str, item: str) -> int:
    number = field.names.get(text.lower()) if not text.isdigit() else int(text)
    if number is None or not field.low <= number <= field.high:
        allowed = f"{field.low}-{field.high}" + (
            f" or {next(iter(field.names))}-{list(field.names)[-1]}" if field.names else ""
        )
        raise ValueError(f"{field.name} {item!r}: {text!r} is not in {allowed}")
    return number


@cache
def longest_interval(expression: str) -> datetime.timedelta:
    """The longest time between two consecutive runs, over every date (the controller runs in
    UTC on EKS, so no daylight-saving shifts). ValueError when the schedule never runs."""
    schedule = parse(expression)
    times = sorted(hour * 60 + minute for hour in schedule.hours for minute in schedule.minutes)
    if schedule.any_day and schedule.any_weekday and len(schedule.months) == 12:
        day_gap = 1
    else:
        run_days = [
            ordinal
            for ordinal in range(CYCLE_START, CYCLE_START + CYCLE_DAYS)
            if schedule.runs_on(datetime.date.fromordinal(ordinal))
        ]
        if not run_days:
            raise ValueError(f"{expression!r} names no date that exists, so it never runs")
        day_gap = max(
            [later - earlier for earlier, later in pairwise(run_days)]
            + [run_days[0] + CYCLE_DAYS - run_days[-1]]
        )
    within_day = max((later - earlier for earlier, later in pairwise(times)), default=0)
    across_days = day_gap * 24 * 60 - (times[-1] - times[0])
    return datetime.timedelta(minutes=max(within_day, across_days))


def checked_schedule(expression: str) -> str:
    """``expression`` if Kubernetes accepts it and it runs (alerts are measured in its
    longest interval); a ValueError naming the ``schedule`` setting otherwise. The one check
    every ``schedule`` setting's validator calls."""
    try:
        longest_interval(expression)
    except ValueError as exc:
        raise ValueError(f"schedule {exc}") from None
    return expression
