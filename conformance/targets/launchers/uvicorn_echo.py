"""The ASGI echo app (:mod:`.asgi_echo`) on uvicorn, with a chosen ws backend.

python -m conformance.targets.launchers.uvicorn_echo --port {port}
    --ws websockets|websockets-sansio|wsproto [--cert {cert} --key {key}]
"""

from __future__ import annotations

import argparse

import uvicorn

from .asgi_echo import app
from .launch_args import MAX_MESSAGE, parse_args

BACKENDS = ("websockets", "websockets-sansio", "wsproto")


def main() -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--ws", choices=BACKENDS, required=True)
    known, rest = pre.parse_known_args()
    args = parse_args(__doc__, rest)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws=known.ws,
        ws_max_size=MAX_MESSAGE,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
