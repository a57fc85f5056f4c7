"""TLS and mutual TLS for gRPC, configured by environment, plus a development CA.

Server side (each variable may be prefixed ``<SERVICE>_``):

- ``GRPC_TLS_CERT`` / ``GRPC_TLS_KEY``: PEM certificate chain and key; the
  server listens with TLS when both are set, in plaintext when neither is.
- ``GRPC_TLS_CLIENT_CA``: when set, clients must present a certificate signed
  by this CA (mutual TLS); the others are refused during the handshake.

Client side (the CLI, service-to-service calls):

- ``GRPC_TLS_CA``: CA that signed the servers' certificates (the system roots
  when only a client certificate is given).
- ``GRPC_TLS_CLIENT_CERT`` / ``GRPC_TLS_CLIENT_KEY``: the client's own
  certificate for mutual TLS.
- ``GRPC_TLS_SERVER_NAME``: expected name in the server certificate, when it
  differs from the host dialled.

Half a configuration (a certificate without its key) is an error rather than
a silent fallback to plaintext. ``python -m revmentor.kernel.tls DIR`` writes a
development CA with server and client certificates into DIR and prints the
variables to use (docs/security.md has the walk-through).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from revmentor.kernel.settings import env


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def _pair(cert_var: str, key_var: str, service: str) -> tuple[str, str]:
    cert, key = env(cert_var, "", service), env(key_var, "", service)
    if bool(cert) != bool(key):
        raise ValueError(f"{cert_var} and {key_var} must be set together")
    return cert, key


# -- gRPC server ----------------------------------------------------------------
def grpc_server_credentials(service: str = "") -> grpc.ServerCredentials | None:
    """TLS (or mTLS, with ``GRPC_TLS_CLIENT_CA``) credentials; None means plaintext."""
    cert, key = _pair("GRPC_TLS_CERT", "GRPC_TLS_KEY", service)
    client_ca = env("GRPC_TLS_CLIENT_CA", "", service)
    if not cert:
        if client_ca:
            raise ValueError("GRPC_TLS_CLIENT_CA needs GRPC_TLS_CERT and GRPC_TLS_KEY")
        return None
    return grpc.ssl_server_credentials(
        [(_read(key), _read(cert))],
        root_certificates=_read(client_ca) if client_ca else None,
        require_client_auth=bool(client_ca),
    )


def add_port(server: grpc.aio.Server, address: str, service: str = "") -> int:
    """Bind ``address`` with TLS when the environment configures it; returns the port."""
    credentials = grpc_server_credentials(service)
    if credentials is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, credentials)


# -- gRPC client ----------------------------------------------------------------
def grpc_channel_credentials(service: str = "") -> grpc.ChannelCredentials | None:
    """Channel credentials from ``GRPC_TLS_CA`` and the optional client pair."""
    ca = env("GRPC_TLS_CA", "", service)
    cert, key = _pair("GRPC_TLS_CLIENT_CERT", "GRPC_TLS_CLIENT_KEY", service)
    if not (ca or cert):
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca) if ca else None,
        private_key=_read(key) if key else None,
        certificate_chain=_read(cert) if cert else None,
    )


def channel_options(service: str = "") -> list[tuple[str, str]]:
    name = env("GRPC_TLS_SERVER_NAME", "", service)
    return [("grpc.ssl_target_name_override", name)] if name else []


def balancing_options(target: str) -> list[tuple[str, str]]:
    """Round robin over a target of several addresses (``ipv4:a:1,b:2``, as
    ``revmentor up --replicas`` gives, or a headless Service's ``dns:///``
    name): calls spread over the replicas and skip one that is down. A single
    address keeps gRPC's default (pick first)."""
    several = "," in target or target.startswith("dns:")
    return [("grpc.lb_policy_name", "round_robin")] if several else []


def secure_channel(target: str, service: str = "") -> grpc.Channel:
    """A blocking channel: TLS when configured, plaintext otherwise (the CLI)."""
    credentials = grpc_channel_credentials(service)
    balancing = balancing_options(target)
    if credentials is None:
        return grpc.insecure_channel(target, options=balancing)
    options = channel_options(service) + balancing
    return grpc.secure_channel(target, credentials, options=options)


