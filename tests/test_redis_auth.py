"""REDIS_URL with a password, and rediss:// (TLS), against a real redis-server of our own.

bot.core.redisconn.redis_client is what serve and the workers connect with; these tests start
redis-server with --requirepass (and, for TLS, with a throwaway CA and certificates made by
openssl) and check that the documented URL forms work and that a wrong one fails clearly.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import redis.exceptions

from bot.core.redisconn import describe_failure, redis_client
from tests.rig import free_port

pytestmark = pytest.mark.integration

# Characters that must be percent-encoded in the URL's userinfo, to show that they can be.
PASSWORD = "s3cret:with/odd@chars"


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis(workdir: Path, *args: str, ready_url: str) -> Server:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    cmd = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir), *args]
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = Server(port, proc, workdir)
    # Ready when an authenticated client gets PONG (a bare PING would only get NOAUTH).
    url = ready_url.replace("{port}", str(port))
    deadline = time.monotonic() + 10
    while True:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            if client.ping():
                return server
        except redis.exceptions.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"redis-server {' '.join(args)} did not start") from None
            time.sleep(0.05)
        finally:
            client.close()


def password_url(port: int, password: str = PASSWORD, scheme: str = "redis", query: str = "") -> str:
    url = f"{scheme}://:{quote(password, safe='')}@127.0.0.1:{port}/0"
    return f"{url}?{query}" if query else url


@pytest.fixture(scope="module")
def protected() -> Iterator[Server]:
    workdir = Path(tempfile.mkdtemp(prefix="dockbell-redis-auth-"))
    server = start_redis(
        workdir, "--port", "{port}", "--requirepass", PASSWORD, ready_url=password_url(0).replace(":0/", ":{port}/")
    )
    yield server
    server.stop()


async def test_the_right_password_in_the_url_works(protected: Server) -> None:
    client = redis_client(password_url(protected.port))
    try:
        assert await client.ping()
        await client.xadd("dockbell-test:auth", {"k": "v"})
        assert await client.xlen("dockbell-test:auth") >= 1
    finally:
        await client.aclose()


@pytest.mark.parametrize("query", ["", "protocol=2", "protocol=3"])
async def test_a_wrong_password_fails_clearly(protected: Server, query: str) -> None:
    client = redis_client(password_url(protected.port, password="wrong", query=query))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError, match="invalid username-password pair") as caught:
            await client.ping()
        assert describe_failure(caught.value) == (
            "Redis refused the password in REDIS_URL (invalid username-password pair)"
        )
    finally:
        await client.aclose()


@pytest.mark.parametrize("query", ["", "?protocol=2", "?protocol=3"])
async def test_no_password_fails_clearly(protected: Server, query: str) -> None:
    client = redis_client(f"redis://127.0.0.1:{protected.port}/0{query}")
    try:
        # redis-py's own text depends on the protocol (RESP3's HELLO, or NOAUTH): ours does not.
        with pytest.raises(redis.exceptions.RedisError) as caught:
            await client.ping()
        assert describe_failure(caught.value) == (
            "Redis wants a password and REDIS_URL has none (redis://:PASSWORD@host:6379/0)"
        )
    finally:
        await client.aclose()


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_pki(folder: Path) -> Pki:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, valid one day."""
    (folder / "ca.cnf").write_text(
        "[req]\ndistinguished_name=dn\n[dn]\n"
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\n",
        encoding="utf-8",
    )
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n",
        encoding="utf-8",
    )
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\nauthorityKeyIdentifier=keyid\n", encoding="utf-8")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-config", "ca.cnf", "-extensions", "ca", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "1", "-subj", "/CN=dockbell test CA", cwd=folder)  # fmt: skip
    for name in ("server", "client"):
        _openssl("req", *ec, "-config", "ca.cnf", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN=dockbell test {name}", cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=folder)  # fmt: skip
    return Pki(
        folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem", folder / "client.key"
    )


@pytest.fixture(scope="module")
def tls() -> Iterator[tuple[Server, Pki]]:
    workdir = Path(tempfile.mkdtemp(prefix="dockbell-redis-tls-"))
    pki = make_pki(workdir)
    # Plain TCP off; TLS on, with a password, and client certificates required (mutual TLS).
    server = start_redis(
        workdir,
        "--port", "0", "--tls-port", "{port}",
        "--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
        "--tls-ca-cert-file", str(pki.ca), "--tls-auth-clients", "yes",
        "--requirepass", PASSWORD,
        ready_url=password_url(0, scheme="rediss", query=_tls_query(pki, client_cert=True)).replace(":0/", ":{port}/"),
    )  # fmt: skip
    yield server, pki
    server.stop()


def _tls_query(pki: Pki, *, client_cert: bool) -> str:
    query = f"ssl_cert_reqs=required&ssl_ca_certs={quote(str(pki.ca))}"
    if client_cert:
        query += f"&ssl_certfile={quote(str(pki.client_cert))}&ssl_keyfile={quote(str(pki.client_key))}"
    return query


async def test_rediss_with_a_private_ca_and_a_client_certificate(tls: tuple[Server, Pki]) -> None:
    server, pki = tls
    client = redis_client(password_url(server.port, scheme="rediss", query=_tls_query(pki, client_cert=True)))
    try:
        assert await client.ping()
        assert await client.set("dockbell-test:tls", "1")
    finally:
        await client.aclose()


async def test_rediss_without_the_ca_fails_on_the_certificate(tls: tuple[Server, Pki]) -> None:
    server, _ = tls
    client = redis_client(password_url(server.port, scheme="rediss", query="ssl_cert_reqs=required"))
    try:
        with pytest.raises(redis.exceptions.ConnectionError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await client.ping()
        assert describe_failure(caught.value).startswith("Redis's TLS certificate is not trusted")
    finally:
        await client.aclose()


async def test_rediss_without_a_client_certificate_is_refused(tls: tuple[Server, Pki]) -> None:
    server, pki = tls
    client = redis_client(password_url(server.port, scheme="rediss", query=_tls_query(pki, client_cert=False)))
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            await client.ping()
    finally:
        await client.aclose()


async def test_plain_redis_to_a_tls_port_fails(tls: tuple[Server, Pki]) -> None:
    server, _ = tls
    client = redis_client(password_url(server.port))
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            await client.ping()
    finally:
        await client.aclose()
