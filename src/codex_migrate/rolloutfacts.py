"""Facts a ``threads`` row needs (model, effort, approval mode, policy, tokens, whether a user
spoke), gathered from a rollout's lines while a copy streams them.

Three ways in, one rule: :meth:`RolloutFacts.feed` looks at one line at a time;
:meth:`~RolloutFacts.feed_block` at a buffer of whole lines, searching it for the few marks that
matter; :meth:`~RolloutFacts.feed_line` at each line the import's staging pass has already parsed,
so it parses nothing itself. All three use the same byte tests to pick the lines that can set a
fact, and only the last such lines count, so they are parsed (when not already) in
:meth:`~RolloutFacts.finish`, newest first.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from codex_migrate import safejson
from codex_migrate.rollout import HEAD_MAX_RECORDS

#: How many candidate lines of each kind are kept until :meth:`RolloutFacts.finish`.
_KEEP = 64
#: (mark, None: anywhere | "head": only in the first HEAD_MAX_RECORDS lines)
_FACT_MARKS = (
    (b"turn_context", None),
    (b"token_count", None),
    (b'"user_message"', "head"),
    (b'"UserMessage"', "head"),
)

#: A kept line: its bytes, and its record when the caller parsed exactly these bytes.
_Kept = tuple[bytes, Any]
_UNPARSED: Any = object()


@dataclass
class RolloutFacts:
    """Facts for a row, gathered from the lines of a rollout as they stream past."""

    model: str | None = None
    reasoning_effort: str | None = None
    approval_mode: str | None = None
    policy: Any = None
    tokens_used: int | None = None
    has_user_event: bool = False
    records: int = 0
    git: dict[str, Any] = field(default_factory=dict)
    #: Lines that may set a fact, most recent last, until :meth:`finish`.
    _contexts: deque[_Kept] = field(default_factory=lambda: deque(maxlen=_KEEP), repr=False)
    _tokens: deque[_Kept] = field(default_factory=lambda: deque(maxlen=_KEEP), repr=False)
    _dropped: bool = field(default=False, repr=False)

    def feed(self, raw: bytes) -> None:
        """Look only at the few record kinds that carry row facts; parse nothing else."""
        self.records += 1
        head = raw[:160]
        if b"turn_context" in head:
            self._set_context(_payload(raw))
        elif b"token_count" in raw[:400] and b'"total_token_usage"' in raw:
            tokens = _total_tokens(_payload(raw))
            if tokens is not None:
                self.tokens_used = tokens
        elif (
            not self.has_user_event
            and self.records <= HEAD_MAX_RECORDS
            and (b'"user_message"' in raw or b'"UserMessage"' in raw)
        ):
            self.has_user_event = True

    def feed_line(self, raw: bytes, record: Any = _UNPARSED) -> None:
        """:meth:`feed` of the next line, deferred like :meth:`feed_block`. ``record``: the
        caller's parse of exactly ``raw`` (None for a line that is not JSON), so a kept token
        count is not parsed again (its integers may be orjson's, see ``safejson``)."""
        self.records += 1
        if raw.find(b"turn_context", 0, 160) >= 0:
            queue = self._contexts
            record = _UNPARSED  # its policy is written to the row: parsed exactly, if it counts
        elif raw.find(b"token_count", 0, 400) >= 0 and b'"total_token_usage"' in raw:
            queue = self._tokens
        else:
            if (
                not self.has_user_event
                and self.records <= HEAD_MAX_RECORDS
                and (b'"user_message"' in raw or b'"UserMessage"' in raw)
            ):
                self.has_user_event = True
            return
        self._dropped = self._dropped or len(queue) == _KEEP
        queue.append((raw, record))

    def feed_block(self, block: bytes) -> None:
        """:meth:`feed` for a buffer of whole lines (the last may lack its newline, at the end
        of a file), without looking at every line: only lines marked ``turn_context``,
        ``token_count`` or a user message can set a fact."""
        size = len(block)
        if not size:
            return
        head_end = 0  # lines before this offset are within the head (user events count)
        if self.records < HEAD_MAX_RECORDS and not self.has_user_event:
            for _ in range(HEAD_MAX_RECORDS - self.records):
                head_end = block.find(b"\n", head_end) + 1
                if not head_end:
                    head_end = size
                    break
        self.records += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        starts: set[int] = set()
        for mark, limit in _FACT_MARKS:
            stop = size if limit is None else head_end
            pos = block.find(mark, 0, stop)
            while pos >= 0:
                starts.add(block.rfind(b"\n", 0, pos) + 1)
                end = block.find(b"\n", pos)
                if end < 0:
                    break
                pos = block.find(mark, end + 1, stop)
        for start in sorted(starts):
            end = block.find(b"\n", start)
            raw = block[start : size if end < 0 else end + 1]
            if b"turn_context" in raw[:160]:
                queue = self._contexts
            elif b"token_count" in raw[:400] and b'"total_token_usage"' in raw:
                queue = self._tokens
            else:
                if start < head_end and (b'"user_message"' in raw or b'"UserMessage"' in raw):
                    self.has_user_event = True
                continue
            self._dropped = self._dropped or len(queue) == _KEEP
            queue.append((raw, _UNPARSED))

    def finish(self) -> bool:
        """Resolve the kept lines; False when a fact may sit in a line that was dropped (more
        than ``_KEEP`` such lines, none of the kept ones setting it): the caller then feeds
        the file again line by line."""
        wanted = {"model", "reasoning_effort", "approval_mode", "policy"}
        for raw, record in reversed(self._contexts):
            if not wanted:
                break
            payload = _payload(raw, record)
            if payload is None:
                continue
            found = _context_facts(payload)
            for key in list(wanted):
                if found[key] is not None:
                    setattr(self, key, found[key])
                    wanted.discard(key)
        tokens_found = False
        for raw, record in reversed(self._tokens):
            tokens = _total_tokens(_payload(raw, record))
            if tokens is not None:
                self.tokens_used = tokens
                tokens_found = True
                break
        dropped = self._dropped and (bool(wanted) or not tokens_found)
        self._contexts.clear()
        self._tokens.clear()
        self._dropped = False
        return not dropped

    def _set_context(self, payload: dict[str, Any] | None) -> None:
        if payload is None:
            return
        found = _context_facts(payload)
        self.model = found["model"] or self.model
        self.reasoning_effort = found["reasoning_effort"] or self.reasoning_effort
        self.approval_mode = found["approval_mode"] or self.approval_mode
        if found["policy"] is not None:
            self.policy = found["policy"]


def _context_facts(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": text_or_none(payload.get("model")),
        "reasoning_effort": text_or_none(payload.get("effort")),
        "approval_mode": text_or_none(payload.get("approval_policy")),
        "policy": payload.get("permission_profile") or payload.get("sandbox_policy"),
    }


def _total_tokens(payload: dict[str, Any] | None) -> int | None:
    info = payload.get("info") if payload is not None else None
    total = info.get("total_token_usage") if isinstance(info, dict) else None
    tokens = total.get("total_tokens") if isinstance(total, dict) else None
    # an INTEGER column holds 64 bits; a count past that (or a float) is no count
    return tokens if isinstance(tokens, int) and -(2**63) <= tokens < 2**63 else None


def _payload(raw: bytes, record: Any = _UNPARSED) -> dict[str, Any] | None:
    if record is _UNPARSED:
        try:
            record = safejson.loads(raw)
        except ValueError:
            return None
    payload = record.get("payload") if isinstance(record, dict) else None
    return payload if isinstance(payload, dict) else None


def text_or_none(value: Any) -> str | None:
    """``value`` when it is a non-empty string (what a row's text column takes)."""
    return value if isinstance(value, str) and value else None
