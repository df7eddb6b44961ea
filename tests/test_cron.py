"""Cron schedules as Kubernetes reads them: the longest wait between two runs (what the
platform jobs' staleness alerts are measured in) and one clear message for a schedule that
Kubernetes would refuse or that never runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_config import cron

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize(
    ("expression", "longest"),
    [
        ("0 */6 * * *", 6 * HOUR),  # the token refresh's default
        ("*/15 * * * *", timedelta(minutes=15)),  # the secret sync's
        ("0 */5 * * *", 5 * HOUR),  # 0,5,10,15,20: the night gap (20 -> 0) is only 4 h
        ("0 9,17 * * *", 16 * HOUR),  # uneven: 17:00 -> 09:00
        ("*/7 * * * *", timedelta(minutes=7)),  # 56 -> 00 is 4 min, the rest 7
        ("30 2 * * mon-fri", 3 * DAY),  # Friday -> Monday
        ("0 3 * * 1", 7 * DAY),
        ("0 0 1 * *", 31 * DAY),
        ("0 0 31 * *", 61 * DAY),  # 31 Jul -> 31 Aug is short; 31 Aug -> 31 Oct is not
        ("0 0 */2 * *", 2 * DAY),  # 1,3,..,31, and 27 Feb -> 1 Mar
        ("0 0 13 * 5", 7 * DAY),  # both day fields restricted: the 13th OR a Friday
        ("0 0 13 * */1", 31 * DAY),  # '*/1' is a star: the 13th AND any weekday
        ("0 0 1 jan *", 366 * DAY),
        ("15 10 ? * sun", 7 * DAY),
        ("0 0 29 2 *", 2921 * DAY),  # leap days, across 2100 (not a leap year): eight years
    ],
)
def test_longest_interval(expression, longest):
    assert cron.longest_interval(expression) == longest


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 */6 * *", "has 4 field(s); a schedule has five"),
        ("@hourly", "has 1 field(s)"),
        ("61 * * * *", "minute '61': '61' is not in 0-59"),
        ("0 0 * * 7", "day of week '7': '7' is not in 0-6 or sun-sat"),
        ("0 0 * foo *", "month 'foo': 'foo' is not in 1-12 or jan-dec"),
        ("*/0 * * * *", "minute '*/0' needs a positive whole step"),
        ("0 5-1 * * *", "hour '5-1' starts after it ends"),
        ("0 0 1-2-3 * *", "day of month '1-2-3' is not a value, a range or a step"),
        ("0 0 31 2 *", "never runs"),
    ],
)
def test_refused_schedules_say_why(expression, message):
    with pytest.raises(ValueError) as excinfo:
        cron.longest_interval(expression)
    assert message in str(excinfo.value)
