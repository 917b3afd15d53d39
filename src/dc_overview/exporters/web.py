"""Serving /metrics: stdlib HTTP server, optional TLS and basic auth from a web-config file."""

from __future__ import annotations

import base64
import binascii
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from .webconfig import BasicAuth, WebConfig

log = logging.getLogger(__name__)

LANDING = (
    "<!doctype html><html><head><title>{title}</title></head><body>"
    '<h1>{title}</h1><p><a href="/metrics">Metrics</a></p></body></html>'
)


def add_serving_arguments(parser: Any, program: str, version: str, once_help: str) -> None:
    """The options every exporter shares: web config, --once, log level, version."""
    add = parser.add_argument
    add(
        "--web-config",
        "--web.config.file",
        dest="web_config",
        default="",
        help="node_exporter-style web config (TLS, basic auth)",
    )
    add("--once", action="store_true", help=once_help)
    add("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    add("--version", action="version", version=f"{program} {version}")


def parse_listen(listen: str) -> tuple[str, int]:
    """ ":9835" -> ("", 9835); "127.0.0.1:9835"; "[::1]:9835" -> ("::1", 9835)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen must be [host]:port, not {listen!r}")
    host = host.strip("[]")
    return host, int(port)


class ExporterServer(ThreadingHTTPServer):
    """A threading HTTP server; the TLS handshake runs in the request's thread."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], handler: type, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10.0)
        try:
            secure = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("error serving %s", client_address, exc_info=True)


Renderer = Callable[[str], tuple[bytes, str]]


def registry_renderer(registry: CollectorRegistry) -> Renderer:
    """Render a whole registry per scrape, in the format the Accept header asks for."""

    def render(accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type

    return render


def make_handler(render: Renderer, config: WebConfig, title: str) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving `render`'s output under the rules of `config`."""
    auth = BasicAuth(config.basic_auth_users) if config.basic_auth_users else None
    landing = LANDING.format(title=title).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30
        # One write per response and no Nagle delay: without these a keep-alive scrape
        # waits ~40 ms for the peer's delayed ACK between the header and body segments.
        wbufsize = 256 * 1024
        disable_nagle_algorithm = True
        server_version = title

        def do_GET(self) -> None:
            if auth is not None and not self._authorized(auth):
                self._send(401, b"Unauthorized\n", "text/plain", {"WWW-Authenticate": "Basic"})
                return
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, content_type = render(self.headers.get("Accept", ""))
                self._send(200, body, content_type)
            elif path == "/":
                self._send(200, landing, "text/html; charset=utf-8")
            else:
                self._send(404, b"Not Found\n", "text/plain")

        def _authorized(self, checker: BasicAuth) -> bool:
            header = self.headers.get("Authorization", "")
            scheme, _, encoded = header.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return checker.check(user, password)

        def _send(self, status: int, body: bytes, content_type: str, headers: Any = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def make_server(listen: str, render: Renderer, config: WebConfig, title: str) -> ExporterServer:
    """Bind the server (raises OSError when the port is taken, ValueError on a bad address)."""
    context = config.tls.context() if config.tls is not None else None
    handler = make_handler(render, config, title)
    return ExporterServer(parse_listen(listen), handler, context)


def serve_until_signalled(server: ExporterServer) -> int:
    """Serve until SIGTERM or SIGINT, then close the socket; returns the exit status."""

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()
    return 0
