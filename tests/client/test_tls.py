"""TLS certificate verification against the local server serving certificates made here (with the
`cryptography` package): signed by a CA the client is given, by an unknown CA, expired, or for
another host name. With encryption required each bad one is refused unless the client trusts the
server certificate; the right CA file accepts exactly the good one. Encrypt=strict (TDS 8.0)
verifies the same way.
"""

from __future__ import annotations

import datetime
import ipaddress
import pathlib
from collections.abc import Iterator

import pytest

pytest.importorskip("cryptography")
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from local_server import LocalServer

import fastmssql
from fastmssql import Connection, EncryptionLevel, SslConfig

from .support import bounded, uses_real_server
from .test_connection import validating_connection

pytestmark = pytest.mark.skipif(uses_real_server(), reason="serves certificates made here from the local server")

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Authority:
    """A CA that signs server certificates."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - 10 * DAY)
            .not_valid_after(NOW + 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, directory: pathlib.Path, label: str, hosts: list[str], valid_from, valid_to) -> tuple[pathlib.Path, pathlib.Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from)
            .not_valid_after(valid_to)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{label}.pem", directory / f"{label}.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        return cert_path, key_path

    def write(self, path: pathlib.Path) -> pathlib.Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    directory = tmp_path_factory.mktemp("pki")
    ours, stranger = Authority("fastmssql test CA"), Authority("unknown CA")
    hosts = ["127.0.0.1", "localhost"]
    return {
        "ca": ours.write(directory / "ca.pem"),
        "good": ours.issue(directory, "good", hosts, NOW - DAY, NOW + 30 * DAY),
        "unknown_ca": stranger.issue(directory, "unknown_ca", hosts, NOW - DAY, NOW + 30 * DAY),
        "expired": ours.issue(directory, "expired", hosts, NOW - 30 * DAY, NOW - DAY),
        "other_host": ours.issue(directory, "other_host", ["db.other.example"], NOW - DAY, NOW + 30 * DAY),
    }


@pytest.fixture(scope="module", params=["good", "unknown_ca", "expired", "other_host"])
def served(request: pytest.FixtureRequest, pki: dict[str, object]) -> Iterator[tuple[str, LocalServer]]:
    """(certificate kind, a local server requiring encryption and serving that certificate)."""
    with LocalServer(encrypt="required", certificate=pki[request.param]) as server:
        yield request.param, server


async def query_through(server: LocalServer, ssl_config: SslConfig) -> list[dict]:
    connection = validating_connection(server, ssl_config)
    try:
        return (await bounded(connection.query("SELECT @P1 AS v", ["ok"]))).rows()
    finally:
        await bounded(connection.close())


@pytest.mark.parametrize("level", [EncryptionLevel.Required, EncryptionLevel.Strict], ids=["required", "strict"])
async def test_only_a_certificate_the_given_ca_signed_for_this_host_and_now_is_accepted(
    served: tuple[str, LocalServer], pki: dict[str, object], level: EncryptionLevel
) -> None:
    kind, server = served
    with_ca = SslConfig(encryption_level=level, ca_certificate_path=str(pki["ca"]))
    if kind == "good":
        assert await query_through(server, with_ca) == [{"v": "ok"}]
    else:
        with pytest.raises(fastmssql.OperationalError, match="(?i)certificate") as raised:
            await query_through(server, with_ca)
        assert "TLS" in str(raised.value), str(raised.value)


@pytest.mark.parametrize("level", [EncryptionLevel.Required, EncryptionLevel.Strict], ids=["required", "strict"])
async def test_no_certificate_is_accepted_without_its_ca_or_trust(
    served: tuple[str, LocalServer], level: EncryptionLevel
) -> None:
    _, server = served
    with pytest.raises(fastmssql.OperationalError, match="(?i)certificate"):
        await query_through(server, SslConfig(encryption_level=level))


async def test_trust_server_certificate_accepts_every_one(served: tuple[str, LocalServer]) -> None:
    _, server = served
    trusting = SslConfig(encryption_level=EncryptionLevel.Required, trust_server_certificate=True)
    assert await query_through(server, trusting) == [{"v": "ok"}]


async def test_encrypt_no_against_a_server_requiring_encryption(served: tuple[str, LocalServer]) -> None:
    """README: Encrypt=no offers no TLS; a server that insists gets a TLS session after all, and, as
    with ODBC's Encrypt=no, its certificate is not validated unless TrustServerCertificate=no says so."""
    _, server = served
    url = server.connection_string(encrypt=False)
    connection = Connection(url)
    try:
        assert (await bounded(connection.query("SELECT 1 AS one"))).rows() == [{"one": 1}]
    finally:
        await bounded(connection.close())
    validating = Connection(url + ";TrustServerCertificate=no")
    try:
        # None of these certificates is signed by a CA of the system's trust store.
        with pytest.raises(fastmssql.OperationalError, match="(?i)certificate"):
            await bounded(validating.query("SELECT 1 AS one"))
    finally:
        await bounded(validating.close())
