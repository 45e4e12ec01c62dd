"""An echo endpoint on the ``websockets`` library's threaded (sync) server.

python -m conformance.targets.launchers.websockets_sync --port {port} [--cert {cert} --key {key}]
"""

from __future__ import annotations

from websockets.sync.server import ServerConnection, serve

from .launch_args import MAX_MESSAGE, parse_args, server_context


def echo(connection: ServerConnection) -> None:
    for message in connection:
        connection.send(message)


def main() -> None:
    args = parse_args(__doc__)
    context = server_context(args)
    with serve(echo, args.host, args.port, ssl=context, max_size=MAX_MESSAGE) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
