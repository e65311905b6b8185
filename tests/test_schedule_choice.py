"""Which schedule `run` follows: a flag wins over research.toml (issue 11: no silent override)."""

from __future__ import annotations

from datetime import timedelta

from agent.runner import choose_schedule
from agent.settings import ScheduleSettings

FILE_CRON = ScheduleSettings(every="1h", cron="0 2 * * *")
FILE_EVERY = ScheduleSettings(every="2h", cron=None)


def test_every_on_the_command_line_wins_over_a_cron_line_in_the_file() -> None:
    assert choose_schedule("15m", None, FILE_CRON) == (timedelta(minutes=15), None)


def test_cron_on_the_command_line_wins_over_every_in_the_file() -> None:
    assert choose_schedule(None, "*/5 * * * *", FILE_EVERY) == (None, "*/5 * * * *")


def test_without_flags_the_file_decides_and_its_cron_line_wins() -> None:
    assert choose_schedule(None, None, FILE_CRON) == (None, "0 2 * * *")
    assert choose_schedule(None, None, FILE_EVERY) == (timedelta(hours=2), None)
