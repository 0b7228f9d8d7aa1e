"""A webhook receiver (Slack incoming-webhook shape) that records what it is sent.

    python3 webhook.py [--port 8080]

POST any path: the body is recorded (JSON decoded when it is JSON) and answered ``ok`` as Slack
does. GET /messages returns every recorded request as JSON; DELETE /messages forgets them.
Standard library only: it runs in an airyard/toolbox pod from a ConfigMap.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """The recorded requests, shared by the handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:  # quieter than the default
                pass

            def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with receiver.lock:
                    receiver.messages.append({"path": self.path, "body": body})
                self._send(200, b"ok")

            def do_GET(self) -> None:
                if self.path.rstrip("/") in ("/messages", "/__messages"):
                    with receiver.lock:
                        data = json.dumps(receiver.messages).encode()
                    self._send(200, data, "application/json")
                elif self.path == "/healthz":
                    self._send(200, b"ok")
                else:
                    self._send(404, b"not found")

            def do_DELETE(self) -> None:
                with receiver.lock:
                    receiver.messages.clear()
                self._send(204, b"")

        return Handler


def serve(host: str = "0.0.0.0", port: int = 8080) -> tuple[ThreadingHTTPServer, WebhookReceiver]:
    """Start the receiver in a background thread; returns the server and its records."""
    receiver = WebhookReceiver()
    server = ThreadingHTTPServer((host, port), receiver.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    receiver = WebhookReceiver()
    print(f"webhook receiver on {args.host}:{args.port}", flush=True)
    ThreadingHTTPServer((args.host, args.port), receiver.handler()).serve_forever()


if __name__ == "__main__":
    main()
