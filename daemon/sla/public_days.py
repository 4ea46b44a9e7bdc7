"""Public holidays from the `holidays` package, worked out by a short-lived child Python.

Importing one country of the `holidays` package imports every country it has
(`holidays.countries` imports some 250 modules), which keeps about 11 MB
resident for the life of a daemon that needs a few dozen dates a year. So the
caredesk process never imports the package: on the first question about a
year, `PublicDays` runs this module as a child (`python -I -m
daemon.sla.public_days`), which asks the package for that year and the next
few and prints their dates as JSON. The answers are kept for the life of the
process, shared by every calendar that asks the same country, language and
categories, so a daemon starts one child at start-up and one more at most
when it first looks past the years it has.

The names are the package's own, as `holidays.country_holidays(...).get(day)`
gives them: two holidays on one day come as one name joined by "; ".
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from types import MappingProxyType

YEARS_BEFORE = 1
YEARS_AFTER = 3
"""On a miss for year Y, the years Y-1 to Y+3 are fetched in one child."""
CHILD_TIMEOUT_SECONDS = 120.0

_Key = tuple[str, str, tuple[str, ...]]
_known: dict[tuple[_Key, int], Mapping[date, str]] = {}
_lock = threading.Lock()


class PublicHolidaysUnavailable(RuntimeError):
    """The child could not give the public holidays (the package is missing or broken)."""


class PublicDays:
    """One country's public holidays, in one language and set of categories, by date."""

    def __init__(self, country: str, language: str, categories: Sequence[str] = ()) -> None:
        self._key: _Key = (country, language, tuple(categories))

    def get(self, day: date) -> str | None:
        """The holiday's name on `day`, or None."""
        return self.year(day.year).get(day)

    def year(self, year: int) -> Mapping[date, str]:
        """Every holiday of `year`, by date."""
        found = _known.get((self._key, year))
        if found is not None:
            return found
        with _lock:
            if (self._key, year) not in _known:
                wanted = [
                    each
                    for each in range(year - YEARS_BEFORE, year + YEARS_AFTER + 1)
                    if (self._key, each) not in _known and date.min.year <= each <= date.max.year
                ]
                for each, days in _ask_child(self._key, wanted).items():
                    _known[(self._key, each)] = MappingProxyType(days)
            return _known[(self._key, year)]


def _ask_child(key: _Key, years: list[int]) -> dict[int, dict[date, str]]:
    country, language, categories = key
    command = [
        sys.executable,
        "-I",
        "-m",
        __name__,
        country,
        language,
        ",".join(categories),
        *(str(year) for year in years),
    ]
    what = f"the public holidays of {country} for {years[0]}-{years[-1]}"
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise PublicHolidaysUnavailable(f"cannot work out {what}: {error}") from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise PublicHolidaysUnavailable(f"cannot work out {what}: {last}")
    try:
        printed: dict[str, dict[str, str]] = json.loads(done.stdout)
        return {
            int(year): {date.fromisoformat(day): name for day, name in days.items()}
            for year, days in printed.items()
        }
    except (ValueError, AttributeError) as error:
        raise PublicHolidaysUnavailable(
            f"cannot work out {what}: the child printed no table ({error})"
        ) from error


def table(
    country: str, language: str, categories: Sequence[str], years: Sequence[int]
) -> dict[str, dict[str, str]]:
    """The child's work, in its own process: {year: {ISO date: name}} from the package."""
    import holidays

    chosen = tuple(categories) or None  # None: the package's default, its public holidays
    found: dict[str, dict[str, str]] = {}
    for year in years:
        days = holidays.country_holidays(country, language=language, years=year, categories=chosen)
        found[str(year)] = {day.isoformat(): str(name) for day, name in sorted(days.items())}
    return found


def main(arguments: Sequence[str]) -> int:
    country, language, categories, *years = arguments
    wanted = [part for part in categories.split(",") if part]
    try:
        found = table(country, language, wanted, [int(year) for year in years])
    except (NotImplementedError, ValueError) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 2
    json.dump(found, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
