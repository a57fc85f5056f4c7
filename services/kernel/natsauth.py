"""NATS users, permissions and connection options for a revmentor deployment.

DESIGN 5: one NATS user per service that may publish only on its own subjects
(and its own dead-letter subjects), a read-only ``integrator`` user, and an
``admin`` user that declares the streams. Permissions are enforced by the
server, so a compromised or buggy service cannot forge another service's
events, read another service's inbox, or delete a stream.

Two halves:

- :func:`generate_secure_config` renders the ``accounts`` block of a
  nats-server config with every user and its exact subjects, plus the
  credentials each process needs (:meth:`NatsUser.env`). ``revmentor up
  --secure`` and the tests use it with random passwords; the committed
  ``deploy/nats/secure.conf`` is the same output with ``$ENV`` placeholders
  (:func:`example_secure_conf`).
- :func:`nats_connect_options` / :func:`nats_broker_options` turn a service's
  environment (``NATS_USER``, ``NATS_PASSWORD``, ``NATS_CREDS``,
  ``NATS_NKEY_SEED``, ``NATS_INBOX_PREFIX``, ``NATS_TLS_*``; each may be
  prefixed ``<SERVICE>_``) into keyword arguments for ``nats.connect`` and for
  faststream's ``NatsBroker``.

Every user gets its own reply-inbox prefix (``_INBOX_<user>``): with the
default shared ``_INBOX.>`` any user could subscribe to every other user's
replies, including the messages pulled by another service's consumer.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.settings import env
from revmentor.kernel.streams import (
    AUDIT_STREAM,
    AUDIT_SUBJECT_PREFIX,
    DLQ_SUBJECT_PREFIX,
    SERVICES,
)

#: Which upstream streams each service consumes (DESIGN section 2).
CONSUMES: dict[str, tuple[str, ...]] = {
    "enrolment": (),
    "training": ("enrolment",),
    "matching": ("enrolment", "training"),
    "scheduling": ("enrolment", "matching"),
    "feedback": ("enrolment", "training", "matching", "scheduling"),
}

ADMIN = "admin"
INTEGRATOR = "integrator"
ACCOUNT = "REVMENTOR"
CONFIG_FILE = "nats-secure.conf"
CREDENTIALS_FILE = "nats-credentials.json"


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix ``user`` must connect with (``NATS_INBOX_PREFIX``)."""
    return f"_INBOX_{user}"


def password_variable(user: str) -> str:
    """The environment variable the example config reads ``user``'s password from."""
    return f"REVMENTOR_NATS_{user.upper().replace('-', '_')}_PASSWORD"


# -- permissions ----------------------------------------------------------------
def durable_name(service: str, upstream: str) -> str:
    """Mirrors ``UpstreamSubscription.durable``: one durable per (consumer, upstream)."""
    return f"{service}-from-{upstream}"


