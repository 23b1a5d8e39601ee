"""Build and run the local TDS test server (tests/tds_server) for the test suite and the examples.

Importable without pytest: `examples/quickstart.py` uses it too.

    with LocalServer(encrypt="off") as server:
        conn_str = server.connection_string()
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import json
import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVER_PACKAGE = "tds_server"
SERVER_BINARY_NAME = "tds-server"
DEFAULT_USER = "sa"
DEFAULT_PASSWORD = "FastMssql!Test1"
DEFAULT_DATABASE = "master"
# A prebuilt tds-server to use instead of building one (e.g. while the work tree does not compile).
SERVER_BINARY_ENV = "FASTMSSQL_TDS_SERVER"
ENCRYPT_MODES = ("off", "on", "required")

# A release build of the server from scratch takes a few minutes on two cores.
BUILD_TIMEOUT_SECS = 1800
STARTUP_TIMEOUT_SECS = 30.0
STOP_TIMEOUT_SECS = 10.0


class LocalServerError(RuntimeError):
    """The local server could not be built, started or stopped."""


@functools.lru_cache(maxsize=1)
def build_server_binary() -> pathlib.Path:
    """Build `tds-server` in release mode (honouring CARGO_TARGET_DIR) and return its path.

    Cargo itself reports the executable's path, so a target directory configured in any
    way cargo understands is found.
    """
    cargo = shutil.which("cargo")
    if cargo is None:
        raise LocalServerError("cargo is not on PATH: it is needed to build the local TDS server")
    cmd = [cargo, "build", "--release", "-p", SERVER_PACKAGE, "--message-format=json-render-diagnostics"]
    try:
        proc = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=BUILD_TIMEOUT_SECS,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalServerError(f"`{' '.join(cmd)}` did not finish within {BUILD_TIMEOUT_SECS} s") from exc
    if proc.returncode != 0:
        raise LocalServerError(
            f"`{' '.join(cmd)}` failed with exit code {proc.returncode}:\n{_tail(proc.stderr)}"
        )
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if (
            message.get("reason") == "compiler-artifact"
            and message.get("target", {}).get("name") == SERVER_BINARY_NAME
            and message.get("executable")
        ):
            return pathlib.Path(message["executable"])
    raise LocalServerError(f"`{' '.join(cmd)}` succeeded but reported no `{SERVER_BINARY_NAME}` executable")


def server_binary() -> pathlib.Path:
    """The tds-server to run: $FASTMSSQL_TDS_SERVER when set, else a fresh release build."""
    prebuilt = os.environ.get(SERVER_BINARY_ENV)
    if prebuilt:
        path = pathlib.Path(prebuilt)
        if not path.is_file():
            raise LocalServerError(f"{SERVER_BINARY_ENV}={prebuilt} is not a file")
        return path
    return build_server_binary()


def _tail(text: str, max_chars: int = 8000) -> str:
    return text if len(text) <= max_chars else "...\n" + text[-max_chars:]


def _ado_value(value: str) -> str:
    """Quote an ADO.NET connection string value when it needs braces."""
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


_PR_SET_PDEATHSIG = 1


def _terminate_with_parent() -> None:
    """Runs in the child before exec (Linux): SIGTERM the server when the thread that started it dies,
    so a killed test run leaves no server behind. Start servers from a thread that outlives them."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_running: set[LocalServer] = set()


@atexit.register
def _stop_leftover_servers() -> None:
    for server in list(_running):
        server.stop()


