"""An echo endpoint on tornado's ``WebSocketHandler``, permessage-deflate enabled.

python -m conformance.targets.launchers.tornado_echo --port {port} [--cert {cert} --key {key}]

tornado negotiates permessage-deflate (RFC 7692) only when the handler's
``get_compression_options`` returns a dict; an empty one keeps its defaults, as its
documentation shows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.web import Application
from tornado.websocket import WebSocketHandler

from .launch_args import MAX_MESSAGE, parse_args, server_context


class Echo(WebSocketHandler):  # type: ignore[misc,unused-ignore]
    def get_compression_options(self) -> dict[str, Any]:
        """Enable permessage-deflate with tornado's default level and memory."""
        return {}

    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))


async def main() -> None:
    args = parse_args(__doc__)
    app = Application([(r"/", Echo)], websocket_max_message_size=MAX_MESSAGE)
    server = HTTPServer(app, ssl_options=server_context(args))
    server.listen(args.port, args.host)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
