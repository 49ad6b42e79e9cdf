"""Before starting the dashboard: is the address and port free?"""
from __future__ import annotations

import socket


def port_problem(address: str, port: int) -> str | None:
    """None when `address:port` can be bound; otherwise one line saying what to do."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            return (f"cannot serve on {address}:{port} ({exc.strerror or exc}): another program holds the port. "
                    f"Choose another: make run PORT={port + 1}, or EASTERN_PORT={port + 1} python -m app serve")
    return None
