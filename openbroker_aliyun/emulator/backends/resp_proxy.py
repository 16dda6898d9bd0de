"""A loopback TCP proxy in front of an emulated instance's redis-server, for Alibaba's AUTH form.

Alibaba lets a custom account log in with one argument, ``AUTH user:password`` (the only form
before Redis 6.0); vanilla Redis reads a single argument as the ``default`` user's password.
The proxy rewrites that one command into ``AUTH user password`` and passes every other byte
through unchanged, in both directions. Alibaba passwords cannot contain ``:``, so a colon in
a one-argument AUTH always means ``user:password``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import BinaryIO

log = logging.getLogger(__name__)

_MAX_LINE = 64 * 1024


def _encode(args: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def _rewrite(args: list[bytes]) -> list[bytes]:
    """``AUTH user:pw`` → ``AUTH user pw``; ``HELLO 3 AUTH default user:pw`` → ``... AUTH user pw``."""
    if len(args) == 2 and args[0].upper() == b"AUTH" and b":" in args[1]:
        user, _, password = args[1].partition(b":")
        return [args[0], user, password]
    if args and args[0].upper() == b"HELLO":
        # Clients given only a password send it for the `default` user (RESP3 handshake).
        for i in range(1, len(args) - 2):
            if args[i].upper() == b"AUTH" and args[i + 1] == b"default" and b":" in args[i + 2]:
                user, _, password = args[i + 2].partition(b":")
                return [*args[: i + 1], user, password, *args[i + 3 :]]
    return args


def _read_command(reader: BinaryIO) -> bytes | None:
    """One client command, rewritten if needed, as bytes to forward; None at end of stream."""
    line = reader.readline(_MAX_LINE)
    if not line:
        return None
    if not line.startswith(b"*"):  # an inline command (telnet style)
        parts = line.strip().split()
        rewritten = _rewrite(parts)
        return line if rewritten is parts else b" ".join(rewritten) + b"\r\n"
    count = int(line[1:].strip())
    raw = [line]
    args: list[bytes] = []
    for _ in range(max(count, 0)):
        header = reader.readline(_MAX_LINE)
        if not header.startswith(b"$"):
            raise ValueError("malformed RESP request")
        length = int(header[1:].strip())
        data = reader.read(length + 2)
        if len(data) < length + 2:
            return None
        raw += [header, data]
        args.append(data[:-2])
    rewritten = _rewrite(args)
    return b"".join(raw) if rewritten is args else _encode(rewritten)


class RespAuthProxy:
    """Listens on ``host:port`` (0: free) and forwards to ``target_port`` on the same host."""

    def __init__(self, host: str, target_port: int, port: int = 0) -> None:
        self.host = host
        self.target_port = target_port
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.2)  # so that the accept loop notices close()
        self.port = int(self._listener.getsockname()[1])
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name=f"resp-proxy-{self.port}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            client.settimeout(None)
            try:
                upstream = socket.create_connection((self.host, self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections.update((client, upstream))
            threading.Thread(target=self._commands, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._replies, args=(upstream, client), daemon=True).start()

    def _commands(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            with client.makefile("rb") as reader:
                while True:
                    command = _read_command(reader)
                    if command is None:
                        break
                    upstream.sendall(command)
        except (OSError, ValueError):
            pass
        finally:
            self._hang_up(client, upstream)

    def _replies(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        finally:
            self._hang_up(client, upstream)

    def _hang_up(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._connections.discard(sock)

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            connections = list(self._connections)
        self._hang_up(*connections)
        self._thread.join(timeout=5)
