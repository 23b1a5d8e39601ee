"""Cached virtual environments for clients that cannot live in the test interpreter (fastmssql 0.7.7 has
this package's module name; the benchmark pins one environment per client).

One environment per pinned requirements file and Python version, under ~/.cache/fastmssql/bench-venvs,
shared by the benchmark (benches/run.py) and the conformance tests (tests/conformance).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shlex
import subprocess
import sys

CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "fastmssql"
VENV_CACHE = CACHE / "bench-venvs"

# Creating an environment downloads its wheels from PyPI.
INSTALL_TIMEOUT_SECS = 900


class VenvError(RuntimeError):
    """An environment could not be created."""


def ensure_venv(cache: pathlib.Path, name: str, requirements: pathlib.Path) -> pathlib.Path:
    """The Python of a virtual environment with the pinned requirements, reused while they (and Python) are unchanged."""
    key = hashlib.sha256((requirements.read_text() + sys.version).encode()).hexdigest()[:12]
    venv = cache / f"{name}-{key}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    _run([sys.executable, "-m", "venv", "--clear", str(venv)])
    _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requirements)])
    (venv / ".complete").write_text(requirements.read_text())
    return python


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=INSTALL_TIMEOUT_SECS)
    if proc.returncode != 0:
        raise VenvError(f"`{shlex.join(cmd)}` failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
