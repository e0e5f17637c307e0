"""Two real Syncthing instances on 127.0.0.1 carrying one folder between two sides.

Each instance has its own home (config, keys, database) under the test's temp folder and is
configured before it starts: the GUI/REST API and the sync protocol listen on 127.0.0.1 only,
the peer is reached at its 127.0.0.1 port, and global and local discovery, relays, NAT
traversal, STUN, upgrades, crash and usage reporting are all off. Nothing leaves loopback.
Processes are stopped through the REST API, then killed if they do not go, always.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

FOLDER_ID = "codex-sync"
START_TIMEOUT = 30.0
CARRY_TIMEOUT = 90.0


class SyncthingError(RuntimeError):
    pass


def syncthing_binary() -> Path | None:
    found = shutil.which("syncthing")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config_xml(me: Syncthing, peer: Syncthing) -> str:
    def device(st: Syncthing, address: str) -> str:
        return (
            f'<device id="{st.device_id}" name="{escape(st.name)}" compression="metadata" '
            f'introducer="false"><address>{address}</address>'
            "<autoAcceptFolders>false</autoAcceptFolders></device>"
        )

    return f"""<configuration version="36">
  <folder id="{FOLDER_ID}" label="{FOLDER_ID}" path="{escape(str(me.folder))}" type="sendreceive"
          rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="1"
          ignorePerms="false" autoNormalize="true">
    <filesystemType>basic</filesystemType>
    <device id="{me.device_id}"></device>
    <device id="{peer.device_id}"></device>
    <minDiskFree unit="%">0</minDiskFree>
    <markerName>.stfolder</markerName>
    <maxConflicts>10</maxConflicts>
  </folder>
  {device(me, "dynamic")}
  {device(peer, f"tcp://127.0.0.1:{peer.sync_port}")}
  <gui enabled="true" tls="false">
    <address>127.0.0.1:{me.gui_port}</address>
    <apikey>{me.api_key}</apikey>
  </gui>
  <options>
    <listenAddress>tcp://127.0.0.1:{me.sync_port}</listenAddress>
    <globalAnnounceEnabled>false</globalAnnounceEnabled>
    <localAnnounceEnabled>false</localAnnounceEnabled>
    <relaysEnabled>false</relaysEnabled>
    <natEnabled>false</natEnabled>
    <stunKeepaliveStartS>0</stunKeepaliveStartS>
    <announceLANAddresses>false</announceLANAddresses>
    <startBrowser>false</startBrowser>
    <urAccepted>-1</urAccepted>
    <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
    <crashReportingEnabled>false</crashReportingEnabled>
    <reconnectionIntervalS>1</reconnectionIntervalS>
    <minHomeDiskFree unit="%">0</minHomeDiskFree>
    <setLowPriority>false</setLowPriority>
  </options>
