"""Reading ``config.toml`` for the model providers that decide which threads Codex lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codex_migrate.doctor.report import ProviderConfig
from codex_migrate.doctor.rules import DEFAULT_PROVIDER
from codex_migrate.fsutil import open_regular

# -- config.toml -------------------------------------------------------------------------------


def _parse_toml(text: str) -> dict[str, Any]:
    import tomllib  # here: a home without config.toml (and every scan's start) skips it

    data = tomllib.loads(text)
    return data if isinstance(data, dict) else {}


def read_provider_config(home_root: Path) -> ProviderConfig:
    """Providers this home's Codex knows: built-ins plus ``[model_providers.*]``, and the
    default (``model_provider``, or the active profile's), else ``openai``."""
    path = home_root / "config.toml"
    try:
        with open_regular(path, "r", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return ProviderConfig()
    except (OSError, UnicodeDecodeError) as exc:
        return ProviderConfig(found=True, error=f"cannot read {path}: {exc}")
    try:
        data = _parse_toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        return ProviderConfig(found=True, error=f"{path}: {exc}")
    providers = data.get("model_providers")
    configured = frozenset(providers) if isinstance(providers, dict) else frozenset()
    default = data.get("model_provider")
    profile_name = data.get("profile")
    profiles = data.get("profiles")
    if isinstance(profile_name, str) and isinstance(profiles, dict):
        profile = profiles.get(profile_name)
        if isinstance(profile, dict) and isinstance(profile.get("model_provider"), str):
            default = profile["model_provider"]
    if not isinstance(default, str) or not default:
        default = DEFAULT_PROVIDER
    return ProviderConfig(default=default, configured=configured, found=True)
