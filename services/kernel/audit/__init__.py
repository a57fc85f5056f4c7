"""Tamper evidence: a hash chain over every stored event, and signed checkpoints.

DESIGN 6. Three parts, each in the service's own hands:

**The chain** (:mod:`.chain`). Every row of the service's notification log is
hashed in log order over its *stored* bytes, from a per-service genesis, and
the hashes are kept in the chain table ``revmentor_audit_chain`` next to the
events. :class:`Chainer` extends it; replicas may chain at the same time.

**Signed checkpoints** (:mod:`.signing`, :mod:`.checkpoints`).
:func:`checkpoint_job` periodically chains new rows and, when the chain moved,
publishes an Ed25519-signed ``{service, position, hash, ...}`` on the audit
stream ``REVMENTOR_AUDIT`` (no purges, no deletions). The signing key is a
mounted Secret (``REVMENTOR_AUDIT_SIGNING_KEY_FILE``) or, in development, a key
created once under ``<var>/secrets``; verifiers also trust
``REVMENTOR_AUDIT_TRUSTED_KEYS``.

**Verification** (:mod:`.verification`). :func:`verify` recomputes the chain
over the rows as they are now and compares it with the chain table, row by
row, and with every trusted checkpoint; it reports the first broken position.
It cannot catch rows appended after the last chained position, nor a
consistent rewrite of rows *and* chain table after the last checkpoint:
checkpoint often enough (``AUDIT_CHECKPOINT_SECONDS``).

Each module's docstring has the details. Everything is importable from here.
"""

from revmentor.kernel.audit.chain import (
    GENESIS_LABEL,
    HASH_BYTES,
    PAGE_SIZE,
    TABLE,
    ChainEntry,
    Chainer,
    ChainTable,
    canonical,
    genesis,
    link,
    log_rows,
)
from revmentor.kernel.audit.checkpoints import (
    EXPECTED_LAST_SUBJECT_SEQ_HEADER,
    WRONG_LAST_SEQUENCE,
    CheckpointPublisher,
    Job,
    audit_subject,
    checkpoint_job,
    checkpoint_msg_id,
    read_checkpoints,
)
from revmentor.kernel.audit.signing import (
    AUDIT_SETTINGS,
    REQUIRE_SIGNING_KEY,
    SIGNING_KEY_FILE,
    TRUSTED_KEYS,
    AuditKeyUnavailable,
    Checkpoint,
    EnvGet,
    SigningKey,
    decode_public_key,
    dev_key_path,
    ensure_dev_signing_key,
    key_id,
    load_signing_key,
    raw_public_key,
    sign_checkpoint,
    trusted_keys,
    verify_checkpoint_signature,
)
from revmentor.kernel.audit.verification import VerificationReport, verify

__all__ = [
    "AUDIT_SETTINGS",
    "EXPECTED_LAST_SUBJECT_SEQ_HEADER",
    "GENESIS_LABEL",
    "HASH_BYTES",
    "PAGE_SIZE",
    "REQUIRE_SIGNING_KEY",
    "SIGNING_KEY_FILE",
    "TABLE",
    "TRUSTED_KEYS",
    "WRONG_LAST_SEQUENCE",
    "AuditKeyUnavailable",
    "ChainEntry",
    "ChainTable",
    "Chainer",
    "Checkpoint",
    "CheckpointPublisher",
    "EnvGet",
    "Job",
    "SigningKey",
    "VerificationReport",
    "audit_subject",
    "canonical",
    "checkpoint_job",
    "checkpoint_msg_id",
    "decode_public_key",
    "dev_key_path",
    "ensure_dev_signing_key",
    "genesis",
    "key_id",
    "link",
    "load_signing_key",
    "log_rows",
    "raw_public_key",
    "read_checkpoints",
    "sign_checkpoint",
    "trusted_keys",
    "verify",
    "verify_checkpoint_signature",
]
