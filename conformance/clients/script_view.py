"""What a script saw on one wire case's connection, against what the WHATWG model predicts.

Under the ``whatwg`` profile each wire case (:mod:`.wire_cases`) also judges the events the
adapter reported for *that* connection (``open``, ``message``, ``error``, ``close``;
docs/client-adapters.md). The prediction comes from
:class:`~conformance.model.user_agent.WebSocketModel`, fed what the suite sent on the
connection: the 101, every frame decoded from the case transcript, then the TCP end.
The case gets one evidence line (:func:`script_line`); a disagreement the texts do not
allow turns it into FAIL citing the WHATWG (and RFC 6455) ids of the broken step
(:func:`with_script_view`).

The close code after a failed connection
----------------------------------------
After the client *fails* the connection (RFC 6455 §7.1.7), the script may see:

* 1006: no Close frame was received before the failure, and "An endpoint MUST NOT continue
  to attempt to process data (including a responding Close frame) from the remote endpoint
  after being instructed to _Fail the WebSocket Connection_"
  (``rfc6455-7.1.7-stop-processing-after-fail``), so the server's reply to the client's
  failing Close is never "received by the application" and the code stays the one "If _The
  WebSocket Connection is Closed_ and no Close control frame was received"
  (``rfc6455-7.1.5-no-close-frame-1006``, ``whatwg-ws-indistinct-code-1006``);
* the code (and reason) of the server's Close frame when that frame reached the client
  *before* it failed: the failure came from that frame itself (a reason that is not UTF-8)
  or from a code the client refuses. §7.1.5 defines the close code by "the first Close
  control frame received" (``rfc6455-7.1.5-close-code-first-frame``), and nothing makes an
  invalid Close frame unreceived; 1006 stays accepted too.

A code taken from a Close that arrived after the failure (the suite's reply to the
client's 1002, say) is not accepted, and ``wasClean`` must be false: a failed connection
"was required to fail", so its closing handshake did not complete for the script
(``whatwg-ws-closed-fire-error``, ``whatwg-ws-closeevent-wasclean``).

Other readings accepted, as in the scenarios (docs/client-profiles.md, "Where the text
allows more than one behaviour"): a client may refuse a Close whose code no endpoint may
send (§10.7) by failing; a masked server frame may be answered by failing, by a closing
handshake with 1002 (no ``error``), or by closing TCP at once, and its payload may reach
the script before the close.

Where the events cannot be correlated (no event for the connection, a transcript cut at
:data:`~conformance.driver.TRANSCRIPT_LIMIT`, a frame too large to decode) nothing is added.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from ..model.constants import CloseCode, Opcode
from ..model.decoder import FrameDecoder, FrameTooLarge, close_code_rule
from ..model.frames import Frame
from ..model.handshake import ResponseReader
from ..model.user_agent import ScriptEvent, WebSocketModel, describe_for_script
from ..model.verdict import Outcome
from ..model.violations import Violation
from ..results import CaseResult
from .protocol import AdapterEvent

MAX_MESSAGES_KEPT: Final = 2048
"""Message events kept per connection (the §5.3 case echoes 1000); beyond, none compared."""
MAX_MESSAGE_BYTES_KEPT: Final = 1 << 20
"""Bytes of message data kept per connection; beyond, the messages are not compared."""
MESSAGES_SHOWN: Final = 3
"""Messages spelled out in an evidence line; the rest are counted."""
DATA_SHOWN: Final = 40
"""Characters (or bytes) of one message shown in an evidence line."""

R_OPEN: Final = ("whatwg-ws-established-fire-open",)
R_MESSAGE: Final = ("whatwg-ws-message-fire-event",)
R_NOT_OPEN: Final = "whatwg-ws-message-ignored-unless-open"
R_ERROR: Final = "whatwg-ws-closed-fire-error"
R_STOP: Final = "rfc6455-7.1.7-stop-processing-after-fail"
R_FAILED_CODE: Final = ("rfc6455-7.1.5-no-close-frame-1006", "whatwg-ws-indistinct-code-1006")
R_CODE: Final = ("rfc6455-7.1.5-close-code-first-frame", "whatwg-ws-closeevent-code")
R_REASON: Final = ("rfc6455-7.1.6-close-reason-first-frame", "whatwg-ws-closeevent-reason")
R_CLEAN: Final = ("whatwg-ws-closeevent-wasclean", "rfc6455-7.1.4-closed-cleanly")
R_MASKED: Final = "rfc6455-5.1-client-close-masked"
R_NO_DATA_AFTER_CLOSE: Final = "rfc6455-5.5.1-no-data-after-close"

_KEY = re.compile(rb"^sec-websocket-key:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


# -- what the script saw ------------------------------------------------------------------


@dataclass(slots=True)
class ScriptSeen:
    """The events an adapter reported for one connection, bounded."""

    opened: bool = False
    protocol: str = ""
    messages: list[str | bytes] = field(default_factory=list)
    message_count: int = 0
    kept_bytes: int = 0
    overflow: bool = False  # too many or too large to compare
    error: bool = False
    close: tuple[object, object, object] | None = None  # code, reason, wasClean as reported
    refused: bool = False  # ``exception`` with phase connect: no connection to judge
    events: int = 0

    @property
    def ended(self) -> bool:
        """The terminal event arrived (docs/client-adapters.md)."""
        return self.close is not None or self.refused

    def add(self, event: AdapterEvent) -> None:
        """Take one event line of this connection (those after the terminal one are ignored)."""
        if self.ended:
            return
        self.events += 1
        if event.type == "open":
            self.opened = True
            self.protocol = str(event.fields.get("protocol") or "")
        elif event.type == "message":
            self._message(event)
        elif event.type == "error":
            self.error = True
        elif event.type == "close":
            f = event.fields
            self.close = (f.get("code"), f.get("reason"), f.get("wasClean"))
        elif event.terminal:
            self.refused = True

    def _message(self, event: AdapterEvent) -> None:
        self.message_count += 1
        if self.overflow:
            return
        data: str | bytes
        if "text" in event.fields:
            data = str(event.fields["text"])
        else:
            try:
                data = base64.b64decode(str(event.fields.get("binary", "")), validate=True)
            except (binascii.Error, ValueError):
                data = b""
        self.kept_bytes += len(data)
        if len(self.messages) >= MAX_MESSAGES_KEPT or self.kept_bytes > MAX_MESSAGE_BYTES_KEPT:
            self.overflow = True
            self.messages.clear()
            return
        self.messages.append(data)

    def as_events(self) -> list[ScriptEvent]:
        """The same, as the model's events (for one rendering of both sides)."""
        out = [ScriptEvent("open", protocol=self.protocol)] if self.opened else []
        out += [ScriptEvent("message", data=m) for m in self.messages]
        if self.error:
            out.append(ScriptEvent("error"))
        if self.close is not None:
            code, reason, clean = self.close
            out.append(
                ScriptEvent(
                    "close",
                    code=code if isinstance(code, int) else None,
                    reason=str(reason) if reason is not None else None,
                    was_clean=bool(clean) if isinstance(clean, bool) else None,
                )
            )
        return out


