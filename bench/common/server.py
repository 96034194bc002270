"""``openisales serve`` as a child process: started, awaited until ready, always stopped."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from common import cli

HOST = "127.0.0.1"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``with ServerProcess(env, workers=2, log=path) as server: ...``.

    TLS is on by default (the server's own self-signed certificate); ``tls=False``
    runs it as it runs behind a TLS-terminating proxy. The server runs in its
    own session so that its workers can be found and stopped with it.

    ``server="granian"`` runs the same application (``openisales.cli.asgi``)
    under granian instead of ``openisales serve`` (uvicorn), for an A/B of
    the HTTP server: granian must be importable (``PYTHONPATH``), and gets the
    settings of ``serve`` that it has an equivalent for (see
    ``docs/decisions/0010-http-server-ab.md``).

    ``launcher``: a Python script run in place of the ``openisales`` command,
    with the same arguments (``bench/writeback/nullapp.py``: ``serve`` with
    another application).
    """

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int,
        log: Path,
        tls: bool = True,
        server: str = "uvicorn",
        launcher: Path | None = None,
    ) -> None:
        self.env = env
        self.tls = tls
        self.server = server
        self.launcher = launcher
        self.workers = workers
        self.log = log
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def host_header(self) -> str:
        return f"{HOST}:{self.port}"

    def __enter__(self) -> ServerProcess:
        if self.server == "granian":
            self._proc = self._start_granian()
        else:
            args = ["serve", "--host", HOST, "--port", str(self.port)]
            args += ["--workers", str(self.workers)]
            if not self.tls:
                args.append("--no-tls")
            command = [sys.executable, str(self.launcher)] if self.launcher else None
            self._proc = cli.start(args, env=self.env, log=self.log, command=command)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_granian(self) -> subprocess.Popen[bytes]:
        """granian with ``serve``'s limits where it has them, TLS, and per-worker metrics files."""
        from openisales.cli.tls import ensure_self_signed

        data_dir = Path(self.env["OPENISALES_DATA_DIR"])
        metrics_dir = data_dir / "metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env = self.env | {
            "OPENISALES_WORKERS": str(self.workers),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        args = ["-m", "granian", "--interface", "asgi", "--factory", "--http", "1", "--no-ws"]
        args += ["--host", HOST, "--port", str(self.port), "--workers", str(self.workers)]
        args += ["--loop", "uvloop", "--backlog", "2048", "--no-access-log"]
        args += ["--http1-header-read-timeout", "10000", "--http1-buffer-size", "16384"]
        args += ["--workers-kill-timeout", "30"]
        if self.tls:
            cert, key = ensure_self_signed(data_dir, [HOST])
            args += ["--ssl-certificate", str(cert), "--ssl-keyfile", str(key)]
        args.append("openisales.cli.asgi:create_from_env")
        with self.log.open("wb") as sink:
            return subprocess.Popen(
                [sys.executable, *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        """Graceful stop (SIGTERM: uvicorn finishes in-flight requests), then a hard one.

        Idempotent; afterwards nothing is left in the server's process group.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                cli.signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        cli.signal_group(proc.pid, signal.SIGKILL)  # whatever is left of its own workers

    def check_alive(self) -> None:
        """Raise with the server's exit status and log when it is no longer running."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"the server exited with {self._proc.returncode}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(verify=False, timeout=2.0) as http:
            while time.monotonic() < deadline:
                self.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.base_url}/readyz").status_code == 200:
                        return
                time.sleep(0.2)
        raise RuntimeError(f"the server was not ready within {READY_TIMEOUT_S:.0f} s")
