"""Who is calling: bearer JWT authentication shared by every service.

Every RPC except gRPC health and reflection carries ``authorization: Bearer
<JWT>``. The token is an ordinary OIDC-style access token, so an enterprise
identity provider can issue it directly (see docs/security.md):

    header  {"alg": "ES256" | "RS256", "kid": "<key id in the JWKS>", "typ": "JWT"}
    claims  {
      "iss": "<REVMENTOR_JWT_ISSUER>",           required, must match
      "aud": "<REVMENTOR_JWT_AUDIENCE>",         required, default "revmentor"
      "sub": "u-123",                            required, the caller
      "exp": 1767225600,                         required; "nbf"/"iat" checked when present
      "roles": ["programme_manager"],            admin | programme_manager | mentor |
                                                 mentee | auditor | service
      "programmes": ["<programme uuid>", ...],   programmes a programme_manager manages
      "employee_id": "E1201",                    mentor/mentee: whose data is theirs
                                                 (defaults to "sub")
      "service": "matching"                      service identities only; implies role
                                                 "service", actor "service:matching"
    }

Only asymmetric algorithms are accepted, and the key must be of the type the
algorithm names: a token saying HS256 (whatever it was signed with), ``none``,
or RS256 under an EC key id is refused before any signature check, so a public
key can never be used as an HMAC secret. Clock skew of 30 s is tolerated.

Keys come from a JWKS document, a file (``REVMENTOR_JWKS_FILE``) or a URL
(``REVMENTOR_JWKS_URL``). They are cached; a token naming an unknown ``kid``
re-fetches the set (at most once per 30 s, so junk tokens cannot turn the
service into a JWKS-fetching amplifier), and the set is re-read after 15
minutes anyway, so a removed key stops working.

A token that verified is remembered (:class:`VerifiedTokens`, the last 4,096
by their full text, signature included) until its ``exp`` plus the leeway, and
only while the key that verified it is still the set's key for its ``kid``:
a caller's next calls skip the signature check and the claim parsing, which
were a fifth of a command's CPU; a re-read set that dropped the key ends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from revmentor.kernel.settings import env

log = logging.getLogger(__name__)

ADMIN = "admin"
PROGRAMME_MANAGER = "programme_manager"
MENTOR = "mentor"
MENTEE = "mentee"
AUDITOR = "auditor"
SERVICE = "service"
ROLES = frozenset({ADMIN, PROGRAMME_MANAGER, MENTOR, MENTEE, AUDITOR, SERVICE})
#: Roles that reach every programme their RPC's table entry lets them call.
UNSCOPED_ROLES = frozenset({ADMIN, AUDITOR, SERVICE})

#: The only algorithms accepted, each with the JWK key type it must be verified with.
ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
LEEWAY_SECONDS = 30
MIN_REFRESH_SECONDS = 30.0
MAX_KEY_AGE_SECONDS = 15 * 60.0
FETCH_TIMEOUT_SECONDS = 5.0
DEFAULT_AUDIENCE = "revmentor"
VERIFIED_TOKENS = 4096


class Unauthenticated(Exception):
    """The caller is not known: no token, or one we cannot trust. Message is client-safe."""


class AccessDenied(Exception):
    """The caller is known but their role does not allow this call."""


class KeysUnavailable(Exception):
    """The signing keys could not be loaded: not the caller's fault, retry later."""


class AuthConfigError(Exception):
    """The service was started without what it needs to check tokens."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the handlers and the audit trail see it."""

    subject: str
    roles: frozenset[str] = frozenset()
    programmes: frozenset[str] = frozenset()
    employee_id: str = ""
    service: str = ""

    @property
    def actor(self) -> str:
        """Recorded with every event: the subject, or ``service:<name>``."""
        return f"service:{self.service}" if self.service else self.subject

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


def principal_from(claims: Mapping[str, Any]) -> Principal:
    """The principal of verified claims; malformed role claims are refused, not guessed."""
    subject = _text(claims, "sub")
    if not subject:
        raise Unauthenticated("token has an empty 'sub' claim")
    roles = set(_strings(claims, "roles"))
    service = _text(claims, "service")
    if service:
        roles.add(SERVICE)
    elif SERVICE in roles:
        raise Unauthenticated("a token with role 'service' must name it in the 'service' claim")
    return Principal(
        subject=subject,
        roles=frozenset(roles),
        programmes=frozenset(_strings(claims, "programmes")),
        employee_id=_text(claims, "employee_id") or subject,
        service=service,
    )


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name, "")
    if not isinstance(value, str):
        raise Unauthenticated(f"claim '{name}' must be a string")
    return value


