"""Certificates of a test's own: a CA, and a server certificate it signed, for TLS listeners on loopback."""

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long enough for any test run, short enough that a leaked test CA is worth nothing.
VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA certificate clients trust, and the server's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    """A subject or issuer name."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    """Write `key` as unencrypted PKCS#8 PEM."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    server_names: list[str],
) -> x509.Certificate:
    """A CA certificate (self-signed when `issuer` is None) or a server certificate for `server_names`."""
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in server_names]), critical=False
            )
        )
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    builder = builder.add_extension(usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _new_ca(directory: Path) -> tuple[Path, x509.Name, ec.EllipticCurvePrivateKey]:
    """A new CA: its certificate written to `directory`/ca.pem, its name and key kept in memory."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate("MontyExchange test CA", key, None, [])
    path = directory / "ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path, certificate.subject, key


def unrelated_ca(directory: Path) -> Path:
    """The certificate of a new CA that signed nothing: a client trusting only it refuses every server."""
    return _new_ca(directory)[0]


def server_certificates(directory: Path, server_names: tuple[str, ...] = ("localhost",)) -> TlsFiles:
    """A new CA and a server certificate for `server_names` it signed, as PEM files in `directory`."""
    ca_file, ca_name, ca_key = _new_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(server_names[0], key, (ca_name, ca_key), list(server_names))
    cert_file, key_file = directory / "server.pem", directory / "server-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_file)
    return TlsFiles(ca_file, cert_file, key_file)
