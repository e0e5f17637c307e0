"""Build a release of codex-migrate for the platform this runs on: ``make dist``.

    python scripts/build_dist.py [--out dist] [--no-exe] [--work DIR]

In a clean temporary folder it copies the source (the files git tracks, plus new ones it does
not ignore), builds the sdist and, from the sdist, the wheel (``python -m build``), installs
that wheel with the pinned dependencies (requirements-dev.txt) and PyInstaller into a fresh
venv, and freezes it into one executable that carries its own Python. Into ``--out`` go::

    codex_migrate-VERSION.tar.gz
    codex_migrate-VERSION-py3-none-any.whl
    codex-migrate-VERSION-<os>-<machine>[.exe]   e.g. linux-x86_64, macos-arm64, windows-amd64
    SHA256SUMS                                    `sha256sum -c SHA256SUMS` checks them

The same command on macOS, Windows and Linux makes that platform's executable (PyInstaller
cannot cross-build). Needs the release tools of requirements-dev.txt in the running Python.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "dist", "build", ".cache", "__pycache__", "test-artifacts"}
#: Imported by name at run time (lazy CLI commands), so the freezer must be told.
ENTRY = "from codex_migrate.cli import main\n\nmain()\n"


def version() -> str:
    text = (ROOT / "src" / "codex_migrate" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        sys.exit("build_dist: no __version__ in src/codex_migrate/__init__.py")
    return m.group(1)


def platform_tag() -> str:
    """Same rule as ``codex_migrate.launcher.platform_tag`` (this script does not import it)."""
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    return f"{system}-{platform.machine().lower() or 'unknown'}"


def log(msg: str) -> None:
    print(f"build_dist: {msg}", flush=True)


def run(cmd: list[str | Path], cwd: Path | None = None) -> None:
    log(" ".join(str(c) for c in cmd))
    started = time.monotonic()
    subprocess.run([str(c) for c in cmd], check=True, cwd=cwd)
    log(f"  ({time.monotonic() - started:.0f} s)")


def source_files() -> list[Path]:
    """What a clean clone would have, plus new files not ignored (so a build before a commit
    tests what is in the working tree)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        names = [n for n in out.decode().split("\0") if n]
        return [Path(n) for n in names if (ROOT / n).is_file()]
    files = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith("_cache")]
        files += [Path(dirpath, f).relative_to(ROOT) for f in filenames]
    return files


def copy_source(dest: Path) -> None:
    for rel in source_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def freeze(wheel: Path, work: Path, name: str) -> Path:
    """A fresh venv with the wheel and pinned dependencies, frozen by PyInstaller."""
    venv = work / "freeze-venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])  # this pip installs into it
    py = venv_python(venv)
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", py, "install", "--quiet"]
    pins: list[str | Path] = ["-c", ROOT / "requirements-dev.txt"]
    run([*pip, *pins, wheel, "pyinstaller", "pyinstaller-hooks-contrib", "altgraph"])
    entry = work / "codex_migrate_main.py"
    entry.write_text(ENTRY, encoding="utf-8")
    options: list[str | Path] = [
        "--onefile", "--noconfirm", "--log-level=WARN", "--name", name,
        # Lazy CLI commands are imported by name; templates, static files, .po catalogs and
        # export templates are package data.
        "--collect-submodules", "codex_migrate", "--collect-data", "codex_migrate",
        # Babel's data for our locales only (scripts/pyinstaller-hooks/hook-babel.py).
        "--additional-hooks-dir", ROOT / "scripts" / "pyinstaller-hooks",
        # One zstandard backend (the C one), and stripped symbols: a smaller file to unpack.
        "--exclude-module", "zstandard.backend_cffi",
        # PyInstaller needs setuptools; we do not, and its runtime hook costs every start.
        "--exclude-module", "pkg_resources",
        *([] if os.name == "nt" else ["--strip"]),
        "--distpath", work / "exe", "--workpath", work / "pyi-build", "--specpath", work,
    ]  # fmt: skip
    run([py, "-m", "PyInstaller", *options, entry], cwd=work)
    exe = work / "exe" / (name + (".exe" if os.name == "nt" else ""))
    if not exe.is_file():
        sys.exit(f"build_dist: PyInstaller made no {exe}")
    return exe


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument("--no-exe", action="store_true", help="only the sdist and the wheel")
    parser.add_argument("--work", type=Path, help="keep the build folder here (default: temp)")
    args = parser.parse_args(argv)

    ver, started = version(), time.monotonic()
    temp = None if args.work else tempfile.mkdtemp(prefix="codex-migrate-dist-")
    work = Path(temp) if temp else args.work.resolve()
    try:
        tree = work / "source"
        copy_source(tree)
        out = work / "out"
        # sdist first, then the wheel from the sdist: proves the sdist is complete.
        run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, tree])
        wheel = next(out.glob("codex_migrate-*.whl"))
        artifacts = [next(out.glob("codex_migrate-*.tar.gz")), wheel]
        if not args.no_exe:
            artifacts.append(freeze(wheel, work, f"codex-migrate-{ver}-{platform_tag()}"))

        dest = args.out.resolve()
        dest.mkdir(parents=True, exist_ok=True)
        for old in [*dest.glob("codex_migrate-*"), *dest.glob("codex-migrate-*")]:
            old.unlink()
        lines = []
        for artifact in artifacts:
            shutil.copy2(artifact, dest / artifact.name)
            lines.append(f"{sha256(dest / artifact.name)}  {artifact.name}\n")
        # Binary mode names keep `sha256sum -c` and `shasum -a 256 -c` happy on every OS.
        (dest / "SHA256SUMS").write_text("".join(lines), encoding="utf-8", newline="\n")
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    for line in lines:
        digest, name = line.split()
        size = (dest / name).stat().st_size
        log(f"{name}  {size / 1e6:.1f} MB  sha256 {digest[:16]}…")
    log(f"wrote {dest} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
