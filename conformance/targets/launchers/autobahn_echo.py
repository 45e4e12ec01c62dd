"""An echo endpoint on autobahn-python's asyncio ``WebSocketServerProtocol``.

python -m conformance.targets.launchers.autobahn_echo --port {port} [--cert {cert} --key {key}]
"""

from __future__ import annotations

import asyncio

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

from .launch_args import MAX_MESSAGE, parse_args, server_context


class Echo(WebSocketServerProtocol):  # type: ignore[misc,unused-ignore]
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(payload, isBinary)  # type: ignore[no-untyped-call,unused-ignore]


async def main() -> None:
    args = parse_args(__doc__)
    context = server_context(args)
    url = f"{'wss' if context else 'ws'}://{args.host}:{args.port}"
    factory = WebSocketServerFactory(url)  # type: ignore[no-untyped-call,unused-ignore]
    factory.protocol = Echo
    options = {"maxMessagePayloadSize": MAX_MESSAGE, "maxFramePayloadSize": MAX_MESSAGE}
    factory.setProtocolOptions(**options)  # type: ignore[no-untyped-call,unused-ignore]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, args.host, args.port, ssl=context)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
