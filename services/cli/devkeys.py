"""The development signing key: what ``revmentor up`` trusts and ``revmentor token`` signs with.

Local runs need tokens but no identity provider, so ``revmentor up`` makes (once)
an EC P-256 key under ``var/secrets/``:

    var/secrets/dev-signing-key.pem   PKCS#8 private key, mode 0600
    var/secrets/dev-jwks.json         its public half as a JWKS (kid = RFC 7638 thumbprint)

and starts the services with ``REVMENTOR_JWKS_FILE`` pointing at the JWKS,
``REVMENTOR_JWT_ISSUER=revmentor-dev`` and ``REVMENTOR_JWT_AUDIENCE=revmentor``.
Tokens minted here carry the claims described in :mod:`revmentor.kernel.auth`.
Never use this key outside a developer's machine: anyone who can read the var
directory can mint an admin token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from revmentor.cli.common import CliError
from revmentor.kernel.auth import DEFAULT_AUDIENCE

DEV_ISSUER = "revmentor-dev"
KEY_FILE = "dev-signing-key.pem"
JWKS_FILE = "dev-jwks.json"
#: Tools that mint their own token (seed, import) keep it short.
TOOL_TOKEN_SECONDS = 600


def secrets_dir(var: Path) -> Path:
    return var / "secrets"


@dataclass(frozen=True)
class DevKey:
    """A private EC key with its kid, able to mint tokens the dev JWKS verifies."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str
    issuer: str = DEV_ISSUER
    audience: str = DEFAULT_AUDIENCE

    @classmethod
    def generate(cls, **settings: Any) -> DevKey:
        key = ec.generate_private_key(ec.SECP256R1())
        return cls(key, thumbprint(key.public_key()), **settings)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def mint(
        self,
        sub: str,
        roles: Iterable[str] = (),
        ttl: float = 3600,
        **claims: Any,
    ) -> str:
        """A signed ES256 token; extra ``claims`` (programmes, employee_id, service...) as given."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl),
            "jti": str(uuid.uuid4()),
            "roles": list(roles),
            **{k: v for k, v in claims.items() if v not in (None, "", [], ())},
        }
        return jwt.encode(payload, self.private_key, algorithm="ES256", headers={"kid": self.kid})


def thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint: a kid that changes exactly when the key does."""
    jwk = json.loads(ECAlgorithm.to_jwk(public_key))
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def ensure(var: Path) -> Path:
    """The dev JWKS file, making key and JWKS the first time; returns the JWKS path."""
    directory = secrets_dir(var)
    key_path, jwks_path = directory / KEY_FILE, directory / JWKS_FILE
    if not key_path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = DevKey.generate()
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.pem())
    key = load(var)
    jwks_path.write_text(json.dumps(key.jwks(), indent=2) + "\n", encoding="utf-8")
    return jwks_path


def load(var: Path) -> DevKey:
    """The dev key of ``var``; CliError saying how to make one when there is none."""
    path = secrets_dir(var) / KEY_FILE
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise CliError(
            f"no development signing key at {path}: run `revmentor up --var {var}` once "
            "to create it (or get a token from your identity provider)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CliError(f"{path} is not an EC private key; delete it and run `revmentor up`")
    return DevKey(key, thumbprint(key.public_key()))


def service_env(var: Path) -> dict[str, str]:
    """The settings that make a service trust the dev key."""
    return {
        "REVMENTOR_JWKS_FILE": str(ensure(var)),
        "REVMENTOR_JWT_ISSUER": DEV_ISSUER,
        "REVMENTOR_JWT_AUDIENCE": DEFAULT_AUDIENCE,
    }


#: How long a development service token lives; ``revmentor up`` re-mints well before.
SERVICE_TOKEN_SECONDS = 24 * 3600


def write_service_token(var: Path, service: str) -> Path:
    """(Re)write ``var/secrets/<service>.token``: the service's own identity for
    service-to-service calls (role ``service``, claim ``service``), read by
    :class:`revmentor.kernel.credentials.ServiceToken`. Replaced atomically, so
    a reader never sees half a token; the service picks the new one up by mtime.
    """
    directory = secrets_dir(var)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = load(var).mint(
        f"service:{service}", roles=["service"], ttl=SERVICE_TOKEN_SECONDS, service=service
    )
    path = directory / f"{service}.token"
    partial = directory / f".{service}.token.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    partial.replace(path)
    return path


def tool_token(var: Path, sub: str) -> str | None:
    """A short-lived admin token for a tool (seed, import), if the dev key exists."""
    if not (secrets_dir(var) / KEY_FILE).exists():
        return None
    return load(var).mint(sub, roles=["admin"], ttl=TOOL_TOKEN_SECONDS)
