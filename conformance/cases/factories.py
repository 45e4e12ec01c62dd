"""Case factories for message plans (:mod:`conformance.session.plans`), shared by the
fragmentation (RFC 6455 §5.4) and UTF-8 (§5.6, §8.1) case tables.

* :func:`plan_echo_case`: a valid plan. The server must reassemble every fragmented
  message ("Clients and servers MUST support receiving both fragmented and
  unfragmented messages", §5.4), answer every Ping in the middle of one ("An endpoint
  MUST be capable of handling control frames in the middle of a fragmented message",
  §5.4), and echo each message whole; the expected echoes and Pongs are computed from
  the plan.
* :func:`plan_fail_case`: a plan whose last frames break §5.4 (a continuation frame
  with no message in progress, a new data frame inside a fragmented message, a control
  frame with FIN clear). The server must _Fail the WebSocket Connection_ (§7.1.7),
  after echoing only the messages completed before the offending frame.

This module holds no cases itself; each case table imports it, never another table.
"""

from __future__ import annotations

from typing import Final

from ..model import rules
from ..model.behaviours import AllOf, Behaviour, Echoed, FailedConnection, expect
from ..model.observed import Observed
from ..model.verdict import Level
from ..policy import closing as closing_policy
from ..policy import limits as limit_policy
from ..policy.pingpong import PONG_WAIT, PongsAnswered
from ..session.context import CaseContext
from ..session.plans import Chop, Plan, expected_messages, expected_pongs, send_plan, send_raw
from ..session.wire import WireSession, watch_echo, watch_failure
from .base import Allowed, Case

__all__ = ["FAIL_CITES", "R_IN_ORDER", "R_SENT_AS_FRAMES", "plan_echo_case", "plan_fail_case"]

R_IN_ORDER: Final = "rfc6455-5.4-fragments-in-order"
"""Echoed whole and in order: what the server reassembled is what was sent (§5.4)."""

R_SENT_AS_FRAMES: Final = ("rfc6455-6.1-first-frame-opcode", "rfc6455-6.1-last-frame-fin")
"""The echo decodes as one message: its first frame has the type, its last FIN (§6.1)."""

FAIL_CITES: Final = (
    rules.VALIDATE_INPUT,
    rules.SERVER_FAIL_CLOSES,
    rules.CLOSE_BEFORE_FAIL,
    rules.STOP_AFTER_FAIL,
)
"""Every fail case: input is validated (§10.7), a failing server closes (§7.1.7) and
SHOULD send a Close with an appropriate code first (§7.1.7)."""


def plan_echo_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    plan: Plan,
    *,
    chop: Chop = Chop.WHOLE,
    notes: str = "",
) -> Case:
    """A valid plan: every message echoed whole, every Ping answered, in order; a
    message over the size-limit floor may meet a server limit instead
    (:mod:`conformance.policy.limits`)."""

    pongs = expected_pongs(plan)

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        await send_plan(session, plan, chop)
        if pongs:  # before the barrier Ping: docs/verdict-policy.md, "Ping/Pong and timing"
            await session.await_pong(pongs[-1], PONG_WAIT)
        return await watch_echo(session)

    messages = expected_messages(plan)
    echoed: Behaviour = Echoed(messages)
    if pongs:  # each Ping answered, or only the latest of those read together (§5.5.3)
        echoed = AllOf((echoed, PongsAnswered(pongs)))
    allowed = limit_policy.for_messages(messages)
    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, R_IN_ORDER, *R_SENT_AS_FRAMES),
        level=Level.MUST,
        expect=expect(echoed),
        run=run,
        allowed=allowed,
        notes=limit_policy.with_note(notes, allowed),
    )


def plan_fail_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    plan: Plan,
    *,
    before: Plan = (),
    allowed: tuple[Allowed, ...] | None = None,
    notes: str = "",
) -> Case:
    """A plan ending in a §5.4 breach: the server must fail the connection (§7.1.7),
    with a Close 1002 (:data:`conformance.policy.closing.PROTOCOL_ERROR`); another
    code is a broken SHOULD, reported as WARN, unless ``allowed`` says otherwise.

    ``before`` holds valid messages sent first; the barrier after them waits for their
    echoes, so a server that fails the connection at once is not blamed for an echo
    its application had not written yet.
    """
    codes = closing_policy.PROTOCOL_ERROR
    echoes = expected_messages(before)

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        if before:
            await send_plan(session, before)
            await session.settle()
        await send_raw(session, plan)
        return await watch_failure(session)

    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, *FAIL_CITES),
        level=Level.MUST,
        expect=expect(FailedConnection(codes, echoes)),
        run=run,
        allowed=closing_policy.failure_allowances(codes, echoes) if allowed is None else allowed,
        notes=notes,
    )
