"""Checkpoint keys, and signing and checking checkpoints.

Split out of the audit package so everything about keys and signatures sits in
one place: what a checkpoint says, which key signs it and which keys a
verifier trusts. Publishing checkpoints and verifying the chain use it.

A checkpoint is ``{service, position, hash, at, key_id, public_key,
signature}``: Ed25519 over the canonical JSON of the other fields.

The signing key: ``REVMENTOR_AUDIT_SIGNING_KEY_FILE`` (an Ed25519 private key,
PKCS#8 PEM, unencrypted; a mounted Secret), else - unless
``REVMENTOR_REQUIRE_AUDIT_SIGNING_KEY=1`` - a development key created once
under ``<var>/secrets/audit-<service>.pem`` (0600). Its id is the first 16 hex
digits of SHA-256 over the raw public key. Verifiers trust the service's own
key plus ``REVMENTOR_AUDIT_TRUSTED_KEYS`` (comma-separated base64 raw public
keys: retired keys after a rotation, or the production key on an auditor's
machine). Each variable may be prefixed with the service name.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from revmentor.kernel.audit.chain import HASH_BYTES
from revmentor.kernel.settings import var_dir
from revmentor.kernel.timestamps import stamp

log = logging.getLogger(__package__)  # the package's logger, as before the split

SIGNING_KEY_FILE = "REVMENTOR_AUDIT_SIGNING_KEY_FILE"
REQUIRE_SIGNING_KEY = "REVMENTOR_REQUIRE_AUDIT_SIGNING_KEY"
TRUSTED_KEYS = "REVMENTOR_AUDIT_TRUSTED_KEYS"
#: The audit settings (each may be prefixed with the service name).
AUDIT_SETTINGS = (SIGNING_KEY_FILE, REQUIRE_SIGNING_KEY, TRUSTED_KEYS, "AUDIT_CHECKPOINT_SECONDS")

EnvGet = Callable[[str], "str | None"]


class AuditKeyUnavailable(RuntimeError):
    """No signing key is configured (and a development one is not allowed)."""


def key_id(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def raw_public_key(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """The service's Ed25519 checkpoint key."""

    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.private.public_key())

    @property
    def id(self) -> str:
        return key_id(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, what: str = "signing key") -> SigningKey:
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as error:
            raise AuditKeyUnavailable(f"{what} is not an unencrypted PEM private key") from error
        if not isinstance(private, Ed25519PrivateKey):
            raise AuditKeyUnavailable(f"{what} is not an Ed25519 key")
        return cls(private)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def dev_key_path(var: Path | str, service: str) -> Path:
    return Path(var) / "secrets" / f"audit-{service}.pem"


def ensure_dev_signing_key(var: Path | str, service: str) -> SigningKey:
    """A development key under ``<var>/secrets``, created once (0600), atomically:
    processes starting together agree on one key. Never for production."""
    path = dev_key_path(var, service)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        temp = path.parent / f".audit-{service}-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(SigningKey.generate().pem())
        try:
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(temp, path)
        finally:
            temp.unlink()
    return SigningKey.from_pem(path.read_bytes(), str(path))


def load_signing_key(get: EnvGet, service: str, var: Callable[[], Path] = var_dir) -> SigningKey:
    """The service's checkpoint signing key (see the module docstring)."""
    configured = get(SIGNING_KEY_FILE)
    if configured:
        return SigningKey.from_pem(Path(configured).read_bytes(), configured)
    if get(REQUIRE_SIGNING_KEY) == "1":
        raise AuditKeyUnavailable(f"{REQUIRE_SIGNING_KEY}=1 but no {SIGNING_KEY_FILE} is set")
    directory = var()
    log.warning(
        "no %s set: signing %s checkpoints with a development key", SIGNING_KEY_FILE, service
    )
    return ensure_dev_signing_key(directory, service)


def decode_public_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("a public key must be base64 of 32 raw bytes") from error
    if len(raw) != 32:
        raise ValueError(f"a public key must be 32 raw bytes, not {len(raw)}")
    return raw


def trusted_keys(get: EnvGet, service: str, var: Callable[[], Path] = var_dir) -> dict[str, bytes]:
    """key id -> raw public key: the service's own key and ``REVMENTOR_AUDIT_TRUSTED_KEYS``.

    Never creates a development key: a verifier only trusts what exists.
    """
    keys: dict[str, bytes] = {}
    configured = get(SIGNING_KEY_FILE)
    own = Path(configured) if configured else dev_key_path(var(), service)
    if own.exists():
        public = SigningKey.from_pem(own.read_bytes(), str(own)).public_key
        keys[key_id(public)] = public
    for item in filter(None, (part.strip() for part in (get(TRUSTED_KEYS) or "").split(","))):
        public = decode_public_key(item)
        keys[key_id(public)] = public
    return keys


# -- checkpoints --------------------------------------------------------------------------------
_FIELDS = ("service", "position", "hash", "at", "key_id", "public_key")


def _canonical_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: ``service``'s chain at ``position`` is ``hash``."""

    service: str
    position: int
    hash: str  # hex
    at: str  # RFC 3339
    key_id: str
    public_key: str  # base64 of the raw Ed25519 public key
    signature: str  # base64, over the canonical JSON of the fields above

    def body(self) -> bytes:
        """What the signature covers."""
        return _canonical_json({name: getattr(self, name) for name in _FIELDS})

    def document(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in _FIELDS}, "signature": self.signature}

    def to_json(self) -> bytes:
        return _canonical_json(self.document())

    @property
    def hash_bytes(self) -> bytes:
        return bytes.fromhex(self.hash)

    @classmethod
    def from_json(cls, data: bytes | str) -> Checkpoint:
        """Parse a checkpoint; ValueError if it is not one (signature not checked)."""
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"not JSON: {error}") from error
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        missing = [n for n in (*_FIELDS, "signature") if n not in document]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        position = document["position"]
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise ValueError("position must be a non-negative integer")
        texts = {n: document[n] for n in (*_FIELDS, "signature") if n != "position"}
        if not all(isinstance(value, str) for value in texts.values()):
            raise ValueError("service, hash, at, key_id, public_key and signature are strings")
        try:
            if len(bytes.fromhex(texts["hash"])) != HASH_BYTES:
                raise ValueError
        except ValueError as error:
            raise ValueError("hash must be 64 hex digits") from error
        return cls(position=position, **texts)


def sign_checkpoint(
    key: SigningKey, service: str, position: int, chain_hash: bytes, at: datetime | None = None
) -> Checkpoint:
    unsigned = Checkpoint(
        service=service,
        position=position,
        hash=chain_hash.hex(),
        at=stamp(at or datetime.now(UTC)),
        key_id=key.id,
        public_key=base64.b64encode(key.public_key).decode(),
        signature="",
    )
    signature = base64.b64encode(key.private.sign(unsigned.body())).decode()
    return Checkpoint(**{**unsigned.document(), "signature": signature})


def verify_checkpoint_signature(checkpoint: Checkpoint) -> bool:
    """True when the signature is the embedded key's over the other fields, and the
    key id is that key's. Whether the key is *trusted* is the verifier's question."""
    try:
        public = decode_public_key(checkpoint.public_key)
        signature = base64.b64decode(checkpoint.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, checkpoint.body())
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return key_id(public) == checkpoint.key_id
