"""``FOLDER/codex-sync.toml``: which machines take part and where each keeps its projects.

The file is shared by every machine, so it is small, human-editable and rarely written: only
when a machine joins or records a root. Each write re-reads the file just before replacing it
(temp name + rename) and changes only this machine's entries, so two machines editing at
nearly the same time lose little; each machine also repeats its own roots in its manifest, which
wins back anything a sync engine's conflict handling dropped from this file.

A **portable root** is one name with each machine's folder for it (``code`` =
``/Users/alex/code`` on the Mac, ``/home/alex/code`` on Linux): a session recorded under a root on
one machine lands under the same root on another.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import fsync_dir
from codex_migrate.paths import try_parse

CONFIG_NAME = "codex-sync.toml"
CONFIG_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SyncConfigError(CodexMigrateError):
    """The shared config, a machine name or a ``--root`` is not usable."""

    code = "sync-config"


@dataclass
class Machine:
    name: str
    hostname: str = ""
    home: str = ""
    added: str = ""


@dataclass
class SyncConfig:
    """What ``codex-sync.toml`` says; ``roots`` is root name -> machine name -> path."""

    machines: dict[str, Machine] = field(default_factory=dict)
    roots: dict[str, dict[str, str]] = field(default_factory=dict)

    def roots_of(self, machine: str) -> dict[str, str]:
        """This machine's path per root name."""
        return {name: paths[machine] for name, paths in self.roots.items() if machine in paths}

    def to_dict(self) -> dict[str, Any]:
        return {
            "machines": {n: dict(m.__dict__) for n, m in sorted(self.machines.items())},
            "roots": {n: dict(sorted(p.items())) for n, p in sorted(self.roots.items())},
        }


def check_name(name: str, what: str = "machine name") -> str:
    """A name that is safe as a folder name on every OS and as a TOML key."""
    if not _NAME_RE.match(name) or name in (".", ".."):
        raise SyncConfigError(
            f"{what} {name!r} is not usable: use letters, digits, '.', '_' or '-' "
            "(up to 64, starting with a letter or digit)."
        )
    return name


def default_machine_name() -> str:
    """The host name, cut to what :func:`check_name` accepts."""
    raw = socket.gethostname().split(".")[0] or "machine"
    name = re.sub(r"[^A-Za-z0-9._-]", "-", raw).strip(".-_")[:64]
    return name or "machine"


def parse_root(text: str) -> tuple[str, str]:
    """``NAME=PATH`` of a ``--root`` option: a root name and an absolute path."""
    name, sep, path = text.partition("=")
    if not sep or not path:
        raise SyncConfigError(
            f"--root {text!r}: expected NAME=PATH, e.g. code=/home/alex/code.",
        )
    check_name(name, "root name")
    if try_parse(path) is None:
        raise SyncConfigError(f"--root {text!r}: {path!r} is not an absolute path.")
    return name, path


def load_config(folder: Path) -> SyncConfig:
    """Read ``codex-sync.toml``; a missing file is an empty config, a broken one an error."""
    path = folder / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SyncConfig()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SyncConfigError(
            f"{path} cannot be read: {exc}",
            hint="Fix or remove it; each machine writes its own entries back at its next sync.",
        ) from exc
    cfg = SyncConfig()
    machines = data.get("machines")
    if isinstance(machines, dict):
        for name, entry in machines.items():
            if not isinstance(entry, dict) or not _NAME_RE.match(name):
                continue
            cfg.machines[name] = Machine(
                name=name,
                hostname=str(entry.get("hostname") or ""),
                home=str(entry.get("home") or ""),
                added=str(entry.get("added") or ""),
            )
    roots = data.get("roots")
    if isinstance(roots, dict):
        for name, paths in roots.items():
            if isinstance(paths, dict) and _NAME_RE.match(name):
                cfg.roots[name] = {m: p for m, p in paths.items() if isinstance(p, str) and p}
    return cfg


def config_copies(folder: Path) -> list[str]:
    """Conflicted or temp copies of the config a sync engine left beside it."""
    stem = CONFIG_NAME.removesuffix(".toml")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(
        n for n in names if stem in n and n != CONFIG_NAME and not n.endswith("codex-sync-tmp")
    )


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset TOML accepts)."""
    return json.dumps(text, ensure_ascii=False)


def dump_config(cfg: SyncConfig) -> str:
    lines = [
        "# Shared by every machine that syncs Codex history through this folder.",
        "# Written by `codex-migrate sync`; safe to edit by hand.",
        "# [roots.NAME] gives each machine's folder for one portable project root.",
        f"version = {CONFIG_VERSION}",
        "",
    ]
    for name, m in sorted(cfg.machines.items()):
        lines.append(f"[machines.{_q(name)}]")
        lines += [f"hostname = {_q(m.hostname)}", f"home = {_q(m.home)}", f"added = {_q(m.added)}"]
        lines.append("")
    for name, paths in sorted(cfg.roots.items()):
        lines.append(f"[roots.{_q(name)}]")
        lines += [f"{_q(machine)} = {_q(path)}" for machine, path in sorted(paths.items())]
        lines.append("")
    return "\n".join(lines)


def save_config(folder: Path, cfg: SyncConfig) -> None:
    """Replace the file atomically (temp name in the same folder, then rename)."""
    path = folder / CONFIG_NAME
    tmp = folder / f".{CONFIG_NAME}.codex-sync-tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(dump_config(cfg))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(folder)


def resolve_machine(cfg: SyncConfig, given: str | None, home: Path) -> str:
    """This home's machine name: the one given, else the one recorded for this host and home,
    else the host name (refused when another home already uses it)."""
    host = socket.gethostname()
    if given:
        name = check_name(given)
        other = cfg.machines.get(name)
        if other and other.home and other.hostname == host and other.home != str(home):
            raise SyncConfigError(
                f"machine {name!r} already syncs the home {other.home} on this host.",
                hint="Give this home its own --machine NAME.",
            )
        return name
    for m in cfg.machines.values():
        if m.hostname == host and m.home == str(home):
            return m.name
    name = default_machine_name()
    if name in cfg.machines:
        raise SyncConfigError(
            f"machine name {name!r} (this host's name) is taken by the home "
            f"{cfg.machines[name].home or '?'}.",
            hint="Give this home its own --machine NAME; it is remembered.",
        )
    return name


def updated_config(
    folder: Path, machine: str, home: Path, roots: dict[str, str]
) -> SyncConfig | None:
    """The config with this machine and its roots recorded, re-read from disk now; ``None``
    when it already says all of that (nothing to write)."""
    cfg = load_config(folder)
    changed = False
    entry = cfg.machines.get(machine)
    host = socket.gethostname()
    if entry is None or entry.hostname != host or entry.home != str(home):
        added = entry.added if entry else datetime.now(UTC).isoformat(timespec="seconds")
        cfg.machines[machine] = Machine(machine, host, str(home), added)
        changed = True
    for name, path in roots.items():
        if cfg.roots.get(name, {}).get(machine) != path:
            cfg.roots.setdefault(name, {})[machine] = path
            changed = True
    return cfg if changed else None
