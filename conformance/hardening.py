"""The reference server's hardened configuration (issue #15): the policy a security run
states, enforced (an Origin allow-list, a required credential, a message limit, tight
timeouts), so that ``wsconform run --profile security`` with :data:`HARDENED_POLICY`'s
options reports no WARN or FAIL against it.

:mod:`fixtures.security_faults` breaks it one piece at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ssl import SSLContext
from typing import Final

from .model.server_handshake import ServerBehaviour
from .policy.security import SecurityPolicy
from .reference_server import DEFAULT_HOST, ReferenceServer, ServerLimits, start_reference_server

HARDENED_ORIGINS: Final = ("https://app.example",)
HARDENED_AUTH: Final = ("Authorization", "Bearer conformance-hardened")
HARDENED_MAX_MESSAGE: Final = 64 * 1024

HARDENED_POLICY: Final = SecurityPolicy(
    origin_allow=HARDENED_ORIGINS,
    auth_header=HARDENED_AUTH,
    max_message_size=HARDENED_MAX_MESSAGE,
)
"""The options that match the hardened server: ``--origin-allow https://app.example
--auth-header 'Authorization: Bearer conformance-hardened' --max-message-size 65536``."""


@dataclass(frozen=True, slots=True)
class Hardening:
    """What the hardened server enforces; a fault replaces one field."""

    origins: tuple[str, ...] = HARDENED_ORIGINS
    auth_header: tuple[str, str] | None = HARDENED_AUTH
    limits: ServerLimits = field(
        default_factory=lambda: ServerLimits(max_message_bytes=HARDENED_MAX_MESSAGE)
    )

    def behaviour(self) -> ServerBehaviour:
        """The opening-handshake rules with the access policy in front."""
        return ServerBehaviour()


async def start_hardened_server(
    host: str = DEFAULT_HOST,
    port: int = 0,
    ssl: SSLContext | None = None,
    hardening: Hardening | None = None,
) -> ReferenceServer:
    """The reference server under ``hardening`` (the hardened configuration if None)."""
    chosen = hardening or Hardening()
    return await start_reference_server(
        host, port, ssl, behaviour=chosen.behaviour(), limits=chosen.limits
    )
