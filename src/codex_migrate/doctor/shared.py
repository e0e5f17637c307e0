"""Findings about one value (a project folder, a provider, a source), worded once per diagnosis."""

from __future__ import annotations

import shlex

from codex_migrate.catalog import cwd_exists
from codex_migrate.doctor.report import Finding, ProviderConfig, finding
from codex_migrate.doctor.rules import BUILT_IN_PROVIDERS, INTERACTIVE_SOURCES


def _rebind_fix(old: str) -> str:
    where = "(NEW: the folder it is in on this machine)"
    return f"codex-migrate rebind --map {shlex.quote(old)}=NEW  {where}"


def _cwd_missing(cwd: str) -> str:
    return f"project folder {cwd} does not exist here"


class Shared:
    """The findings that depend on one value only (a project folder, a provider, a source),
    made once per diagnosis and shared by every thread with that value (a finding is never
    changed once made): a home of thousands of threads has a handful of those values, and
    wording each finding anew was a third of a scan's diagnosis."""

    def __init__(self, providers: ProviderConfig) -> None:
        self._providers = providers
        self._cwds: dict[str, Finding | None] = {}
        self._by_provider: dict[str, Finding | None] = {}
        self._by_source: dict[str, Finding | None] = {}

    def cwd_missing(self, cwd: str) -> Finding | None:
        """The cwd-missing finding of a folder that is not on this machine, else None."""
        try:
            return self._cwds[cwd]
        except KeyError:
            found = (
                None
                if cwd_exists(cwd)
                else finding("cwd-missing", _cwd_missing(cwd), _rebind_fix(cwd))
            )
            self._cwds[cwd] = found
            return found

    def provider(self, provider: str) -> Finding | None:
        try:
            return self._by_provider[provider]
        except KeyError:
            found = self._by_provider[provider] = _provider_finding(provider, self._providers)
            return found

    def source(self, source: str) -> Finding | None:
        try:
            return self._by_source[source]
        except KeyError:
            found = None
            if source not in INTERACTIVE_SOURCES:
                found = finding(
                    "non-interactive-source",
                    f"source {source!r}: listed only with `codex resume --all` or sourceKinds",
                )
            self._by_source[source] = found
            return found


def _provider_finding(provider: str, providers: ProviderConfig) -> Finding | None:
    # providers.known, without making the union
    if provider not in providers.configured and provider not in BUILT_IN_PROVIDERS:
        where = "config.toml" if providers.found else "config.toml (this home has none)"
        return finding(
            "unknown-provider",
            f"provider {provider!r} is not built in and not defined in {where}: "
            "Codex cannot resume the thread",
            f"Add a [model_providers.{provider}] table to config.toml.",
        )
    if provider != providers.default:
        return finding(
            "other-provider",
            f"provider {provider!r} is not the default {providers.default!r}: hidden "
            "from `codex resume` and thread/list without modelProviders",
        )
    return None
