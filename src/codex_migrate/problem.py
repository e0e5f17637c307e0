"""A problem found in a home, as a message that also carries a stable code."""

from __future__ import annotations


class Problem(str):
    """A problem message that also carries a stable code, so later stages (doctor) can act
    on the kind of problem without parsing the message."""

    code: str

    def __new__(cls, code: str, message: str) -> Problem:
        obj = super().__new__(cls, message)
        obj.code = code
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (self.code, str(self))
