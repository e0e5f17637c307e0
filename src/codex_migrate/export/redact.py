"""Masking secrets in exported text: API keys, tokens, passwords in URLs, private keys.

Conversations with a coding agent are full of pasted ``.env`` files, ``curl -H "Authorization:
…"`` commands and config dumps, so an export meant for sharing must not carry them. Each
pattern has a name; the redactor counts what it masked per name, so the user can see what was
found. Masks look like ``[REDACTED:github_token]`` and are never matched again.

Patterns favour masking too much over leaking: a ``password = …`` assignment is masked even
when the value is not a secret. Image data is never scanned (base64 would only give false
positives and masking it would break the image).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

MASK_PREFIX = "[REDACTED:"


@dataclass(frozen=True)
class SecretPattern:
    """A named pattern; ``group`` is the part of the match that is the secret (0: all)."""

    name: str
    regex: re.Pattern[str]
    group: int | tuple[int, ...] = 0
    hints: tuple[str, ...] = ()  # cheap lower-case substring tests: try only if one is present
    prefilter: re.Pattern[str] | None = None  # a fast case-sensitive test on the lower-cased text
    # For a case-insensitive pattern: the same pattern, case-sensitive, for the lower-cased text
    # (about 6x faster than IGNORECASE on long outputs); spans map back one to one.
    lowered: re.Pattern[str] | None = None


def _p(
    name: str,
    pattern: str,
    group: int | tuple[int, ...] = 0,
    hint: str | tuple[str, ...] = (),
    flags: int = 0,
    prefilter: str | None = None,
) -> SecretPattern:
    hints = (hint,) if isinstance(hint, str) else hint
    pre = re.compile(prefilter) if prefilter else None
    lowered = None
    if pattern.startswith("(?i)"):
        lowered = re.compile(pattern[4:].replace(r"\[REDACTED:", r"\[redacted:"), flags)
    return SecretPattern(name, re.compile(pattern, flags), group, hints, pre, lowered)


_NOT_MASK = r"(?!\[REDACTED:)"

#: Order matters: specific patterns first, then the generic ``name = value`` one.
PATTERNS: tuple[SecretPattern, ...] = (
    _p(
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
        hint="private key",
        flags=re.DOTALL,
    ),
    _p(
        "password_in_url",
        r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@\"'<>]+:)" + _NOT_MASK + r"([^\s/@\"'<>]+)(?=@)",
        group=2,
        hint="://",
    ),
    _p("anthropic_api_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}", hint="sk-ant-"),
    _p("openai_api_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", hint="sk-"),
    _p(
        "github_token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        hint=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _p("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}", hint="glpat-"),
    _p(
        "aws_access_key_id",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
        hint=("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
    ),
    _p(
        "aws_secret_access_key",
        r"(?i)(aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?)"
        + _NOT_MASK
        + r"([A-Za-z0-9/+]{40})",
        group=2,
        hint="secret",
    ),
    _p("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", hint="aiza"),
    _p("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", hint="xox"),
    _p("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", hint=("_live_", "_test_")),
    _p("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", hint="npm_"),
    _p("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}\b", hint="hf_"),
    _p(
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        hint="eyj",
    ),
    _p(
        "bearer_token",
        r"(?i)(\bbearer\s+)" + _NOT_MASK + r"([A-Za-z0-9._~+/-]{16,}=*)",
        group=2,
        hint="bearer",
    ),
    _p(
        "basic_auth",
        r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?basic\s+)([A-Za-z0-9+/]{8,}={0,2})",
        group=2,
        hint="basic",
    ),
    _p(
        "secret_assignment",
        # NAME=value, NAME: value, "name": "value" where NAME says password/secret/token/key;
        # a quoted value is masked up to its closing quote, a bare one up to a delimiter.
        # The regex starts at the keyword (a name prefix like DB_ needs no matching); the
        # prefilter (no IGNORECASE, so re can skip fast) spares it most long outputs.
        r"(?i)((?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|"
        r"private[_-]?key|credentials?)[A-Za-z0-9_.-]*)"
        r"([\"']?\s*[:=]\s*)"
        r"(?:([\"'])" + _NOT_MASK + r"(?!\$)([^\"'\n]{4,}?)\3"
        r"|" + _NOT_MASK + r"(?!\$)(?!\d+\b)(?!(?:true|false|null|none)\b)"
        r"([^\s\"'`,;&<>(){}\[\]]{6,}))",
        group=(4, 5),
        prefilter=r"(?:pass|secret|token|key|credential)[a-z0-9_.-]*[\"']?\s*[:=]",
    ),
)


@dataclass
class Redactor:
    """Callable text filter that masks secrets and counts them by pattern name."""

    patterns: tuple[SecretPattern, ...] = PATTERNS
    counts: Counter[str] = field(default_factory=Counter)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        lowered: str | None = None
        for pattern in self.patterns:
            if pattern.hints:
                if lowered is None:
                    lowered = text.lower()
                if not any(h in lowered for h in pattern.hints):
                    continue
            if pattern.prefilter is not None:
                if lowered is None:
                    lowered = text.lower()
                if not pattern.prefilter.search(lowered):
                    continue
            before = self.counts[pattern.name]
            if pattern.lowered is not None and lowered is not None and len(lowered) == len(text):
                text = self._sub_lowered(pattern, pattern.lowered, text, lowered)
            else:
                text = pattern.regex.sub(self._replacer(pattern), text)
            if self.counts[pattern.name] != before:
                lowered = None  # the text changed
        return text

    def _sub_lowered(
        self, pattern: SecretPattern, regex: re.Pattern[str], text: str, lowered: str
    ) -> str:
        """Match on the lower-cased text, mask the same spans of the original."""
        pieces: list[str] = []
        last = 0
        mask = f"{MASK_PREFIX}{pattern.name}]"
        groups = pattern.group if isinstance(pattern.group, tuple) else (pattern.group,)
        for m in regex.finditer(lowered):
            secret = next((g for g in groups if m.group(g) is not None), 0)
            start, end = m.span(secret)
            pieces.append(text[last:start])
            pieces.append(mask)
            last = end
            self.counts[pattern.name] += 1
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _replacer(self, pattern: SecretPattern) -> Callable[[re.Match[str]], str]:
        mask = f"{MASK_PREFIX}{pattern.name}]"

        def replace(m: re.Match[str]) -> str:
            self.counts[pattern.name] += 1
            groups = pattern.group if isinstance(pattern.group, tuple) else (pattern.group,)
            secret = next((g for g in groups if m.group(g) is not None), 0)
            if secret == 0:
                return mask
            whole, start = m.group(0), m.start(0)
            s, e = m.span(secret)
            return whole[: s - start] + mask + whole[e - start :]

        return replace

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))
