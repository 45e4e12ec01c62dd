"""The ASGI echo app (:mod:`conformance.targets.launchers.asgi_echo`) on hypercorn's asyncio worker.

python -m conformance.targets.launchers.hypercorn_echo --port {port} [--cert {cert} --key {key}]
"""

from __future__ import annotations

import asyncio

from hypercorn.asyncio import serve
from hypercorn.config import Config

from .asgi_echo import app
from .launch_args import MAX_MESSAGE, parse_args


def main() -> None:
    args = parse_args(__doc__)
    config = Config()
    config.bind = [f"{args.host}:{args.port}"]
    config.websocket_max_message_size = MAX_MESSAGE
    config.certfile = args.cert
    config.keyfile = args.key
    config.loglevel = "WARNING"
    asyncio.run(serve(app, config))  # type: ignore[arg-type,unused-ignore]


if __name__ == "__main__":
    main()
