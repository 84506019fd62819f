"""Local PKI for a federation: a CA, the SuperLink's TLS certificate, SuperNode and audit keys."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "DEPARTMENT_ID_PATTERN",
    "PkiError",
    "PkiLayout",
    "init_pki",
    "add_department",
    "load_audit_private_key",
    "load_audit_public_key",
]

DEPARTMENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""Department ids name files and Flower nodes, so they are restricted to safe characters."""

_CA_VALID_DAYS = 3650
_SERVER_VALID_DAYS = 825


class PkiError(ValueError):
    """A PKI directory or argument is unusable; `code` is a stable snake_case string."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PkiLayout:
    """Where every file of a federation PKI directory lives."""

    root: Path

    @property
    def ca_key(self) -> Path:
        """The CA private key (PEM); keep it offline after issuing certificates."""
        return self.root / "ca" / "ca.key"

    @property
    def ca_cert(self) -> Path:
        """The CA certificate every SuperNode and CLI uses as its TLS root."""
        return self.root / "ca" / "ca.crt"

    @property
    def server_key(self) -> Path:
        """The SuperLink's TLS private key."""
        return self.root / "superlink" / "server.key"

    @property
    def server_cert(self) -> Path:
        """The SuperLink's TLS certificate, signed by the CA."""
        return self.root / "superlink" / "server.crt"

    @property
    def audit_key(self) -> Path:
        """The SuperLink's Ed25519 key that signs the round audit trail."""
        return self.root / "superlink" / "audit_ed25519.key"

    @property
    def audit_public_key(self) -> Path:
        """The audit trail's public key that departments verify signatures with."""
        return self.root / "superlink" / "audit_ed25519.pub"

    def node_key(self, department_id: str) -> Path:
        """A department SuperNode's authentication private key (OpenSSH, EC P-384)."""
        return self.root / "supernodes" / department_id / "node_auth"

    def node_public_key(self, department_id: str) -> Path:
        """A department SuperNode's public key, registered on the SuperLink."""
        return self.root / "supernodes" / department_id / "node_auth.pub"

    def departments(self) -> list[str]:
        """Department ids that have a SuperNode key pair in this directory."""
        base = self.root / "supernodes"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "node_auth.pub").is_file())


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable only by its owner (0600), creating parent folders 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    """Write a certificate or public key (0644: others need to read it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(data)
    os.chmod(path, 0o644)


def _validate_department(department_id: str) -> None:
    if not DEPARTMENT_ID_PATTERN.fullmatch(department_id):
        raise PkiError(
            "invalid_department_id",
            f"部门编号无效 invalid department id {department_id!r}: "
            "use lowercase letters, digits, '-' or '_' (max 63)",
        )


def _issue_ca(layout: PkiLayout, *, organisation: str, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} federation CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    _write_private(
        layout.ca_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_public(layout.ca_cert, cert.public_bytes(serialization.Encoding.PEM))


def _issue_server_cert(
    layout: PkiLayout, *, hostnames: list[str], organisation: str, now: dt.datetime
) -> None:
    ca_key = serialization.load_pem_private_key(layout.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(layout.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP384R1())
    names: list[x509.GeneralName] = []
    for host in ["localhost", "127.0.0.1", *hostnames]:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            entry = x509.DNSName(host)
        if entry not in names:
            names.append(entry)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0] if hostnames else "localhost"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_SERVER_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA384())  # type: ignore[arg-type]
    )
    _write_private(
        layout.server_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_public(layout.server_cert, cert.public_bytes(serialization.Encoding.PEM))


def _issue_audit_key(layout: PkiLayout) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    _write_private(
        layout.audit_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_public(
        layout.audit_public_key,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def add_department(*, pki_dir: Path, department_id: str) -> Path:
    """Create a department SuperNode's EC P-384 authentication key pair (OpenSSH format).

    Flower 1.42 SuperNodes read the private key with `--auth-supernode-private-key`; the
    SuperLink operator registers the public key with `flwr supernode register`.
    An existing key pair is kept (re-running init is safe); returns the public key path.
    """
    _validate_department(department_id)
    layout = PkiLayout(pki_dir)
    if layout.node_key(department_id).is_file() and layout.node_public_key(department_id).is_file():
        return layout.node_public_key(department_id)
    key = ec.generate_private_key(ec.SECP384R1())
    _write_private(
        layout.node_key(department_id),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    _write_public(layout.node_public_key(department_id), public + f" {department_id}\n".encode())
    return layout.node_public_key(department_id)


def init_pki(
    *,
    pki_dir: Path,
    departments: list[str],
    hostnames: list[str] | None = None,
    organisation: str = "12345 Hotline",
    now: dt.datetime | None = None,
) -> PkiLayout:
    """Create (or complete) a federation PKI directory.

    Creates the CA, the SuperLink server certificate (SAN: localhost, 127.0.0.1 and
    `hostnames`), the audit-trail Ed25519 key and one SuperNode key pair per department.
    Existing CA, server and audit keys are kept so departments can be added later;
    private keys are written 0600. Returns the directory layout.
    """
    for department in departments:
        _validate_department(department)
    layout = PkiLayout(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    moment = now or dt.datetime.now(dt.timezone.utc)
    if not layout.ca_cert.is_file():
        _issue_ca(layout, organisation=organisation, now=moment)
    elif not layout.ca_key.is_file():
        raise PkiError("ca_key_missing", f"CA 私钥缺失 CA key missing: {layout.ca_key}")
    if not layout.server_cert.is_file() or hostnames:
        _issue_server_cert(layout, hostnames=list(hostnames or []), organisation=organisation, now=moment)
    if not layout.audit_key.is_file():
        _issue_audit_key(layout)
    for department in departments:
        add_department(pki_dir=pki_dir, department_id=department)
    for folder in (pki_dir, pki_dir / "ca", pki_dir / "superlink", pki_dir / "supernodes"):
        if folder.is_dir():
            os.chmod(folder, 0o700)
    return layout


def load_audit_private_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """Load the SuperLink's Ed25519 audit signing key (PEM, PKCS#8)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise PkiError("audit_key_not_ed25519", f"审计私钥不是 Ed25519 audit key is not Ed25519: {path}")
    return key


def load_audit_public_key(path: Path) -> ed25519.Ed25519PublicKey:
    """Load the audit trail's Ed25519 public key (PEM, SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise PkiError("audit_public_key_invalid", f"审计公钥无法解析 cannot parse audit public key: {path}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise PkiError("audit_key_not_ed25519", f"审计公钥不是 Ed25519 audit public key is not Ed25519: {path}")
    return key