# -- what the model predicts ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelRun:
    """The model's events for one connection, and what the judgement needs to know of it."""

    events: tuple[ScriptEvent, ...]
    why_failed: tuple[str, ...]  # empty: the model did not fail the connection
    first_close: tuple[int | None, str] | None  # the first Close processed, valid or not
    close_after_fail: bool = False  # a Close frame came after the model failed

    @property
    def failed(self) -> bool:
        return bool(self.why_failed)

    @property
    def messages(self) -> list[str | bytes]:
        return [e.data for e in self.events if e.type == "message" and e.data is not None]

    @property
    def close(self) -> ScriptEvent | None:
        return next((e for e in self.events if e.type == "close"), None)

    @property
    def refusable_close(self) -> bool:
        """The server's Close carried a code no endpoint may send: refusing it by failing
        is a reading the text allows (§7.4.1, §10.7; docs/client-profiles.md)."""
        code = self.first_close[0] if self.first_close else None
        return code is not None and close_code_rule(code) is not None


def request_key(received: bytes) -> str | None:
    """The client's ``Sec-WebSocket-Key`` from the bytes it sent (its opening handshake)."""
    head = received.split(b"\r\n\r\n", 1)[0]
    found = _KEY.search(head)
    return found.group(1).decode("latin-1") if found else None