def consumer_subjects(stream: str, durable: str, *, delete: bool = False) -> list[str]:
    """JetStream API subjects to create, inspect and pull from one durable, and ack.

    nats-py creates with ``CONSUMER.CREATE.<stream>.<durable>.<filter>``; the
    filterless and legacy ``DURABLE.CREATE`` forms are allowed so other clients
    (nats CLI, older libraries) work too.
    """
    api = "$JS.API.CONSUMER"
    subjects = [
        f"{api}.CREATE.{stream}.{durable}",
        f"{api}.CREATE.{stream}.{durable}.>",
        f"{api}.DURABLE.CREATE.{stream}.{durable}",
        f"{api}.INFO.{stream}.{durable}",
        f"{api}.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]
    if delete:
        subjects.append(f"{api}.DELETE.{stream}.{durable}")
    return subjects


def service_publish(service: str, upstreams: Sequence[str]) -> list[str]:
    """A service publishes its events, dead letters and audit checkpoints, and
    manages only its own stream.

    It may look at every stream (the consumer checks that all streams exist)
    but never delete or purge one: that, and declaring the shared dead-letter
    and audit streams, is the admin's job. It reads the audit stream to find
    its own last checkpoint.
    """
    own = stream_name(service)
    subjects = [
        f"revmentor.{service}.>",
        f"{DLQ_SUBJECT_PREFIX}.{service}.>",
        f"{AUDIT_SUBJECT_PREFIX}.{service}",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        f"$JS.API.STREAM.CREATE.{own}",
        f"$JS.API.STREAM.UPDATE.{own}",
        f"$JS.API.STREAM.MSG.GET.{own}",
        f"$JS.API.STREAM.MSG.GET.{AUDIT_STREAM}",
    ]
    for upstream in upstreams:
        subjects += consumer_subjects(stream_name(upstream), durable_name(service, upstream))
    return subjects


def integrator_publish(durables: Sequence[str]) -> list[str]:
    """Read-only: inspect and read any stream, through its own named durables only.

    Durable names are listed exactly (NATS wildcards match whole tokens), so
    the integrator cannot take over or reconfigure a service's durable.
    """
    subjects = [
        "$JS.API.INFO",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.LIST",
        "$JS.API.STREAM.INFO.*",
        "$JS.API.STREAM.MSG.GET.*",
        "$JS.API.DIRECT.GET.*",
    ]
    for durable in durables:
        subjects += consumer_subjects("*", durable, delete=True)
    return subjects


@dataclass(frozen=True)
class NatsUser:
    """One NATS user: its password and what the server lets it do.

    ``publish``/``subscribe`` of None means unrestricted (the admin).
    """

    name: str
    password: str
    publish: tuple[str, ...] | None
    subscribe: tuple[str, ...] | None

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect`` as this user."""
        return {"user": self.name, "password": self.password, "inbox_prefix": self.inbox}

    def env(self) -> dict[str, str]:
        """What a process connecting as this user needs in its environment."""
        return {
            "NATS_USER": self.name,
            "NATS_PASSWORD": self.password,
            "NATS_INBOX_PREFIX": self.inbox,
        }

    @property
    def inbox(self) -> str:
        return inbox_prefix(self.name)


@dataclass(frozen=True)
class NatsServerTls:
    """The server's ``tls`` block; ``verify`` requires client certificates (mTLS)."""

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    verify: bool = False


@dataclass(frozen=True)
class SecureNatsConfig:
    """The rendered config and the users in it."""

    text: str
    users: dict[str, NatsUser] = field(default_factory=dict)

    def service_env(self, service: str) -> dict[str, str]:
        return self.users[service].env()


def build_users(
    services: Sequence[str] = SERVICES,
    consumes: Mapping[str, Sequence[str]] = CONSUMES,
    integrator_durables: Sequence[str] = (INTEGRATOR,),
    passwords: Mapping[str, str] | None = None,
) -> dict[str, NatsUser]:
    """Every user with its permissions; missing passwords are generated."""
    given = dict(passwords or {})

    def password(user: str) -> str:
        return given.get(user) or secrets.token_urlsafe(24)

    users = {ADMIN: NatsUser(ADMIN, password(ADMIN), None, None)}
    for service in services:
        publish = service_publish(service, consumes.get(service, ()))
        users[service] = NatsUser(
            service, password(service), tuple(publish), (f"{inbox_prefix(service)}.>",)
        )
    users[INTEGRATOR] = NatsUser(
        INTEGRATOR,
        password(INTEGRATOR),
        tuple(integrator_publish(integrator_durables)),
        (f"{inbox_prefix(INTEGRATOR)}.>",),
    )
    return users


# -- rendering --------------------------------------------------------------------
def _quoted(values: Sequence[str], indent: str) -> str:
    return "\n".join(f'{indent}"{value}"' for value in values)


def _render_user(user: NatsUser, password_literal: str) -> str:
    lines = [f'      {{ user: "{user.name}", password: {password_literal}']
    if user.publish is not None and user.subscribe is not None:
        lines += [
            "        permissions: {",
            "          publish: { allow: [",
            _quoted(user.publish, "            "),
            "          ] }",
            "          subscribe: { allow: [",
            _quoted(user.subscribe, "            "),
            "          ] }",
            "        }",
        ]
    lines.append("      }")
    return "\n".join(lines)


def render_accounts(users: Mapping[str, NatsUser], *, env_placeholders: bool = False) -> str:
    """The ``accounts`` block: one JetStream-enabled account holding every user.

    With ``env_placeholders`` passwords are ``$REVMENTOR_NATS_<USER>_PASSWORD``,
    which nats-server resolves from its environment when loading the file.
    """

    def literal(user: NatsUser) -> str:
        if env_placeholders:
            return f"${password_variable(user.name)}"
        return json.dumps(user.password)

    rendered = "\n".join(_render_user(user, literal(user)) for user in users.values())
    return (
        "accounts {\n"
        f"  {ACCOUNT} {{\n"
        "    jetstream: enabled\n"
        "    users: [\n"
        f"{rendered}\n"
        "    ]\n"
        "  }\n"
        "}\n"
    )


def render_tls(tls: NatsServerTls) -> str:
    lines = ["tls {", f'  cert_file: "{tls.cert_file}"', f'  key_file: "{tls.key_file}"']
    if tls.ca_file:
        lines.append(f'  ca_file: "{tls.ca_file}"')
    lines += [f"  verify: {'true' if tls.verify else 'false'}", "  timeout: 2", "}"]
    return "\n".join(lines) + "\n"


def generate_secure_config(
    services: Sequence[str] = SERVICES,
    consumes: Mapping[str, Sequence[str]] = CONSUMES,
    integrator_durables: Sequence[str] = (INTEGRATOR,),
    passwords: Mapping[str, str] | None = None,
    tls: NatsServerTls | None = None,
) -> SecureNatsConfig:
    """A config fragment (users, permissions, optional TLS) for ``nats-server -c``.

    It sets neither ports nor the store directory, so it combines with
    ``LocalNatsServer``'s ``-p``/``-sd`` flags.
    """
    users = build_users(services, consumes, integrator_durables, passwords)
    text = "# revmentor NATS users - generated by revmentor.kernel.natsauth\n\n"
    text += render_accounts(users)
    if tls is not None:
        text += "\n" + render_tls(tls)
    return SecureNatsConfig(text, users)


def write_secure_config(
    directory: Path,
    *,
    services: Sequence[str] = SERVICES,
    consumes: Mapping[str, Sequence[str]] = CONSUMES,
    integrator_durables: Sequence[str] = (INTEGRATOR,),
    tls: NatsServerTls | None = None,
) -> tuple[Path, SecureNatsConfig]:
    """Write the config and a credentials file (both 0600) into ``directory``.

    Passwords already in the credentials file are kept, so an integrator's
    password survives a restart of ``revmentor up --secure``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    credentials = directory / CREDENTIALS_FILE
    known: dict[str, str] = {}
    if credentials.exists():
        known = json.loads(credentials.read_text(encoding="utf-8"))
    config = generate_secure_config(services, consumes, integrator_durables, known, tls)
    path = directory / CONFIG_FILE
    _write_private(path, config.text)
    secret = {name: user.password for name, user in config.users.items()}
    _write_private(credentials, json.dumps(secret, indent=2) + "\n")
    return path, config


def _write_private(path: Path, text: str) -> None:
    """Readable by the owner only: the files hold passwords."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)


EXAMPLE_HEADER = """\
# revmentor - NATS with one user per service (DESIGN 5), single node.
#
# GENERATED by `python -m revmentor.kernel.natsauth` from services/kernel/natsauth.py;
# tests/kernel/test_nats_permissions.py fails when this file is out of date.
# See docs/security.md ("NATS users and permissions") for what each user may do.
#
# Passwords come from the server's environment (a Kubernetes Secret), one per user:
#   REVMENTOR_NATS_ADMIN_PASSWORD, REVMENTOR_NATS_ENROLMENT_PASSWORD, ...
#   REVMENTOR_NATS_INTEGRATOR_PASSWORD
# Check it with:  nats-server -c deploy/nats/secure.conf -t   (with those set)
# Each service then runs with NATS_USER=<service>, NATS_PASSWORD=<its password>
# and NATS_INBOX_PREFIX=_INBOX_<service>. Streams are declared by `admin` first.
# Production: prefer nkeys or bcrypt-hashed passwords, and enable the tls block.

server_name: revmentor-nats-0
listen: 0.0.0.0:4222
http_port: 8222
max_payload: 1MB
write_deadline: "10s"

jetstream {
  store_dir: /data
  sync_interval: always
  max_memory_store: 256MB
  max_file_store: 20GB
}

# TLS for clients (see docs/security.md); with verify: true clients need a certificate.
# tls {
#   cert_file: "/etc/nats/tls/tls.crt"
#   key_file: "/etc/nats/tls/tls.key"
#   ca_file: "/etc/nats/tls/ca.crt"
#   verify: true
# }

"""


def example_secure_conf() -> str:
    """The text of ``deploy/nats/secure.conf``: a full server config, passwords from env."""
    users = build_users(passwords=dict.fromkeys([ADMIN, *SERVICES, INTEGRATOR], "unused"))
    return EXAMPLE_HEADER + render_accounts(users, env_placeholders=True)


# -- client side --------------------------------------------------------------------
def nats_tls_context(service: str = "") -> ssl.SSLContext | None:
    """A client TLS context from ``NATS_TLS_CA`` (and ``NATS_TLS_CERT``/``_KEY`` for mTLS)."""
    ca = env("NATS_TLS_CA", "", service)
    cert = env("NATS_TLS_CERT", "", service)
    key = env("NATS_TLS_KEY", "", service)
    if not (ca or cert):
        return None
    if bool(cert) != bool(key):
        raise ValueError("NATS_TLS_CERT and NATS_TLS_KEY must be set together")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca or None)
    if cert:
        context.load_cert_chain(cert, key)
    return context


