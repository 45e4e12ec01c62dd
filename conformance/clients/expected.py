"""What a script must see in each scenario: the WHATWG model driven by the scenario's data.

The scenario says what the server does; this module feeds the same facts, in the same
order, to :mod:`conformance.model.user_agent` and returns the events the model yields.
Where the text allows more than one sequence, the scenario's ``alternatives`` list the
others, each with the reason it is allowed.
"""

from __future__ import annotations

from ..model.constants import Opcode
from ..model.handshake import accept_for
from ..model.user_agent import ScriptEvent, WebSocketModel, construct
from .scenarios import (
    AwaitClient,
    ClientScenario,
    CloseCall,
    CloseTcp,
    NoAnswer,
    RedirectTo,
    Send,
    SendFrame,
    StatusAnswer,
    Upgrade,
)

MODEL_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
"""The key the model's handshake uses (RFC 6455 §1.3's example nonce)."""

MODEL_URL = "ws://127.0.0.1:8080/{name}/model"

_NETWORK_ERROR = {
    "refused": "refused",
    "unresolvable": "dns",
    "unroutable": "unroutable",
    "wss-untrusted": "tls",
}


def _response_headers(answer: Upgrade) -> list[tuple[str, str]]:
    """The 101's header lines as the scenario server writes them for ``MODEL_KEY``."""
    key = MODEL_KEY if answer.accept == "valid" else MODEL_KEY[::-1]
    headers = [("Sec-WebSocket-Accept", accept_for(key.encode()).decode())]
    if answer.upgrade_header:
        headers.append(("Upgrade", "websocket"))
    if answer.connection_header:
        headers.append(("Connection", "Upgrade"))
    if answer.protocol is not None:
        headers.append(("Sec-WebSocket-Protocol", answer.protocol))
    if answer.extensions is not None:
        headers.append(("Sec-WebSocket-Extensions", answer.extensions))
    return headers


def expected_events(scenario: ClientScenario) -> list[ScriptEvent]:
    """The events a conforming user agent fires, in order, for ``scenario``."""
    url = MODEL_URL.format(name=scenario.name)
    made = construct(
        scenario.script.url.format(url=url, rest=url.removeprefix("ws")),
        scenario.script.protocols,
    )
    if isinstance(made, ScriptEvent):
        return [made]
    ws = made
    answer = scenario.answer
    if scenario.endpoint in _NETWORK_ERROR:
        return ws.network_error(_NETWORK_ERROR[scenario.endpoint])
    if isinstance(answer, StatusAnswer):
        return ws.response(answer.status, list(answer.headers))
    if isinstance(answer, RedirectTo):
        return ws.network_error("redirect")
    if isinstance(answer, NoAnswer) or answer is None:
        return ws.network_error("no-response")
    events = ws.response(101, _response_headers(answer), key=MODEL_KEY)
    server_closed = False
    for step in answer.then:
        if isinstance(step, SendFrame):
            frame = step.frame
            events += ws.frame(
                frame.opcode,
                frame.payload,
                masked=frame.mask is not None,
                fin=frame.fin,
                rsv=frame.rsv1 or frame.rsv2 or frame.rsv3,
            )
            if ws.failed:
                server_closed = True  # the client closed; the rest of the script is moot
                break
        elif isinstance(step, CloseTcp):
            events += ws.transport_closed()
            server_closed = True
            break
        elif isinstance(step, AwaitClient):
            continue
    if not server_closed:
        events += _play_script(ws, scenario)
    return events


def _play_script(ws: WebSocketModel, scenario: ClientScenario) -> list[ScriptEvent]:
    """The script's actions against the scenario server's echo mode."""
    events: list[ScriptEvent] = []
    for action in scenario.script.on_open:
        if isinstance(action, Send):
            events += ws.send(action.text)
            events += ws.frame(Opcode.TEXT, action.text.encode())  # echoed
        elif isinstance(action, CloseCall):
            before = ws.sent_close
            events += ws.close(action.code, action.reason)
            if ws.sent_close is not None and before is None and not ws.failed:
                # Echo mode answers the Close with the same body, then closes TCP.
                events += ws.frame(Opcode.CLOSE, ws.sent_close)
                events += ws.transport_closed()
    return events