def model_runs(sent: bytes, received: bytes) -> list[ModelRun]:
    """The model's run, then each other run the texts allow where it differs; empty when
    the connection cannot be modelled.

    * failing fast: §8.1 "finds" lets invalid UTF-8 in a first fragment fail the
      connection at once, or at the last fragment (what the model does);
    * failing on a frame after the server's Close: the server broke §5.5.1 ("MUST NOT
      send any more data frames after sending a Close frame"), and §10.7 lets the client
      drop the connection on input it rejects (``rfc6455-10.7-may-drop-tcp``); the model
      ignores such frames;
    * a Close whose body is 1 byte read as a Close without a status code: §5.5.1's "the
      first two bytes of the body MUST be a 2-byte unsigned integer" binds the sender, and
      the receiver's checks are a MAY (§10.7, ``rfc6455-10.7-may-drop-tcp``); the frame
      "contains no status code", so the code is 1005 (``rfc6455-7.1.5-no-status-code-1005``).
      The wire case rates that answer WARN (no 1002), not FAIL; the model fails.
    """
    run = model_run(sent, received)
    if run is None:
        return []
    runs = [run]
    readings = ({"fail_fast": True}, {"strict_after_close": True}, {"short_close_empty": True})
    for options in readings:
        other = model_run(sent, received, **options)
        if other is not None and other not in runs:
            runs.append(other)
    return runs


def model_run(
    sent: bytes,
    received: bytes,
    *,
    fail_fast: bool = False,
    strict_after_close: bool = False,
    short_close_empty: bool = False,
) -> ModelRun | None:
    """Feed the model the suite's 101 and frames (``sent``) and the TCP end; None when the
    connection cannot be modelled (no request key, no 101, a frame too large to decode).
    The keywords choose the other readings of :func:`model_runs`."""
    key = request_key(received)
    reader = ResponseReader()
    reader.feed(sent)
    if key is None or reader.response is None or reader.response.status != 101:
        return None
    model = WebSocketModel(())
    headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in reader.response.headers]
    events = model.response(101, headers, key=key)
    first_close: tuple[int | None, str] | None = None
    close_after_fail = False
    for located in FrameDecoder(peer="server").feed_located(reader.trailing):
        item = located.event
        if isinstance(item, FrameTooLarge):
            return None
        if isinstance(item, Violation):
            events += model.header_fault(item.requirement)
        elif isinstance(item, Frame):
            if strict_after_close and model.received_close is not None:
                events += model.drop()
            if item.opcode == Opcode.CLOSE and short_close_empty and len(item.payload) == 1:
                item = replace(item, payload=b"")
            if item.opcode == Opcode.CLOSE:
                if model.failed:
                    close_after_fail = True
                elif first_close is None and model.received_close is None:
                    first_close = _close_fields(item.payload)
            events += model.frame(
                item.opcode,
                item.payload,
                masked=item.mask is not None,
                fin=item.fin,
                rsv=item.rsv1 or item.rsv2 or item.rsv3,
            )
            if fail_fast:
                events += model.fail_invalid_text()
    events += model.transport_closed()
    return ModelRun(tuple(events), model.why_failed, first_close, close_after_fail)


def _close_fields(payload: bytes) -> tuple[int | None, str]:
    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
    return code, payload[2:].decode("utf-8", "replace")