def _identity(service: str) -> dict[str, Any]:
    """At most one way to authenticate; two would leave which one wins to the library."""
    user = env("NATS_USER", "", service)
    creds = env("NATS_CREDS", "", service)
    seed = env("NATS_NKEY_SEED", "", service)
    if sum(map(bool, (user, creds, seed))) > 1:
        raise ValueError("set only one of NATS_USER, NATS_CREDS and NATS_NKEY_SEED")
    if user:
        return {"user": user, "password": env("NATS_PASSWORD", "", service)}
    if creds:
        return {"user_credentials": creds}
    if seed:
        key = "nkeys_seed" if Path(seed).is_file() else "nkeys_seed_str"
        return {key: seed}
    return {}


def nats_connect_options(service: str = "") -> dict[str, Any]:
    """Keyword arguments for ``nats.connect`` from ``service``'s environment.

    Empty when nothing is configured, so an unsecured local NATS keeps working.
    """
    options = _identity(service)
    prefix = env("NATS_INBOX_PREFIX", "", service)
    if prefix:
        options["inbox_prefix"] = prefix
    context = nats_tls_context(service)
    if context is not None:
        options["tls"] = context
        hostname = env("NATS_TLS_HOSTNAME", "", service)
        if hostname:
            options["tls_hostname"] = hostname
    return options


