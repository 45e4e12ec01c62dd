"""An echo endpoint on picows's core (frame-level) API, as its README sets one up.

python -m conformance.targets.launchers.picows_core --port {port} [--cert {cert} --key {key}]

The core API hands the application frames, not messages, and leaves reassembly and
text validation to it (picows README, "Core API"); this echo sends every data frame
back with its own opcode and FIN bit, so fragments come back as fragments.
"""

from __future__ import annotations

import asyncio

from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

from .launch_args import MAX_MESSAGE, parse_args, server_context


class Echo(WSListener):  # type: ignore[misc,unused-ignore]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            transport.send(frame.msg_type, frame.get_payload_as_bytes(), frame.fin)


def listener(request: WSUpgradeRequest) -> Echo:
    return Echo()


async def main() -> None:
    args = parse_args(__doc__)
    server = await ws_create_server(
        listener, args.host, args.port, ssl=server_context(args), max_frame_size=MAX_MESSAGE
    )
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
