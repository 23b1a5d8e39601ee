"""The type stub: the canonical top-level copy is shipped unchanged, and it matches the built extension."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastmssql

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_shipped_stub_is_the_canonical_stub() -> None:
    canonical = (REPO_ROOT / "fastmssql.pyi").read_bytes()
    shipped = (REPO_ROOT / "python" / "fastmssql" / "__init__.pyi").read_bytes()
    assert shipped == canonical, "python/fastmssql/__init__.pyi must be a byte-identical copy of fastmssql.pyi"


def test_package_is_typed() -> None:
    assert (REPO_ROOT / "python" / "fastmssql" / "py.typed").is_file()


def test_version_is_the_distribution_version() -> None:
    from importlib.metadata import version

    assert fastmssql.__version__ == version("fastmssql")


def test_everything_in_all_is_exported() -> None:
    for name in fastmssql.__all__:
        assert hasattr(fastmssql, name), name


def test_stubtest_passes(tmp_path: Path) -> None:
    """`python -m mypy.stubtest fastmssql`: the canonical stub against the installed extension (the
    allowlist names the submodules typed inline, which a one-file stub cannot cover).

    Run from the repository root, mypy resolves `fastmssql` to the top-level fastmssql.pyi (the
    shipped copy is identical, see above) and stubtest imports the installed package at runtime.
    """
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "fastmssql", "--allowlist", str(Path(__file__).with_name("stubtest_allowlist.txt"))],
        cwd=REPO_ROOT,
        env={**os.environ, "MYPY_CACHE_DIR": str(tmp_path / "mypy-cache")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