def nats_broker_options(service: str = "") -> dict[str, Any]:
    """The same settings for faststream's ``NatsBroker`` (credentials go in ``security=``)."""
    # Imported here: a relay-only process never loads faststream.
    from faststream.nats.security import (
        NatsCredentials,
        NatsNKey,
        NatsSecurity,
        NatsUserPassword,
    )

    options = nats_connect_options(service)
    tls = {
        "ssl_context": options.pop("tls", None),
        "tls_hostname": options.pop("tls_hostname", None),
    }
    security: NatsSecurity | None = None
    if "user" in options:
        security = NatsUserPassword(options.pop("user"), options.pop("password"), **tls)
    elif "user_credentials" in options:
        security = NatsCredentials.from_file(options.pop("user_credentials"), **tls)
    elif "nkeys_seed" in options:
        security = NatsNKey.from_file(options.pop("nkeys_seed"), **tls)
    elif "nkeys_seed_str" in options:
        security = NatsNKey.from_seed(options.pop("nkeys_seed_str"), **tls)
    elif tls["ssl_context"] is not None:
        security = NatsSecurity(**tls)
    return {**options, "security": security}


def main() -> None:
    """Regenerate ``deploy/nats/secure.conf`` (to stdout)."""
    print(example_secure_conf(), end="")


if __name__ == "__main__":
    main()
