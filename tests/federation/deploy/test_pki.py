"""PKI: CA, SuperLink certificate with SANs, SuperNode EC keys, 0600 private keys."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from federation.pki import PkiError, init_pki, load_audit_private_key, load_audit_public_key


def test_init_pki_issues_everything_with_private_permissions(tmp_path: Path) -> None:
    layout = init_pki(pki_dir=tmp_path / "pki", departments=["market", "hukou"], hostnames=["link.city.gov.cn", "10.0.0.5"])
    for secret in (layout.ca_key, layout.server_key, layout.audit_key, layout.node_key("market"), layout.node_key("hukou")):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    ca = x509.load_pem_x509_certificate(layout.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(layout.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "link.city.gov.cn"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.0.0.5")}
    public = serialization.load_ssh_public_key(layout.node_public_key("market").read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp384r1"
    private = serialization.load_ssh_private_key(layout.node_key("market").read_bytes(), None)
    assert private.public_key().public_numbers() == public.public_numbers()
    message = b"round 1"
    load_audit_public_key(layout.audit_public_key).verify(load_audit_private_key(layout.audit_key).sign(message), message)
    assert layout.departments() == ["hukou", "market"]


def test_rerun_keeps_ca_and_adds_departments(tmp_path: Path) -> None:
    first = init_pki(pki_dir=tmp_path / "pki", departments=["market"])
    ca_before = first.ca_cert.read_bytes()
    key_before = first.node_key("market").read_bytes()
    second = init_pki(pki_dir=tmp_path / "pki", departments=["market", "social"])
    assert second.ca_cert.read_bytes() == ca_before
    assert second.node_key("market").read_bytes() == key_before
    assert second.departments() == ["market", "social"]


@pytest.mark.parametrize("bad", ["Market", "../etc", "", "a b"])
def test_bad_department_id_is_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PkiError) as excinfo:
        init_pki(pki_dir=tmp_path / "pki", departments=[bad])
    assert excinfo.value.code == "invalid_department_id"


def test_pki_folders_are_private(tmp_path: Path) -> None:
    layout = init_pki(pki_dir=tmp_path / "pki", departments=["market"])
    for folder in (layout.root, layout.root / "ca", layout.root / "superlink", layout.root / "supernodes", layout.node_key("market").parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