# -- the judgement --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broken:
    """One step where the script's view breaks the text, with the ids of that step."""

    step: str
    requirements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ending:
    """One accepted end of the connection as the script sees it (``error`` None: either)."""

    error: bool | None
    codes: frozenset[int]
    reasons: frozenset[str]
    clean: bool | None

    def accepts(self, error: bool, code: object, reason: object, clean: object) -> bool:
        return (
            (self.error is None or self.error == error)
            and code in self.codes
            and reason in self.reasons
            and (self.clean is None or self.clean == clean)
        )


def accepted_endings(run: ModelRun) -> list[Ending]:
    """The model's ending first, then every other one the texts allow (module docstring)."""
    close = run.close
    assert close is not None and close.code is not None  # transport_closed always closes
    endings: list[Ending] = []
    if run.failed:
        codes, reasons = {int(CloseCode.ABNORMAL_CLOSURE)}, {""}
        if run.first_close is not None and run.first_close[0] is not None:
            codes.add(run.first_close[0])
            reasons.add(run.first_close[1])
        endings.append(Ending(True, frozenset(codes), frozenset(reasons), False))
    else:
        reason = close.reason or ""
        endings.append(Ending(False, frozenset({close.code}), frozenset({reason}), close.was_clean))
        if run.refusable_close:  # reading two of a reserved code: the client fails
            refused = frozenset({int(CloseCode.ABNORMAL_CLOSURE), close.code})
            endings.append(Ending(True, refused, frozenset({"", reason}), False))
    if R_MASKED in run.why_failed:  # §5.1 "close", not _Fail_: three readings
        endings.append(
            Ending(False, frozenset({int(CloseCode.PROTOCOL_ERROR)}), frozenset({""}), True)
        )
        endings.append(
            Ending(None, frozenset({int(CloseCode.ABNORMAL_CLOSURE)}), frozenset({""}), False)
        )
    return endings


def judge_script(seen: ScriptSeen, runs: Sequence[ModelRun]) -> list[Broken]:
    """Every step where ``seen`` breaks what the texts allow, given the model's ``runs``
    (:func:`model_runs`: the first is the model's, the others allowed too)."""
    endings = [ending for run in runs for ending in accepted_endings(run)]
    run = next((r for r in runs if accepted_endings(r)[0].error == seen.error), runs[0])
    broken: list[Broken] = []
    if any(e.type == "open" for e in run.events) and not seen.opened:
        broken.append(Broken("no open event although the 101 was valid", R_OPEN))
    broken += _messages(seen, run)
    if seen.close is None:
        return broken
    code, reason, clean = seen.close
    if any(e.accepts(seen.error, code, reason, clean) for e in endings):
        return broken
    model = accepted_endings(run)[0]
    failed = run.failed or (seen.error and any(e.error for e in endings))
    if seen.error != model.error and not (seen.error and failed):
        if model.error:
            step = "no error event although the client was required to fail the connection"
            broken.append(Broken(step, (R_ERROR, *run.why_failed)))
        else:
            step = "an error event although nothing required the client to fail the connection"
            broken.append(Broken(step, (R_ERROR,)))
    expected = next((e for e in endings if e.error == seen.error), model)
    if code not in expected.codes:
        allowed = " or ".join(str(c) for c in sorted(expected.codes))
        ids = (*R_FAILED_CODE, R_STOP) if failed else R_CODE
        broken.append(Broken(f"close code {code}, where the texts allow {allowed}", ids))
    elif reason not in expected.reasons:
        allowed = " or ".join(repr(r) for r in sorted(expected.reasons))
        broken.append(Broken(f"close reason {reason!r}, where the texts allow {allowed}", R_REASON))
    if expected.clean is not None and clean != expected.clean:
        if failed:
            step = f"wasClean {clean} after the connection failed"
            broken.append(Broken(step, (*R_CLEAN, R_STOP)))
        else:
            step = f"wasClean {clean} after a completed closing handshake"
            broken.append(Broken(step, R_CLEAN))
    return broken


