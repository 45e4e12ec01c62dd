"""An echo endpoint on aiohttp's web server.

python -m conformance.targets.launchers.aiohttp_echo --port {port} [--cert {cert} --key {key}]
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from .launch_args import MAX_MESSAGE, parse_args, server_context


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


def main() -> None:
    args = parse_args(__doc__)
    app = web.Application()
    app.router.add_get("/", echo)
    web.run_app(app, host=args.host, port=args.port, ssl_context=server_context(args), print=None)


if __name__ == "__main__":
    main()