class LocalServer:
    """A `tds-server` process on 127.0.0.1 with an OS-assigned port, for the duration of a `with` block.

    `users` maps user names to passwords; the first one is `.user`/`.password`.
    Default: the server's default user `sa` / `FastMssql!Test1`.
    `certificate`: (certificate chain PEM, private key PEM) files to serve instead of the
    server's own self-signed certificate.
    """

    def __init__(
        self,
        encrypt: str = "off",
        users: Mapping[str, str] | None = None,
        *,
        binary: pathlib.Path | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_SECS,
        certificate: tuple[pathlib.Path, pathlib.Path] | None = None,
    ) -> None:
        if encrypt not in ENCRYPT_MODES:
            raise ValueError(f"encrypt must be one of {ENCRYPT_MODES}, not {encrypt!r}")
        if users is not None and not users:
            raise ValueError("users must name at least one user")
        self.encrypt = encrypt
        self.users = dict(users) if users is not None else {DEFAULT_USER: DEFAULT_PASSWORD}
        self.user, self.password = next(iter(self.users.items()))
        self.database = DEFAULT_DATABASE
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.cert_path: pathlib.Path | None = None
        self.returncode: int | None = None
        self._binary = binary
        self._certificate = certificate
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._tmpdir: pathlib.Path | None = None
        self._stderr_file = None
        self._stdout_lines: queue.Queue[str | None] = queue.Queue()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._process is not None else "stopped"
        return f"LocalServer(encrypt={self.encrypt!r}, {state})"

    def start(self) -> None:
        if self._process is not None:
            raise LocalServerError("the local server is already running")
        binary = self._binary or server_binary()
        self._tmpdir = pathlib.Path(tempfile.mkdtemp(prefix="fastmssql-tds-server-"))
        self.cert_path = self._tmpdir / "server-cert.pem"
        self._stderr_file = open(self._tmpdir / "stderr.log", "w+", encoding="utf-8", errors="replace")
        cmd = [
            str(binary),
            "--host", self.host,
            "--port", "0",
            "--encrypt", self.encrypt,
            "--write-cert", str(self.cert_path),
        ]
        if self._certificate is not None:
            cmd += ["--cert", str(self._certificate[0]), "--key", str(self._certificate[1])]
        if self.users != {DEFAULT_USER: DEFAULT_PASSWORD}:
            for name, password in self.users.items():
                cmd += ["--user", f"{name}:{password}"]
        self._process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            text=True,
            preexec_fn=_terminate_with_parent if sys.platform.startswith("linux") else None,
        )
        _running.add(self)
        # Drains stdout for the whole life of the process so the server never blocks on a full pipe.
        threading.Thread(target=self._read_stdout, args=(self._process.stdout,), daemon=True).start()
        try:
            self.port = self._wait_for_port()
            if not self.cert_path.is_file():
                raise LocalServerError(f"the server did not write its certificate to {self.cert_path}")
        except BaseException:
            self.stop()
            raise

    def _read_stdout(self, stream) -> None:
        with stream:
            for line in stream:
                self._stdout_lines.put(line)
        self._stdout_lines.put(None)

    def _wait_for_port(self) -> int:
        try:
            first_line = self._stdout_lines.get(timeout=self._startup_timeout)
        except queue.Empty:
            raise LocalServerError(
                f"the local server printed no port within {self._startup_timeout} s; stderr:\n{self.stderr()}"
            ) from None
        if first_line is None:
            code = self._process.wait(timeout=STOP_TIMEOUT_SECS)
            raise LocalServerError(
                f"the local server exited with code {code} before printing its port; stderr:\n{self.stderr()}"
            )
        text = first_line.strip()
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise LocalServerError(
                f"the local server's first stdout line is not a port number: {text!r}; stderr:\n{self.stderr()}"
            )
        return int(text)

    def stderr(self) -> str:
        """What the server has written to stderr so far."""
        if self._stderr_file is None or self._stderr_file.closed:
            return ""
        self._stderr_file.flush()
        self._stderr_file.seek(0)
        return _tail(self._stderr_file.read())

    def stop(self) -> int | None:
        """SIGTERM the server and wait for it (SIGKILL if it does not stop in time); returns its exit code."""
        process, self._process = self._process, None
        _running.discard(self)
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_SECS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=STOP_TIMEOUT_SECS)
            self.returncode = process.returncode
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        return self.returncode

    def connection_string(self, encrypt: bool = False) -> str:
        """ADO.NET connection string for fastmssql; `encrypt=True` asks for TLS and trusts the test certificate."""
        if self.port is None:
            raise LocalServerError("the local server is not running")
        security = "Encrypt=yes;TrustServerCertificate=yes" if encrypt else "Encrypt=no"
        return (
            f"Server={self.host},{self.port};Database={self.database};"
            f"User Id={_ado_value(self.user)};Password={_ado_value(self.password)};{security}"
        )
