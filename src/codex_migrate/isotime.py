"""A file time as the ISO 8601 text of its UTC moment, the way a listing shows it per thread."""

from __future__ import annotations

from datetime import UTC, date, datetime

#: 0001-01-01 is ordinal 1; the Unix epoch's day.
_EPOCH_DAY = date(1970, 1, 1).toordinal()
#: Beyond this (the last second of 9999) the library decides, and raises as it does.
_LAST = 253402300799
#: The text of each day since the epoch ("YYYY-MM-DDT", made when first asked: a home's files
#: fall on a few thousand days), bounded for a long-lived web UI and hostile times; "00"-"59".
_DAYS: dict[int, str] = {}
_DAYS_MAX = 8192
_TWO = tuple(f"{n:02d}" for n in range(60))


def utc_iso(stamp: float) -> str:
    """``datetime.fromtimestamp(stamp, UTC).isoformat()``, the same text, from pieces: that
    call costs ~16 000 instructions (its time zone conversion), this half, and a scan asks
    once per thread. The microseconds are rounded as the library rounds them (the fraction
    times 10^6, half to even); a time before 1970 or after 9999 goes to the library."""
    if not 0 <= stamp < _LAST:  # NaN too
        return datetime.fromtimestamp(stamp, UTC).isoformat()
    seconds = int(stamp)
    us = round((stamp - seconds) * 1e6)  # the fraction is exact: math.modf's
    if us >= 1_000_000:
        seconds, us = seconds + 1, us - 1_000_000
    days = seconds // 86400
    day = _DAYS.get(days)
    if day is None:
        if len(_DAYS) >= _DAYS_MAX:
            _DAYS.clear()
        day = _DAYS[days] = date.fromordinal(_EPOCH_DAY + days).isoformat() + "T"
    rest = seconds % 86400
    hms = _TWO[rest // 3600] + ":" + _TWO[rest // 60 % 60] + ":" + _TWO[rest % 60]
    if us:
        return day + hms + "." + str(1_000_000 + us)[1:] + "+00:00"
    return day + hms + "+00:00"