def secure_aio_channel(target: str, service: str = "") -> grpc.aio.Channel:
    """An asyncio channel: TLS when configured, plaintext otherwise (services, tests)."""
    credentials = grpc_channel_credentials(service)
    balancing = balancing_options(target)
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=balancing)
    options = channel_options(service) + balancing
    return grpc.aio.secure_channel(target, credentials, options=options)


# -- development CA -------------------------------------------------------------
@dataclass(frozen=True)
class DevCertificates:
    """Paths of a development CA and the server and client certificates it signed."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def ca(self) -> Path:
        return self.path("ca.pem")

    @property
    def server_cert(self) -> Path:
        return self.path("server.pem")

    @property
    def server_key(self) -> Path:
        return self.path("server.key")

    @property
    def client_cert(self) -> Path:
        return self.path("client.pem")

    @property
    def client_key(self) -> Path:
        return self.path("client.key")

    def server_env(self, mutual: bool = False) -> dict[str, str]:
        """gRPC server variables (and NATS client CA) for these certificates."""
        found = {"GRPC_TLS_CERT": str(self.server_cert), "GRPC_TLS_KEY": str(self.server_key)}
        if mutual:
            found["GRPC_TLS_CLIENT_CA"] = str(self.ca)
        return found

    def client_env(self, mutual: bool = False) -> dict[str, str]:
        found = {"GRPC_TLS_CA": str(self.ca)}
        if mutual:
            found["GRPC_TLS_CLIENT_CERT"] = str(self.client_cert)
            found["GRPC_TLS_CLIENT_KEY"] = str(self.client_key)
        return found

    def nats_env(self, mutual: bool = False) -> dict[str, str]:
        found = {"NATS_TLS_CA": str(self.ca)}
        if mutual:
            found["NATS_TLS_CERT"] = str(self.client_cert)
            found["NATS_TLS_KEY"] = str(self.client_key)
        return found


def make_dev_ca(
    directory: Path,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    client_name: str = "revmentor-client",
    days: int = 30,
) -> DevCertificates:
    """A throw-away CA, a server certificate for ``hosts`` and a client certificate.

    For local runs and tests only: the CA key is written next to the
    certificates. Production certificates come from the organisation's PKI
    (e.g. cert-manager).
    """
    directory.mkdir(parents=True, exist_ok=True)
    certs = DevCertificates(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("revmentor development CA")
    ca_cert = _builder(ca_name, ca_name, ca_key.public_key(), days)
    ca_cert = ca_cert.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    ca_cert = ca_cert.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
    signed_ca = ca_cert.sign(ca_key, hashes.SHA256())
    _write_key(certs.path("ca.key"), ca_key)
    certs.ca.write_bytes(signed_ca.public_bytes(serialization.Encoding.PEM))
    _issue(certs.server_cert, certs.server_key, hosts[0], hosts, ca_key, ca_name, days)
    _issue(certs.client_cert, certs.client_key, client_name, (), ca_key, ca_name, days)
    return certs


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _issue(
    cert_path: Path,
    key_path: Path,
    common_name: str,
    hosts: Sequence[str],
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    days: int,
) -> None:
    """A leaf certificate: a server one when ``hosts`` (its SANs) are given, else a client one."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(_name(common_name), ca_name, key.public_key(), days)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
    purpose = ExtendedKeyUsageOID.SERVER_AUTH if hosts else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    if hosts:
        names = [_general_name(host) for host in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Private keys are readable by their owner only."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m revmentor.kernel.tls DIR``: write a dev CA and print the variables."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m revmentor.kernel.tls DIR", file=sys.stderr)
        return 2
    certs = make_dev_ca(Path(args[0]).resolve())
    for title, values in (
        ("gRPC server (mutual TLS)", certs.server_env(mutual=True)),
        ("gRPC client (mutual TLS)", certs.client_env(mutual=True)),
        ("NATS client", certs.nats_env(mutual=True)),
    ):
        print(f"# {title}")
        for name, value in values.items():
            print(f"export {name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
