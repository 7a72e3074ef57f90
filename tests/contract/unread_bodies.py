"""A target that answers a generation request without an Authorization header before reading its body, and keeps the
connection open: auth middleware's 401 first, the commonest way a body is left on a kept-alive connection.

An ASGI wrapper cannot show it: uvicorn reads and drops a body the app left unread. So this is a raw `http.server`
(HTTP/1.1, keep-alive) in front of a simulator, to which it forwards every request as it came (the body read first),
but for a generation request without an Authorization header: that one goes on without its body, and the body stays on the
connection, where the server reads it as the start of the next request ("Bad request syntax").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import httpx

GENERATIONS = "/v1/images/generations"
NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})


class _Front(ThreadingHTTPServer):
    daemon_threads = True
    upstream: str
    http: httpx.Client


class _AnswersBeforeTheBody(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the verdict, not the server's log."""

    def _forward(self) -> None:
        server = cast(_Front, self.server)
        length = int(self.headers.get("Content-Length") or 0)
        early = self.command == "POST" and self.path.startswith(GENERATIONS) and "Authorization" not in self.headers
        body = b"" if early else self.rfile.read(length)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in NOT_FORWARDED}
        answer = server.http.request(self.command, server.upstream + self.path, content=body, headers=headers)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in NOT_FORWARDED | {"date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


@contextmanager
def answering_before_the_body(upstream: str) -> Iterator[str]:
    """The front's base URL, forwarding to `upstream`, on a free port of 127.0.0.1 while the block runs."""
    server = _Front(("127.0.0.1", 0), _AnswersBeforeTheBody)
    server.upstream = upstream.rstrip("/")
    server.http = httpx.Client(timeout=30)
    thread = threading.Thread(target=server.serve_forever, name="unread-bodies-front", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        server.http.close()
        thread.join()
