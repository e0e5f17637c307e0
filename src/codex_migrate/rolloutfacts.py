"""Facts a ``threads`` row needs (model, effort, approval mode, policy, tokens, whether a user
spoke), gathered from a rollout's lines while a copy streams them.

Two ways in, one rule: :meth:`RolloutFacts.feed` looks at one line at a time and parses what
counts at once; :meth:`~RolloutFacts.feed_lines` takes the lines the import's staging pass has
already parsed, keeps only the last lines that can set a fact, and resolves them in
:meth:`~RolloutFacts.finish`, newest first (parsing a kept line only when its parse was not
given). Both pick those lines with the same byte tests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from codex_migrate import safejson
from codex_migrate.rollout import HEAD_MAX_RECORDS

#: How many candidate lines of each kind are kept until :meth:`RolloutFacts.finish`.
_KEEP = 64
#: A kept line: its bytes, and its record when the caller parsed exactly these bytes.
_Kept = tuple[bytes, Any]
#: A line's record when the caller did not parse it.
UNPARSED: Any = object()


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
        kind = _kind(raw)
        if kind == _CONTEXT:
            self._set_context(_payload(raw))
        elif kind == _TOKENS:
            tokens = _total_tokens(_payload(raw))
            if tokens is not None:
                self.tokens_used = tokens
        else:
            self._note_user(raw)

    def feed_lines(self, lines: Iterable[tuple[bytes, Any]]) -> None:
        """:meth:`feed` of the next lines, deferred to :meth:`finish`. Each comes with the
        caller's parse of its bytes (``UNPARSED`` when not parsed), or of the line it was
        made from by a path rewrite, which changes no fact but the policy's paths. So a kept
        line is not parsed again, but for the policy, which :meth:`finish` reads from the
        very bytes, exactly (a parse's integers may be orjson's, see ``safejson``)."""
        marked: list[tuple[int, bytes, Any]] = []
        user = self.has_user_event
        head_left = HEAD_MAX_RECORDS - self.records
        count = 0
        for raw, record in lines:
            if raw.find(FACT_MARK, 0, FACT_WITHIN) >= 0:
                marked.append((count, raw, record))
            elif not user and count < head_left:
                user = is_user_message(raw)
            count += 1
        self.feed_marked(count, marked, user)

    def feed_marked(self, count: int, marked: list[tuple[int, bytes, Any]], user: bool) -> None:
        """:meth:`feed_lines` of ``count`` lines, done by a caller that looked at each line
        itself (the staging pass, whose loop sees every line an import copies): ``marked``
        holds the (index, bytes, record) of those with :data:`FACT_MARK` in their first
        :data:`FACT_WITHIN` bytes, the only ones that may set a fact; ``user``: whether a
        line before them in the file, or an unmarked one of these within the head
        (:data:`HEAD_MAX_RECORDS`), is a user's message (:func:`is_user_message`)."""
        base = self.records
        contexts = self._contexts
        tokens = self._tokens
        for index, raw, record in marked:
            if raw.find(_CONTEXT_BYTES, 0, _CONTEXT_WITHIN) >= 0:
                queue = contexts
            elif raw.find(_TOKENS_BYTES, 0, _TOKENS_WITHIN) >= 0 and raw.find(_TOKENS_TOTAL) >= 0:
                queue = tokens
            else:
                if not user and base + index < HEAD_MAX_RECORDS:
                    user = is_user_message(raw)
                continue
            if len(queue) == _KEEP:
                self._dropped = True
            queue.append((raw, record))
        self.has_user_event = user
        self.records = base + count

    def _note_user(self, raw: bytes) -> None:
        if not self.has_user_event and self.records <= HEAD_MAX_RECORDS:
            self.has_user_event = is_user_message(raw)

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
            if record is not UNPARSED and found["policy"] is not None and "policy" in wanted:
                exact = _payload(raw)  # the policy goes to the row as these bytes say
                found["policy"] = None if exact is None else _context_facts(exact)["policy"]
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


_CONTEXT = "turn_context"
_TOKENS = "token_count"


_CONTEXT_BYTES, _CONTEXT_WITHIN = b"turn_context", 160
_TOKENS_BYTES, _TOKENS_WITHIN, _TOKENS_TOTAL = b"token_count", 400, b'"total_token_usage"'
#: Both kinds' needles hold this, in the first :data:`FACT_WITHIN` bytes of a line that may
#: set a fact; most lines lack it there: one search, not two.
FACT_MARK, FACT_WITHIN = b"n_co", _TOKENS_WITHIN


def _kind(raw: bytes) -> str | None:
    """Which of the lines that set a fact ``raw`` is, by a look at its first bytes (where
    Codex writes the record's type), without parsing it."""
    if raw.find(_CONTEXT_BYTES, 0, _CONTEXT_WITHIN) >= 0:
        return _CONTEXT
    if raw.find(_TOKENS_BYTES, 0, _TOKENS_WITHIN) >= 0 and raw.find(_TOKENS_TOTAL) >= 0:
        return _TOKENS
    return None


def is_user_message(raw: bytes) -> bool:
    """Whether a line (near the head: Codex looks no further) is a user's message."""
    # find, not ``in``: ``needle in raw`` first tries the needle as an integer, and the
    # TypeError it makes and drops costs more than the search (bytes.find has no such step)
    return raw.find(b'"user_message"') >= 0 or raw.find(b'"UserMessage"') >= 0


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


def _payload(raw: bytes, record: Any = UNPARSED) -> dict[str, Any] | None:
    if record is UNPARSED:
        try:
            record = safejson.loads(raw)
        except ValueError:
            return None
    payload = record.get("payload") if isinstance(record, dict) else None
    return payload if isinstance(payload, dict) else None


def text_or_none(value: Any) -> str | None:
    """``value`` when it is a non-empty string (what a row's text column takes)."""
    return value if isinstance(value, str) and value else None