def _messages(seen: ScriptSeen, run: ModelRun) -> list[Broken]:
    """Messages the model does not deliver, or differing ones; a missing message only when
    the script saw an orderly close (a failure's timing is the wire verdict's business)."""
    if seen.overflow:
        return []
    expected, got = run.messages, seen.messages
    for index, data in enumerate(got):
        if index >= len(expected):
            if R_MASKED in run.why_failed:
                return []  # the masked frame's payload may precede the close
            if run.failed:
                step = f"message event {index + 1} after the connection failed"
                return [Broken(step, (R_NOT_OPEN, R_STOP, *run.why_failed))]
            step = f"message event {index + 1}, which the model does not deliver"
            return [Broken(step, (R_NOT_OPEN, R_NO_DATA_AFTER_CLOSE))]
        if data != expected[index]:
            return [Broken(f"message event {index + 1} carries other data", R_MESSAGE)]
    orderly = seen.close is not None and not seen.error and seen.close[2] is True
    if len(got) < len(expected) and orderly:
        step = f"{len(got)} message events where the model delivers {len(expected)}"
        return [Broken(step, R_MESSAGE)]
    return []


# -- the case result ------------------------------------------------------------------------


def script_line(seen: ScriptSeen, runs: Sequence[ModelRun]) -> str:
    """The evidence line: ``script saw: ...; the WHATWG model expects: ...``."""
    saw = _render(seen.as_events(), seen.message_count)
    if seen.close is None:
        saw += " (no close event reported in time)"
    expects = _render(list(runs[0].events), len(runs[0].messages))
    others = [_render(list(r.events), len(r.messages)) for r in runs[1:]]
    also = "".join(f" (also allowed: {text})" for text in others)
    return f"script saw: {saw}; the WHATWG model expects: {expects}{also}"


def _render(events: Sequence[ScriptEvent], messages: int) -> str:
    """``describe_for_script``, with long data cut and long message runs counted."""
    shown: list[ScriptEvent] = []
    seen_messages = 0
    for event in events:
        if event.type == "message":
            seen_messages += 1
            if seen_messages > MESSAGES_SHOWN:
                continue
            data = event.data
            event = replace(event, data=data[:DATA_SHOWN] if data is not None else None)
        shown.append(event)
    text = describe_for_script(shown)
    hidden = messages - min(messages, MESSAGES_SHOWN)
    return f"{text} ({hidden} more messages)" if hidden else text


def with_script_view(result: CaseResult, seen: ScriptSeen, runs: Sequence[ModelRun]) -> CaseResult:
    """``result`` with the script line, and FAIL where the script's view breaks the texts
    (an ERROR stays one: the case did not run as designed; a view without its terminal
    event, from an adapter that exited or is slow, is shown but not judged)."""
    broken = judge_script(seen, runs)
    notes = (*result.notes, script_line(seen, runs))
    if not broken or result.outcome is Outcome.ERROR or seen.close is None:
        return replace(result, notes=notes)
    cited = [r for b in broken for r in b.requirements]
    steps = "; ".join(b.step for b in broken)
    return replace(
        result,
        outcome=Outcome.FAIL,
        requirements=tuple(dict.fromkeys((*result.requirements, *cited))),
        actual=f"{result.actual}; and the script's view breaks the WHATWG rules: {steps}",
        notes=notes,
    )


def script_view_result(result: CaseResult, seen: ScriptSeen | None) -> CaseResult:
    """``result`` judged on the script's view too, when the events can be correlated."""
    if seen is None or seen.events == 0 or seen.refused:
        return result
    if result.sent_total > len(result.sent):
        return result  # the transcript is cut: the frames cannot all be fed to the model
    runs = model_runs(result.sent, result.received)
    if not runs:
        return result
    return with_script_view(result, seen, runs)
