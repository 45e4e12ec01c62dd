"""The server cases' wire rules played against a client, from the same tables.

Theory of operation
-------------------
Most rules of RFC 6455 §5-§8 bind an *endpoint*: framing, fragmentation, UTF-8, control
frames, the closing handshake, close codes. The server case tables (:mod:`conformance.cases`)
already hold one case per such rule; against a client the suite plays the server
(:attr:`~conformance.session.context.CaseContext.plays_server`), and the session mirrors each
frame's masking, so a valid frame stays valid and an offence stays an offence (an unmasked
client frame, §5.1, becomes a masked server frame, which a client MUST reject). The client
echoes every message (the adapter's echo mode, docs/client-adapters.md), as Autobahn's
client agents do; its Pongs, Close frames and TCP close are judged as a server's are.

This module only *selects and relabels*; it holds no second copy of a table:

* the cases of the handshake (§4, §9, §10.2) and of permessage-deflate are the server's own;
  so are the two whose rule only a server has (:data:`SERVER_ONLY`: the server closes TCP
  first, §5.5.1 and §7.1.1), replaced here by the client's side of it;
* each requirement id of a rule that names the server is swapped for the client's
  counterpart (:data:`MIRRORED_IDS`), or dropped where the client has none;
* titles and ids say "client" where they said "server", and the reverse;
* a behaviour that names the rules the peer's frames must not break (the echo of a
  message "in frames with no mask", §5.1) names the client's counterparts.

Two rules bind only a client, and get cases of their own: a fresh, unpredictable masking
key for every frame (§5.3, over :data:`MASK_KEY_FRAMES` frames) and waiting for the server
to close TCP first (§5.5.1, §7.1.1; a SHOULD).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, ClassVar, Final

from ..cases import closing, fragmentation, framing, limits, utf8
from ..cases.base import Allowed, Case, RunFn
from ..model.behaviours import ClosingHandshake, Echoed, Expectation, expect
from ..model.constants import Opcode
from ..model.mask_keys import mask_key_findings
from ..model.observed import Observed, TransportEnd
from ..model.verdict import Level, Outcome
from ..model.violations import Violation
from ..session.context import CaseContext
from ..session.wire import WireSession, text

SERVER_ONLY: Final = frozenset({"rfc6455/5.5.1/server-closes-tcp", "rfc6455/7.1.1/clean-tcp-close"})
"""Cases whose rule binds the server alone (it closes TCP first, and cleanly)."""

MIRRORED_IDS: Final[dict[str, str | None]] = {
    "rfc6455-5.1-server-close-unmasked": "rfc6455-5.1-client-close-masked",
    "rfc6455-5.1-server-unmasked-1002": "rfc6455-5.1-client-masked-1002",
    "rfc6455-5.1-server-no-mask": "rfc6455-5.1-client-masks-frames",
    "rfc6455-5.1-client-masks-frames": "rfc6455-5.1-server-no-mask",
    "rfc6455-7.1.7-server-fail-closes": "rfc6455-7.1.7-client-fail-closes",
    "rfc6455-6.2-server-unmask": None,
    "rfc6455-5.5.1-server-close-tcp-first": None,
}
"""A server's requirement and the client's counterpart when the roles swap (None: the
client has none; its side is judged by :func:`waits_for_server_close`)."""

MASK_KEY_FRAMES: Final = 1000
"""Frames whose masking keys the §5.3 case judges (the issue's floor; Autobahn sends none)."""
MASK_KEY_PAYLOAD: Final = b"k"
TOO_FEW: Final = "too-few"
"""The key finding that says there were too few frames to judge (not a §5.3 breach)."""
CLIENT_WAIT: Final = 1.0
"""Seconds the suite, as the server, holds TCP open after the closing handshake to see
whether the client waits for it (§7.1.1); then it closes first, as it should."""

R_FRESH_KEY = "rfc6455-5.3-fresh-masking-key"
R_KEY_UNPREDICTABLE = "rfc6455-5.3-key-unpredictable"
R_KEY_ENTROPY = "rfc6455-5.3-key-strong-entropy"
R_CLIENT_WAITS = ("rfc6455-5.5.1-client-wait-server-close", "rfc6455-7.1.1-client-wait-tcp-close")
R_CLIENT_MAY_CLOSE = "rfc6455-5.5.1-client-may-close-tcp"

_WORDS = re.compile(r"\b(server|client|Server|Client)\b")
_SWAP = {"server": "client", "client": "server", "Server": "Client", "Client": "Server"}
_TITLES = (
    ("has no mask", "is masked"),
    ("is not masked", "is masked"),
    ("An unmasked", "A masked"),
)
_IDS = (("/server-unmasked-", "/client-masked-"), ("/unmasked-", "/masked-"))
_RULE_TEXTS = {"no mask": "a mask"}


def swap_roles(text: str) -> str:
    """``text`` with "server" and "client" exchanged (the suite now plays the server)."""
    return _WORDS.sub(lambda m: _SWAP[m.group(0)], text)


def mirrored_title(title: str) -> str:
    for old, new in _TITLES:
        title = title.replace(old, new)
    return swap_roles(title)


def mirrored_id(case_id: str) -> str:
    for old, new in _IDS:
        case_id = case_id.replace(old, new)
    return re.sub(r"/server-", "/client-", case_id)


def mirrored_requirements(requirements: Iterable[str]) -> tuple[str, ...]:
    swapped = (MIRRORED_IDS.get(r, r) for r in requirements)
    return tuple(dict.fromkeys(r for r in swapped if r is not None))


def mirrored_value(value: Any) -> Any:
    """A behaviour (or a field of one) with every requirement id it names mirrored."""
    if isinstance(value, frozenset) and all(isinstance(v, str) for v in value):
        return frozenset(mirrored_requirements(value))
    if isinstance(value, tuple):
        return tuple(mirrored_value(v) for v in value)
    if isinstance(value, str):
        mapped = MIRRORED_IDS.get(value, value)
        return value if mapped is None else _RULE_TEXTS.get(mapped, mapped)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: mirrored_value(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value


def mirrored(case: Case) -> Case:
    """``case`` against a client: the same run, relabelled (see the module)."""
    return replace(
        case,
        id=mirrored_id(case.id),
        title=mirrored_title(case.title),
        requirements=mirrored_requirements(case.requirements),
        expect=Expectation(tuple(mirrored_value(b) for b in case.expect.alternatives)),
        allowed=tuple(replace(a, behaviour=mirrored_value(a.behaviour)) for a in case.allowed),
        role="client",
    )


def server_wire_cases() -> tuple[Case, ...]:
    """The server tables whose rules bind both endpoints (no handshake, no extension)."""
    tables = (framing.CASES, fragmentation.CASES, utf8.CASES, closing.CASES, limits.CASES)
    return tuple(case for table in tables for case in table if case.id not in SERVER_ONLY)


# -- rules only a client has ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EchoedWithFreshKeys:
    """Every message echoed, each frame masked with a key no simple rule predicts (§5.3);
    the key findings are violations of the session (see :func:`fresh_keys_run`)."""

    judges_violations: ClassVar[bool] = True

    messages: tuple[tuple[int, bytes], ...]

    def describe(self) -> str:
        return (
            f"the {len(self.messages)} messages echoed, each frame masked with a fresh key "
            "that no simple rule derives from the ones before"
        )

    def matches(self, observed: Observed) -> bool:
        return Echoed(self.messages).matches(observed)


def fresh_keys_run(count: int) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        await session.send(*(text(MASK_KEY_PAYLOAD) for _ in range(count)))
        await session.settle()
        await session.close()
        seen = session.finish()
        for finding in mask_key_findings(session.mask_keys):
            if finding.kind == TOO_FEW:  # the echoes judge a client that sent too few
                seen.notes.append(finding.description)
            else:
                seen.violations.append(Violation(R_KEY_UNPREDICTABLE, finding.description))
        seen.notes.append(f"{len(session.mask_keys)} masking keys judged (§5.3)")
        return seen

    return run


def fresh_keys_case() -> Case:
    messages = ((int(Opcode.TEXT), MASK_KEY_PAYLOAD),) * MASK_KEY_FRAMES
    return Case(
        id="rfc6455/5.3/client-fresh-masking-keys",
        title=f"The {MASK_KEY_FRAMES} frames echoing {MASK_KEY_FRAMES} messages each carry "
        "a fresh, unpredictable masking key",
        requirements=(R_FRESH_KEY, R_KEY_UNPREDICTABLE, R_KEY_ENTROPY),
        level=Level.MUST,
        expect=expect(EchoedWithFreshKeys(messages)),
        run=fresh_keys_run(MASK_KEY_FRAMES),
        role="client",
        notes="A random 32-bit key repeats within 1000 frames with probability about 1e-4, "
        "so one repeat is allowed and two are flagged; the findings (repeats beyond chance, "
        "constant, arithmetic or XOR-step sequences, zero keys, too few byte values, biased "
        "bits) are computed by conformance/model/mask_keys.py, each bounded so that a "
        "strong random source raises it with probability at most 1e-8.",
    )


@dataclass(frozen=True, slots=True)
class WaitedForServer:
    """The client answered the Close and left the TCP close to the server (§7.1.1)."""

    judges_violations: ClassVar[bool] = False

    def describe(self) -> str:
        return (
            "a Close frame in reply, then the client waits for the server to close TCP "
            f"(still open {CLIENT_WAIT:g}s after the closing handshake), and closes its side "
            "after the server's FIN"
        )

    def matches(self, observed: Observed) -> bool:
        return (
            observed.close is not None
            and not observed.client_closed_first
            and observed.transport in (TransportEnd.EOF, TransportEnd.RESET)
        )


def waiting_run() -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        session.closes_first = False
        await session.send(closing.raw_close(b"\x03\xe8"))
        loop = asyncio.get_running_loop()
        deadline = session.conn.deadline
        session.conn.deadline = min(deadline, loop.time() + CLIENT_WAIT)
        await session.until_closed()  # the client's Close, then (if it does not wait) its FIN
        session.conn.deadline = deadline
        session.observed.timed_out = False
        session.closes_first = True
        await session.until_closed()  # the suite closes first now, and sees the client close
        return session.finish()

    return run


def waits_for_server_close() -> Case:
    closed_first = ClosingHandshake(codes=frozenset({1000}))
    return Case(
        id="rfc6455/7.1.1/client-waits-for-server-tcp-close",
        title="After the closing handshake the client waits for the server to close TCP",
        requirements=(*R_CLIENT_WAITS, "rfc6455-5.5.1-close-reply"),
        level=Level.SHOULD,
        expect=expect(WaitedForServer()),
        run=waiting_run(),
        allowed=(
            Allowed(
                closed_first,
                Outcome.WARN,
                "the client closed TCP first: §5.5.1 lets it ('MAY close the connection at "
                "any time after sending and receiving a Close message'), but §7.1.1 says it "
                "SHOULD wait for the server's, so that the server holds TIME_WAIT",
            ),
        ),
        role="client",
    )


def client_wire_cases(profile: str = "default") -> tuple[Case, ...]:
    """Every wire case against a client under ``profile`` ("full" adds the large messages)."""
    cases = [mirrored(case) for case in server_wire_cases()]
    cases += [fresh_keys_case(), waits_for_server_close()]
    return tuple(c for c in cases if profile == "full" or c.profile == "default")
