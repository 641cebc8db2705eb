"""The deploy's nginx in front of a real gunicorn: 200 slowloris clients leave normal requests'
p95 within 2x of the idle figure (Debian's nginx binary, production settings, loopback only).

The proxy configuration is the committed template (deploy/nginx/templates), filled the way the
container fills it. The figures are printed (``-s``) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import datetime
import http.client
import os
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from tests.conftest import HOST_A
from tests.core.test_deploy import production_secrets
from tests.helpers import running_database_url

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "guichet.conf.template"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SLOW_CLIENTS = 200
SAMPLES = 60
PATH = "/api/v1/services/"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Stack:
    """Ports of the running proxy (and of gunicorn behind it)."""

    https_port: int
    http_port: int
    app_port: int


@pytest.fixture(scope="module")
def stack(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """gunicorn (production settings, the test database) behind nginx on loopback."""
    if NGINX is None:
        message = "nginx is not installed (Debian package `nginx`; .ci/run installs it)"
        print(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("proxy")
    app_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        # Proper values: production refuses weak, known or repeated keys.
        **production_secrets(),
        "DJANGO_ALLOWED_HOSTS": ".localhost,localhost",
        "DATABASE_URL": running_database_url(),
        "GUICHET_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "HOTKEYS_LMDB_PATH": str(work / "hotkeys"),
        "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus"),
        "GUNICORN_BIND": f"127.0.0.1:{app_port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_LOG_LEVEL": "warning",
        "LOG_LEVEL": "WARNING",
        "THROTTLE_IP_RATE": "100000/min",
        "THROTTLE_AGENCY_RATE": "100000/min",
        "TRUSTED_PROXIES": "127.0.0.1/32",
    }
    env.pop("FDB_CLUSTER_FILE", None)
    (work / "prometheus").mkdir()
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "gunicorn.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    cert, key = _certificate(work)
    server_blocks = string.Template(TEMPLATE.read_text()).safe_substitute(
        NGINX_UPSTREAM=f"127.0.0.1:{app_port}",
        NGINX_GATEWAY_UPSTREAM=f"127.0.0.1:{app_port}",
        NGINX_HTTP_PORT=str(http_port),
        NGINX_HTTPS_PORT=str(https_port),
        NGINX_TLS_CERTIFICATE=str(cert),
        NGINX_TLS_KEY=str(key),
        NGINX_MAX_BODY_SIZE=str(settings.API_MAX_UPLOAD_BYTES + 1024 * 1024),
    )
    (work / "guichet.conf").write_text(server_blocks)
    (work / "nginx.conf").write_text(
        f"""
daemon off;
user root root;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/guichet.conf;
}}
"""
    )
    nginx = subprocess.Popen(
        [NGINX, "-c", str(work / "nginx.conf"), "-p", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(app_port, 60)
        _wait_for(https_port, 10)
        yield Stack(https_port=https_port, http_port=http_port, app_port=app_port)
    finally:
        nginx.terminate()
        gunicorn.terminate()
        nginx.wait(timeout=10)
        gunicorn.wait(timeout=30)


def _make_tls() -> ssl.SSLContext:
    # No CA bundle to load: the test's certificate is self-signed. One context for every
    # connection, so the figures measure the proxy, not the client's set-up.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _make_tls()


def _tls() -> ssl.SSLContext:
    return _TLS


def _request(
    stack: Stack, method: str = "GET", path: str = PATH, **kwargs: Any
) -> tuple[int, float]:
    started = time.perf_counter()
    client = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=_tls(), timeout=30)
    try:
        client.request(
            method, path, headers={"Host": HOST_A, **kwargs.pop("headers", {})}, **kwargs
        )
        response = client.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        client.close()


def _p95(stack: Stack) -> float:
    durations = []
    for _ in range(SAMPLES):
        status, seconds = _request(stack)
        assert status == 200, status
        durations.append(seconds)
    durations.sort()
    return durations[int(len(durations) * 0.95) - 1]


# The attack runs in its own process, so that its 200 sockets never compete with the measuring
# client for this process's interpreter lock. It stops by itself after SLOWLORIS_SECONDS.
SLOWLORIS_SECONDS = 60
SLOWLORIS = r"""
import socket, ssl, sys, time
port, count, seconds = int(sys.argv[1]), int(sys.argv[4]), float(sys.argv[5])
host, path = sys.argv[2], sys.argv[3]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
crlf = chr(13) + chr(10)
request = f"GET {path} HTTP/1.1{crlf}Host: {host}{crlf}X-Padding: ".encode() + b"a" * 10_000
opened = dropped = 0

def connect():
    global opened
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    opened += 1
    return [sock, 0]

clients = [connect() for _ in range(count)]
print("ready", flush=True)
deadline = time.monotonic() + seconds
try:
    while time.monotonic() < deadline:
        time.sleep(1.0)
        for client in clients:
            sock, sent = client
            try:
                sock.send(request[sent:sent + 1])
                client[1] = sent + 1
            except OSError:
                dropped += 1  # the proxy gave up on it (client_header_timeout): open another
                sock.close()
                try:
                    client[:] = connect()
                except OSError:
                    pass
except KeyboardInterrupt:  # the test is done measuring
    pass
print(f"done {opened} {dropped}", flush=True)
"""


class Slowloris:
    """``SLOW_CLIENTS`` TLS connections sending their headers one byte a second (another
    process); a connection the proxy closes is replaced at once, as the attack tool does."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.opened = 0
        self.dropped = 0
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Slowloris:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SLOWLORIS,
                str(self.stack.https_port),
                HOST_A,
                PATH,
                str(SLOW_CLIENTS),
                str(SLOWLORIS_SECONDS),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=15)
        for line in output.splitlines():
            if line.startswith("done "):
                self.opened, self.dropped = (int(value) for value in line.split()[1:])


def test_slow_clients_do_not_slow_down_normal_requests(stack: Stack) -> None:
    for _ in range(40):  # warm up: every worker thread opens its database connection
        _request(stack)
    idle = _p95(stack)

    with Slowloris(stack) as slow:
        time.sleep(2)  # every slow connection is open and dripping
        loaded = _p95(stack)
        alive = slow.running

    print(
        f"\nproxy p95 idle {idle * 1000:.1f} ms, under {SLOW_CLIENTS} slowloris connections "
        f"{loaded * 1000:.1f} ms, ratio {loaded / idle:.2f} ({slow.opened} slow connections "
        f"opened, {slow.dropped} closed by the proxy)"
    )
    assert alive  # the attack ran throughout the measurement
    assert loaded <= 2 * idle, (idle, loaded)


def test_the_proxy_hides_metrics_and_refuses_oversized_bodies(stack: Stack) -> None:
    metrics_status, _ = _request(stack, path="/metrics")
    too_big = b"x" * (settings.API_MAX_UPLOAD_BYTES + 2 * 1024 * 1024)
    upload_status, _ = _request(
        stack, "POST", "/api/v1/services/", body=too_big, headers={"Content-Type": "text/plain"}
    )
    plain = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    plain.request("GET", PATH, headers={"Host": HOST_A})
    redirect = plain.getresponse()

    assert metrics_status == 404
    assert upload_status == 413
    assert redirect.status == 301
    assert redirect.getheader("Location") == f"https://{HOST_A}{PATH}"