</configuration>
"""


class Syncthing:
    """One instance: its own home, ports and API key; the folder it carries."""

    def __init__(self, binary: Path, name: str, base: Path, folder: Path) -> None:
        self.binary = binary
        self.name = name
        self.home = base / f"syncthing-{name}"
        self.folder = folder
        self.gui_port = free_port()
        self.sync_port = free_port()
        self.api_key = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.home.mkdir(parents=True)
        for args in (
            ["generate", f"--home={self.home}", "--no-default-folder", "--skip-port-probing"],
            ["serve", f"--home={self.home}", "--device-id"],
        ):
            out = subprocess.run(
                [str(binary), *args],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        self.device_id = out.stdout.strip()
        if len(self.device_id) != 63:
            raise SyncthingError(f"no device ID from syncthing: {out.stdout} {out.stderr}")

    @property
    def env(self) -> dict[str, str]:
        keep = {k: os.environ[k] for k in ("PATH", "LANG", "TMPDIR") if k in os.environ}
        return {
            **keep,
            "HOME": str(self.home),
            "STNODEFAULTFOLDER": "1",
            "STNOUPGRADE": "1",
            "STNORESTART": "1",
        }

    def configure(self, peer: Syncthing) -> None:
        (self.home / "config.xml").write_text(_config_xml(self, peer), encoding="utf-8")

    def start(self) -> None:
        log = open(self.home / "syncthing.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "serve",
                f"--home={self.home}",
                "--no-browser",
                "--no-restart",
                "--no-upgrade",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SyncthingError(f"syncthing {self.name} exited: {self.log_tail()}")
            with contextlib.suppress(OSError, SyncthingError, ValueError):
                if self.api("GET", "/rest/system/ping").get("ping") == "pong":
                    return
            time.sleep(0.2)
        raise SyncthingError(f"syncthing {self.name} did not answer in time: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.home / "syncthing.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.gui_port}{path}",
            data=data,
            method=method,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise SyncthingError(f"{method} {path}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        return json.loads(raw) if raw.strip() else {}

    def connected_to(self, peer: Syncthing) -> bool:
        conns = self.api("GET", "/rest/system/connections").get("connections", {})
        return bool(conns.get(peer.device_id, {}).get("connected"))

    def status(self) -> dict[str, Any]:
        got: dict[str, Any] = self.api("GET", f"/rest/db/status?folder={FOLDER_ID}")
        return got

    def scan(self) -> None:
        self.api("POST", f"/rest/db/scan?folder={FOLDER_ID}", timeout=60)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(Exception):
            self.api("POST", "/rest/system/shutdown", timeout=3)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        self.proc = None


def bound_addresses(pid: int) -> list[str]:
    """Local addresses of every TCP/UDP socket the process holds (Linux /proc), e.g.
    ``127.0.0.1:8384``; empty where /proc is not available."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    found: list[str] = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with contextlib.suppress(OSError), open(f"/proc/net/{table}") as f:
            for line in list(f)[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[9] in inodes:
                    found.append(_decode_address(cols[1]))
    return found


def _decode_address(text: str) -> str:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        addr = socket.inet_ntop(socket.AF_INET6, words)
    return f"{addr}:{int(port, 16)}"


def tree(folder: Path, under: str = "") -> dict[str, str]:
    """Files under ``folder/under`` with their SHA-256, Syncthing's own files left out."""
    out: dict[str, str] = {}
    base = folder / under if under else folder
    if not base.exists():
        return out
    for p in [base] if base.is_file() else sorted(base.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and ".stfolder" not in rel and not p.name.startswith(".syncthing."):
            try:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            except FileNotFoundError:  # Syncthing replaced it between listing and reading
                out[rel] = "(changing)"
    return out


class SyncthingPair:
    """A and B carrying their local copies of the shared folder to each other."""

    def __init__(self, binary: Path, base: Path, folder_a: Path, folder_b: Path) -> None:
        self.a = Syncthing(binary, "a", base, folder_a)
        self.b = Syncthing(binary, "b", base, folder_b)
        self.a.configure(self.b)
        self.b.configure(self.a)

    def start(self) -> None:
        self.a.start()
        self.b.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.a.connected_to(self.b) and self.b.connected_to(self.a):
                return
            time.sleep(0.3)
        raise SyncthingError(
            f"the two instances did not connect:\n{self.a.log_tail()}\n{self.b.log_tail()}"
        )

    def addresses(self) -> list[str]:
        """Every address either instance has a socket bound to."""
        import psutil

        pids = []
        for st in (self.a, self.b):
            if st.proc is not None:
                pids.append(st.proc.pid)
                pids += [c.pid for c in psutil.Process(st.proc.pid).children(recursive=True)]
        return [a for pid in pids for a in bound_addresses(pid)]

    def stop(self) -> None:
        try:
            self.a.stop()
        finally:
            self.b.stop()

    def carry(self, src: Syncthing, dst: Syncthing, under: str = "") -> None:
        """Rescan ``src`` and wait until ``dst`` holds the same bytes under ``under`` and
        Syncthing on ``dst`` needs nothing more."""
        src.scan()
        deadline = time.monotonic() + CARRY_TIMEOUT
        while time.monotonic() < deadline:
            if tree(src.folder, under) == tree(dst.folder, under):
                st = dst.status()
                if st.get("needTotalItems", 1) == 0 and st.get("state") == "idle":
                    return
            time.sleep(0.3)
        raise SyncthingError(
            f"{under or 'the folder'} did not arrive from {src.name} to {dst.name} in "
            f"{CARRY_TIMEOUT:.0f} s: {dst.status()}"
        )


@contextlib.contextmanager
def syncthing_pair(base: Path, folder_a: Path, folder_b: Path) -> Iterator[SyncthingPair]:
    binary = syncthing_binary()
    if binary is None:
        raise SyncthingError("syncthing is not installed")
    pair = SyncthingPair(binary, base, folder_a, folder_b)
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()
