"""An echo endpoint on the ``websockets`` library's asyncio server.

python -m conformance.targets.launchers.python_websockets --port {port} [--cert {cert} --key {key}]
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import ServerConnection, serve

from .launch_args import MAX_MESSAGE, parse_args, server_context


async def echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def main() -> None:
    args = parse_args(__doc__)
    context = server_context(args)
    async with serve(echo, args.host, args.port, ssl=context, max_size=MAX_MESSAGE) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