def _strings(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unauthenticated(f"claim '{name}' must be a list of strings")
    return value


# -- keys ----------------------------------------------------------------------------------
def jwks_from_file(path: str) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        with open(path, encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
        return data

    return load


def jwks_from_url(url: str) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as reply:
            data: dict[str, Any] = json.loads(reply.read())
        return data

    return load


def parse_jwks(data: Any) -> dict[str, jwt.PyJWK]:
    """Usable signing keys by kid; symmetric, unnamed and broken keys are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = data.get("keys", []) if isinstance(data, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ALGORITHMS.values():
            continue  # never an "oct" (HMAC) key
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
            log.warning("skipping unusable JWKS key %r: %s", entry.get("kid"), error)
    return keys


class KeySet:
    """A cached JWKS: re-fetched on an unknown kid (rate-limited) or when stale."""

    def __init__(
        self,
        load: Callable[[], Any],
        min_refresh_seconds: float = MIN_REFRESH_SECONDS,
        max_age_seconds: float = MAX_KEY_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._load = load
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def cached(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)

    def should_fetch(self, kid: str) -> bool:
        """A fetch is due: never fetched, stale, or an unknown kid after the quiet period."""
        if self._fetched_at is None:
            return True
        age = self._clock() - self._fetched_at
        return age >= self.max_age_seconds or (
            kid not in self._keys and age >= self.min_refresh_seconds
        )

    def fetch(self, kid: str) -> None:
        """Re-read the set (blocking: call from a worker thread). Failures keep the old keys."""
        with self._lock:
            if not self.should_fetch(kid):
                return  # another thread just did it
            self.fetches += 1
            try:
                keys = parse_jwks(self._load())
            except (OSError, ValueError) as error:
                self._fetched_at = self._clock()
                log.error("cannot load the JWKS: %s", error)
                if not self._keys:
                    raise KeysUnavailable("signing keys are unavailable; retry later") from None
                return
            # Keys first, then the time: a concurrent caller that sees the new time
            # must also see the new keys (else it would refuse a valid token).
            self._keys = keys
            self._fetched_at = self._clock()


# -- tokens --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str = DEFAULT_AUDIENCE
    jwks_file: str = ""
    jwks_url: str = ""
    leeway_seconds: int = LEEWAY_SECONDS

    @classmethod
    def from_env(cls, service: str = "") -> AuthSettings:
        settings = cls(
            issuer=env("REVMENTOR_JWT_ISSUER", "", service),
            audience=env("REVMENTOR_JWT_AUDIENCE", DEFAULT_AUDIENCE, service),
            jwks_file=env("REVMENTOR_JWKS_FILE", "", service),
            jwks_url=env("REVMENTOR_JWKS_URL", "", service),
        )
        if not settings.issuer or not (settings.jwks_file or settings.jwks_url):
            raise AuthConfigError(
                "authentication is not configured: set REVMENTOR_JWT_ISSUER and "
                "REVMENTOR_JWKS_FILE or REVMENTOR_JWKS_URL (`revmentor up` does this for "
                "local runs with a development key)"
            )
        return settings

    def key_source(self) -> Callable[[], Any]:
        return jwks_from_file(self.jwks_file) if self.jwks_file else jwks_from_url(self.jwks_url)


@dataclass(frozen=True)
class Verified:
    """A token that verified: who it is, with which key, until when (epoch seconds)."""

    principal: Principal
    kid: str
    key: jwt.PyJWK
    until: float


class VerifiedTokens:
    """The last tokens that verified, by their full text (a forged or altered
    token is a different text, so it is always checked)."""

    def __init__(self, size: int = VERIFIED_TOKENS, clock: Callable[[], float] = time.time):
        self.size = size
        self._clock = clock
        self._entries: OrderedDict[str, Verified] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, keys: KeySet) -> Principal | None:
        """The principal, if the token verified before, has not expired and its
        key is still the set's key for its kid (and the set is not due a re-read)."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if (
                self._clock() >= entry.until
                or keys.should_fetch(entry.kid)
                or keys.cached(entry.kid) is not entry.key
            ):
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry.principal

    def put(self, token: str, entry: Verified) -> None:
        with self._lock:
            self._entries[token] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass
class Authenticator:
    """Turns an ``authorization`` header into a :class:`Principal`, or says why not."""

    settings: AuthSettings
    keys: KeySet = field(init=False)
    verified: VerifiedTokens = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeySet(self.settings.key_source())
        self.verified = VerifiedTokens()

    @classmethod
    def from_env(cls, service: str = "") -> Authenticator:
        return cls(AuthSettings.from_env(service))

    async def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        known = self.verified.get(token, self.keys)
        if known is not None:
            return known
        alg, kid = unverified_header(token)
        if self.keys.should_fetch(kid):
            await asyncio.to_thread(self.keys.fetch, kid)
        return self.verify(token, alg, kid)

    def verify(self, token: str, alg: str, kid: str) -> Principal:
        key = self.keys.cached(kid)
        if key is None:
            raise Unauthenticated(f"token is signed with an unknown key (kid {kid[:64]!r})")
        if key.algorithm_name != alg:
            raise Unauthenticated(f"key {kid[:64]!r} is not a {alg} key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(_reason(error, self.settings)) from None
        principal = principal_from(claims)
        until = float(claims["exp"]) + self.settings.leeway_seconds
        self.verified.put(token, Verified(principal, kid, key, until))
        return principal


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing token: send metadata 'authorization: Bearer <JWT>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("malformed authorization header: expected 'Bearer <JWT>'")
    return token.strip()


def unverified_header(token: str) -> tuple[str, str]:
    """The pinned algorithm and key id, checked before anything else is trusted."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise Unauthenticated("malformed token: not a JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Unauthenticated(f"algorithm {str(alg)[:16]!r} is not accepted (use RS256 or ES256)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("token header has no 'kid' naming its signing key")
    return str(alg), kid


def _reason(error: jwt.InvalidTokenError, settings: AuthSettings) -> str:
    """What was wrong with a token, in words a client developer can act on."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "token not yet valid (nbf/iat in the future)"
    if isinstance(error, jwt.InvalidAudienceError):
        return f"wrong audience: expected {settings.audience!r}"
    if isinstance(error, jwt.InvalidIssuerError):
        return f"wrong issuer: expected {settings.issuer!r}"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"token lacks the required claim {error.claim!r}"
    if isinstance(error, jwt.InvalidSignatureError):
        return "token signature is invalid"
    if isinstance(error, jwt.DecodeError):
        return "malformed token"
    return f"invalid token ({type(error).__name__})"


# -- helpers for the services' access tables -------------------------------------------
def granted_roles(
    principal: Principal, policy: Mapping[str, frozenset[str]], rpc: str
) -> frozenset[str]:
    """The caller's roles that ``policy`` grants for ``rpc``: a second role never widens."""
    return principal.roles & policy.get(rpc, frozenset())


def manages_programme(principal: Principal, roles: frozenset[str], programme_id: str) -> bool:
    """A programme manager acting within a programme listed in their token."""
    return PROGRAMME_MANAGER in roles and programme_id in principal.programmes


#: Role groups the services' tables are written with.
MANAGERS = frozenset({ADMIN, PROGRAMME_MANAGER})
PARTICIPANTS = frozenset({MENTOR, MENTEE})
READERS = frozenset({ADMIN, PROGRAMME_MANAGER, AUDITOR, SERVICE})


class AccessTable:
    """A service's role table (RPC -> roles) and the questions every service
    asks of it before the object-level rule of the handler."""

    def __init__(self, policy: Mapping[str, frozenset[str]]) -> None:
        self.policy = policy

    def roles(self, principal: Principal, rpc: str) -> frozenset[str]:
        """The caller's roles that the table grants for ``rpc``."""
        return granted_roles(principal, self.policy, rpc)

    def acts_in_programme(self, principal: Principal, rpc: str, programme_id: str) -> bool:
        """Admin, auditor and services everywhere; a manager in their programmes."""
        roles = self.roles(principal, rpc)
        return bool(roles & UNSCOPED_ROLES) or manages_programme(principal, roles, programme_id)

    def acts_for_self(self, principal: Principal, rpc: str) -> bool:
        """The table grants the caller ``rpc`` as a mentor or mentee (own data only)."""
        return bool(self.roles(principal, rpc) & PARTICIPANTS)

    def needs_ownership(self, principal: Principal, rpc: str, programme_id: str) -> bool:
        """True when only "it is the caller's own" could let them act on it."""
        if self.acts_in_programme(principal, rpc, programme_id):
            return False
        return self.acts_for_self(principal, rpc)
