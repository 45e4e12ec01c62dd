"""The reference server's hardened configuration (issue #15): the policy a security run
states, enforced (an Origin allow-list, a required credential, a message limit, tight
timeouts), so that ``wsconform run --profile security`` with :data:`HARDENED_POLICY`'s
options reports no WARN or FAIL against it.

:mod:`fixtures.security_faults` breaks it one piece at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from ssl import SSLContext
from typing import Final

from .model.server_access import AccessPolicy
from .model.server_handshake import ServerBehaviour
from .policy.security import SecurityPolicy
from .reference_server import (
    DEFAULT_HOST,
    ReferenceServer,
    ServerLimits,
    add_listen_arguments,
    serve_forever,
    start_reference_server,
    tls_context,
)

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
        """The opening-handshake rules with the access policy in front: the Origin
        matched exactly against ``origins``, ``auth_header`` required on every path."""
        return AccessPolicy(self.origins, self.auth_header)


async def start_hardened_server(
    host: str = DEFAULT_HOST,
    port: int = 0,
    ssl: SSLContext | None = None,
    hardening: Hardening | None = None,
    *,
    behaviour: ServerBehaviour | None = None,
) -> ReferenceServer:
    """The reference server under ``hardening`` (the hardened configuration if None);
    ``behaviour`` replaces ``hardening.behaviour()`` (a fault weakening its checks)."""
    chosen = hardening or Hardening()
    return await start_reference_server(
        host, port, ssl, behaviour=behaviour or chosen.behaviour(), limits=chosen.limits
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conformance.hardening``: serve the hardened server in the foreground."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance.hardening",
        description="Run the hardened reference server (issue #15) in the foreground; "
        "check it with: wsconform run URL --profile security "
        f"--origin-allow {' '.join(HARDENED_ORIGINS)} "
        f"--auth-header '{HARDENED_AUTH[0]}: {HARDENED_AUTH[1]}' "
        f"--max-message-size {HARDENED_MAX_MESSAGE}",
    )
    add_listen_arguments(parser)
    args = parser.parse_args(argv)
    context = tls_context(parser, args)
    asyncio.run(serve_forever(lambda: start_hardened_server(args.host, args.port, context)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
