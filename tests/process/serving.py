"""A real ``openisales serve`` process for the tests of the server's hygiene, and raw sockets."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """The process's resident set size (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    tls: bool
    log: Path

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=timeout)
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context.wrap_socket(sock)
        return sock

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.base + path, verify=False, **kwargs)


@contextmanager
def serving(
    tmp_path: Path,
    *,
    tls: bool = False,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    preexec_fn: Callable[[], None] | None = None,
    data_dir: Path | None = None,
) -> Iterator[Server]:
    """``openisales serve``, on the embedded database unless ``env`` says otherwise."""
    port = free_port()
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OPENISALES_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    full_env = {
        **base_env,
        "OPENISALES_DATA_DIR": str(data_dir or tmp_path / "data"),
        **(env or {}),
    }
    log = tmp_path / f"server-{port}.log"
    command = [sys.executable, "-m", "openisales", "serve", "--port", str(port), *args]
    if not tls:
        command.append("--no-tls")
    with log.open("ab") as handle:
        process = subprocess.Popen(
            command, env=full_env, stdout=handle, stderr=subprocess.STDOUT, preexec_fn=preexec_fn
        )
    server = Server(process, port, tls, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.get("/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def read_response(sock: socket.socket, limit: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``limit`` seconds pass)."""
    sock.settimeout(limit)
    chunks: list[bytes] = []
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except (ConnectionResetError, TimeoutError, ssl.SSLError):
        pass
    return b"".join(chunks)


def closed_within(sock: socket.socket, limit: float) -> bool:
    """Whether the server closes the connection within ``limit`` seconds (data before is read)."""
    sock.settimeout(limit)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return False


def status_and_body(response: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}
