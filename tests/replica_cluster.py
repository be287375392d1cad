"""A throw-away PostgreSQL primary with a streaming replica, for the read-replica tests and
benchmark: `initdb` into temporary directories, the servers run as the `postgres` user (through
`runuser` when started as root: PostgreSQL refuses to run as root), the replica cloned with
`pg_basebackup -R`, both on free ports of 127.0.0.1, stopped and removed at the end.

The machine's own server (port 5432) is not used: it has no replication entry, and tests must
be able to pause, stop and start a replica without touching anyone else's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SERVER_USER = "postgres"


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian's layout), or None."""
    versions = [Path(p).parent.parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = sorted(versions, key=lambda v: int(v.name) if v.name.isdigit() else 0)
    return found[-1] / "bin" if found else None


def missing_reason() -> str | None:
    """Why a cluster cannot be started here (None: it can)."""
    if postgres_bin() is None:
        return "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as another user"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """One PostgreSQL server of the pair: its data directory, port and log."""

    name: str
    data: Path
    port: int
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"


class ReplicaCluster:
    """A primary and one streaming replica. `start()` returns once the replica streams."""

    def __init__(self, root: Path | None = None) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError(missing_reason() or "no PostgreSQL binaries")
        self.root = root or Path(tempfile.mkdtemp(prefix="replica-cluster-"))
        self.as_root = os.geteuid() == 0
        self.primary = self._server("primary")
        self.replica = self._server("replica")

    def _server(self, name: str) -> Server:
        return Server(name, self.root / name, _free_port(), self.root / f"{name}.log")

    # ------------------------------------------------------------------------------- commands

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A PostgreSQL program, as the server user when we are root."""
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            output = result.stderr or result.stdout
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): {output}")
        return result

    def _own(self, *paths: Path) -> None:
        if self.as_root:
            for path in paths:
                shutil.chown(path, SERVER_USER, SERVER_USER)

    # -------------------------------------------------------------------------------- lifecycle

    def start(self) -> ReplicaCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        # The server user must reach its data directory; the temporary folder is ours (0700).
        self.root.chmod(0o755)
        self._own(self.root)
        self._init_primary()
        self.start_server(self.primary)
        self._clone_replica()
        self.start_server(self.replica)
        self.wait_streaming()
        return self

    def _init_primary(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.primary.data),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.primary.port),
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "hot_standby": "on",
            # Throw-away data: durability is not what these servers are for. (Commits stay
            # synchronous: WAL is then sent to the replica at each commit, not every 200 ms.)
            "fsync": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
            "max_connections": "60",
        }
        with open(self.primary.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# read-replica test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        with open(self.primary.data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            # pg_basebackup and the replica's WAL receiver connect here as `postgres`.
            hba.write(f"host replication {SERVER_USER} 127.0.0.1/32 trust\n")

    def _clone_replica(self) -> None:
        # -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            SERVER_USER,
            "-D",
            str(self.replica.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        with open(self.replica.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"port = {self.replica.port}\n")

    def start_server(self, server: Server) -> None:
        if not server.log.exists():
            server.log.touch()
            self._own(server.log)
        self._run("pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w", "start")

    def stop_server(self, server: Server, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(server.data), "-m", mode, "-w", "stop", check=False)

    def is_running(self, server: Server) -> bool:
        return self._run("pg_ctl", "-D", str(server.data), "status", check=False).returncode == 0

    def stop(self) -> None:
        """Stop both servers and remove their directories."""
        for server in (self.replica, self.primary):
            if server.data.exists():
                self.stop_server(server, "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_streaming(self, timeout_s: float = 60) -> None:
        """Until the primary reports the replica streaming and the replica is in recovery."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.psql(self.primary, "SELECT state FROM pg_stat_replication")
            recovering = self.psql(self.replica, "SELECT pg_is_in_recovery()")
            if state == "streaming" and recovering == "t":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the replica is not streaming (state {state!r}); its log:\n"
                    + self.replica.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.1)

    def psql(self, server: Server, sql: str, database: str = "postgres") -> str:
        """One statement's single value as text ('' when no row or the server is down)."""
        result = self._run(
            "psql",
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            SERVER_USER,
            "-d",
            database,
            "-c",
            sql,
            check=False,
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    # ---------------------------------------------------------------------------- replication

    async def create_database(self, name: str) -> None:
        """A database on the primary; it reaches the replica by WAL like everything else."""
        connection = await asyncpg.connect(self.primary.dsn(), timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        await self.caught_up()

    async def drop_database(self, name: str) -> None:
        connection = await asyncpg.connect(self.primary.dsn(), timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    async def _replica_sql(self, sql: str) -> object:
        connection = await asyncpg.connect(self.replica.dsn(), timeout=10)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    async def pause_replay(self) -> None:
        """The replica keeps receiving WAL but applies none of it: it lags from now on."""
        await self._replica_sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while await self._replica_sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not pause its replay")
            await asyncio.sleep(0.01)

    async def resume_replay(self) -> None:
        await self._replica_sql("SELECT pg_wal_replay_resume()")

    async def caught_up(self, timeout_s: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        connection = await asyncpg.connect(self.primary.dsn(), timeout=10)
        try:
            target = await connection.fetchval("SELECT pg_current_wal_insert_lsn()::text")
        finally:
            await connection.close()
        deadline = time.monotonic() + timeout_s
        while True:
            done = await self._replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if done:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica did not replay up to {target}")
            await asyncio.sleep(0.01)


@contextlib.contextmanager
def running_cluster() -> Iterator[ReplicaCluster]:
    """A started primary/replica pair, stopped and removed when the block ends."""
    cluster = ReplicaCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
