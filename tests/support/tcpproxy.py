"""A small TCP proxy on 127.0.0.1 that a test can cut and restore, to simulate an outage.

``cut()`` closes every proxied connection and stops listening, so clients see their
connections drop and new ones refused (ECONNREFUSED), as when a server is down;
``restore()`` listens on the same port again. The real server is never touched.

Works with OS threads and, under eventlet's monkey patching, with green threads.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit, urlunsplit

ACCEPT_POLL = 0.1  # how often the accept loop looks at its flag; sockets close at once on cut


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_host:upstream_port``."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0):
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.accepted = 0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_uri(cls, uri: str, default_port: int) -> "TcpProxy":
        parts = urlsplit(uri)
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port)

    def uri(self, uri: str) -> str:
        """``uri`` with its host and port replaced by the proxy's."""
        parts = urlsplit(uri)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    # -- lifecycle --------------------------------------------------------
    def start(self) -> "TcpProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(ACCEPT_POLL)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting.set()
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,),
                                        name=f"tcpproxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def cut(self) -> None:
        """Drop every connection and refuse new ones until ``restore``."""
        self._accepting.clear()
        listener, self._listener = self._listener, None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if listener is not None:
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for sock in conns:
            _close(sock)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self._listener is None:
            self.start()

    close = cut

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cut()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns) // 2

    # -- forwarding -------------------------------------------------------
    def _accept_loop(self, listener: socket.socket) -> None:
        while self._accepting.is_set():
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if not self._accepting.is_set():
                _close(client)
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, EOFError):  # eventlet reports a socket closed under it as EOFError
            pass
        finally:
            # One side gone: the whole connection goes, as a dead server would do it.
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    # shutdown wakes a thread blocked in recv on this socket; close alone may not.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
