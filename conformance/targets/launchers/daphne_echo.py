"""The ASGI echo app (:mod:`.asgi_echo`) on daphne (Twisted + autobahn).

python -m conformance.targets.launchers.daphne_echo --port {port} [--cert {cert} --key {key}]
"""

from __future__ import annotations

from daphne.server import Server  # first: it installs Twisted's asyncio reactor

from .asgi_echo import app
from .launch_args import MAX_MESSAGE, parse_args


def endpoint(host: str, port: int, cert: str | None, key: str | None) -> str:
    """A Twisted endpoint description: ``tcp:`` or, with a certificate, ``ssl:``."""

    def quoted(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")

    where = f"port={port}:interface={quoted(host)}"
    if cert and key:
        return f"ssl:{where}:privateKey={quoted(key)}:certKey={quoted(cert)}"
    return f"tcp:{where}"


def main() -> None:
    args = parse_args(__doc__)
    server = Server(
        application=app,
        endpoints=[endpoint(args.host, args.port, args.cert, args.key)],
        websocket_max_message_size=MAX_MESSAGE,
        websocket_max_frame_size=MAX_MESSAGE,
        verbosity=0,
    )
    server.run()


if __name__ == "__main__":
    main()
