"""Run vendor/tiberius's own integration tests (written against a real SQL Server) against the local TDS server.

    python tests/tds_server/tiberius_suite/run.py                  # TDS 7.4, login-only TLS (tiberius's default)
    python tests/tds_server/tiberius_suite/run.py --encrypt strict # the same tests over TDS 8.0 strict encryption
    python tests/tds_server/tiberius_suite/run.py -- query         # only tests whose name contains "query"

The published crate ships its tests/ but not their `runtimes-macro` dev-dependency, so the tests run from a copy of
vendor/tiberius (under ~/.cache/fastmssql/tiberius-suite; vendor/tiberius itself stays untouched) with this
directory's runtimes-macro as that dependency, and without the dev-dependencies only its examples use (azure,
reqwest: they would only lengthen the build). The server is set up as tiberius's own CI sets up SQL Server
(vendor/tiberius/docker): port 1433, sa's password `<YourStrong@Passw0rd>`, the certificate docker/certs/server.crt
signed by docker/certs/customCA.crt, encryption not forced; a few tests connect there directly, the others through
TIBERIUS_TEST_CONNECTION_STRING, their own variable. Prints one line per test and a summary; exits 0 whatever the
results (they are the output).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tests"))
from local_server import server_binary  # noqa: E402
from venvs import CACHE  # noqa: E402

VENDORED = REPO / "vendor" / "tiberius"
WORK = CACHE / "tiberius-suite"
TARGET = CACHE / "target-tiberius-suite"
# The features of the workspace's tiberius plus those the tests have cases for (time, bigdecimal, serde, smol).
FEATURES = "tds80,rustls,chrono,time,rust_decimal,bigdecimal,serde,sql-browser-tokio,sql-browser-smol"
EXAMPLE_ONLY_DEV_DEPENDENCIES = ("azure_core", "azure_identity", "indicatif", "reqwest", "url")
PORT = 1433
PASSWORD = "<YourStrong@Passw0rd>"
CERTS = VENDORED / "docker" / "certs"
RESULT_LINE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")


def prepare_crate() -> pathlib.Path:
    """A fresh copy of vendor/tiberius whose integration tests build."""
    crate = WORK / "tiberius"
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.copytree(VENDORED, crate, ignore=shutil.ignore_patterns("target"))
    shutil.copytree(HERE / "runtimes-macro", WORK / "runtimes-macro")
    manifest = crate / "Cargo.toml"
    text = manifest.read_text()
    for dependency in EXAMPLE_ONLY_DEV_DEPENDENCIES:
        # a [dev-dependencies.NAME] table runs up to the next table header
        text = re.sub(rf"\n\[dev-dependencies\.{dependency}\]\n(?:[^\[\n].*\n|\n)*", "\n", text)
    text += '\n[dev-dependencies.runtimes-macro]\npath = "../runtimes-macro"\n'
    # The `time` tests format dates, a feature of `time` that azure_core enabled for them.
    text += '\n[dev-dependencies.time]\nversion = "0.3"\nfeatures = ["formatting"]\n'
    manifest.write_text(text)
    return crate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encrypt", default="", help="an encrypt= value added to the connection string")
    parser.add_argument("filter", nargs="*", help="cargo test name filters")
    args = parser.parse_args()
    crate = prepare_crate()
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET)}
    # The integration tests only (tests/*.rs): the crate's unit tests run in .ci/run.
    cargo = ["cargo", "test", "--no-default-features", "--features", FEATURES, "--test", "*"]
    subprocess.run([*cargo, "--no-run"], cwd=crate, env=env, check=True)
    server = subprocess.Popen(
        [str(server_binary()), "--host", "127.0.0.1", "--port", str(PORT), "--user", f"sa:{PASSWORD}",
         "--cert", str(CERTS / "server.crt"), "--key", str(CERTS / "server.key")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        if server.stdout.readline().strip() != str(PORT):
            raise SystemExit(f"tds-server did not start on port {PORT}")
        connection_string = f"server=tcp:localhost,{PORT};user=sa;password={PASSWORD};TrustServerCertificate=true"
        if args.encrypt:
            connection_string += f";encrypt={args.encrypt}"
        env["TIBERIUS_TEST_CONNECTION_STRING"] = connection_string
        # One test at a time: each failure is the test's own, not a neighbour's.
        proc = subprocess.run([*cargo, "--no-fail-fast", "--", "--test-threads=1", *args.filter], cwd=crate, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        server.terminate()
        server.wait()
    results = [m.groups() for m in map(RESULT_LINE.match, proc.stdout.splitlines()) if m]
    failures = dict(re.findall(r"---- (\S+) stdout ----\n(.*?)(?=\n---- |\nfailures:\n)", proc.stdout, re.S))
    for name, outcome in results:
        reason = failures.get(name, "").strip().splitlines()
        print(f"{outcome:7} {name}" + (f"  -- {' | '.join(reason)[:400]}" if reason else ""))
    passed = sum(outcome == "ok" for _, outcome in results)
    print(f"{passed} of {len(results)} passed ({connection_string})")


if __name__ == "__main__":
    main()
