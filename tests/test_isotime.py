"""A listing's ``updated_at`` is the library's text for every instant: ``utc_iso`` builds it from
pieces, and must round and spell it exactly as ``datetime.fromtimestamp(t, UTC).isoformat()``
does (sub-second values, half-microseconds, leap days, pre-1970 and far-future times)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_migrate import isotime
from codex_migrate.isotime import utc_iso


def _library(stamp: float) -> str:
    try:
        return datetime.fromtimestamp(stamp, UTC).isoformat()
    except (ValueError, OverflowError, OSError) as exc:
        return type(exc).__name__


def _ours(stamp: float) -> str:
    try:
        return utc_iso(stamp)
    except (ValueError, OverflowError, OSError) as exc:
        return type(exc).__name__


EDGES = [
    0, 0.0, -0.0, 5e-324, 1e-7, 4.999999e-7, 5e-7, 5.000001e-7, 1.5e-6, 2.5e-6, 0.9999995,
    0.99999949, 1, 59.9999996, 86399.9999995, 86400, 951782400, 951868799.9999996,
    1709164800.9999995, 1772600000.5, 2**31 - 1, 2**31 - 0.0000005, 2**31, 4102444800.0000005,
    253402300798.9999995, 253402300799, 253402300799.5, 253402300800, -1, -0.5, -1e-7,
    -86400.25, -2208988800, -62135596800, 1e20, math.nan, math.inf, -math.inf, True, 10**30,
]  # fmt: skip


@pytest.mark.parametrize("stamp", EDGES, ids=repr)
def test_edges_are_the_library_text(stamp: float) -> None:
    assert _ours(stamp) == _library(stamp)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-1e10, max_value=3e11),
        st.integers(min_value=0, max_value=2**38).map(lambda n: n / 2_000_000),  # half µs
        st.integers(min_value=-(2**40), max_value=2**40),
    )
)
def test_every_instant_is_the_library_text(stamp: float) -> None:
    assert _ours(stamp) == _library(stamp)


def test_the_day_texts_kept_stay_bounded() -> None:
    """A long-lived web UI scanning homes with hostile times keeps at most ``_DAYS_MAX`` day
    texts, and every text stays the library's."""
    start = 86400 * 3
    for n in range(isotime._DAYS_MAX + 10):
        stamp = start + n * 86400 + 0.5
        assert utc_iso(stamp) == datetime.fromtimestamp(stamp, UTC).isoformat()
    assert len(isotime._DAYS) <= isotime._DAYS_MAX
