"""An SMTP sink: accepts every message (plain SMTP, no TLS, any AUTH) and shows them over HTTP.

    python3 smtp_sink.py [--smtp-port 2525] [--http-port 8025]

GET /messages on the HTTP port returns the received messages as JSON
(``[{"from", "to", "subject", "body", "raw"}]``); DELETE /messages forgets them. Standard library
only (no smtpd, which Python 3.12 removed): it runs in an airyard/toolbox pod from a ConfigMap.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Mailbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []

    def add(self, mail_from: str, rcpt: list[str], data: bytes) -> None:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain", "html")) if msg.is_multipart() else msg
        text = body.get_content() if body is not None else ""
        with self.lock:
            self.messages.append(
                {
                    "from": mail_from,
                    "to": rcpt,
                    "subject": " ".join(str(msg.get("Subject", "")).split()),
                    "body": text,
                    "raw": data.decode("utf-8", "replace"),
                }
            )


def _smtp_handler(box: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class SMTPHandler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write((line + "\r\n").encode())

        def handle(self) -> None:
            self.reply("220 airyard-smtp-sink ESMTP")
            mail_from, rcpt = "", []
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line[:4].upper()
                if verb in ("HELO", "EHLO"):
                    if verb == "EHLO":
                        self.reply("250-airyard-smtp-sink")
                        self.reply("250-AUTH PLAIN LOGIN")
                        self.reply("250 8BITMIME")
                    else:
                        self.reply("250 airyard-smtp-sink")
                elif verb == "AUTH":
                    # Accept any credentials; LOGIN asks for user and password in two steps.
                    if "LOGIN" in line.upper() and len(line.split()) < 3:
                        self.reply("334 VXNlcm5hbWU6")
                        self.rfile.readline()
                        self.reply("334 UGFzc3dvcmQ6")
                        self.rfile.readline()
                    self.reply("235 2.7.0 Authentication successful")
                elif verb == "MAIL":
                    mail_from, rcpt = line.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    rcpt.append(line.split(":", 1)[1].strip().strip("<>").split(">")[0])
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    chunks = []
                    while True:
                        data_line = self.rfile.readline()
                        if not data_line or data_line in (b".\r\n", b".\n"):
                            break
                        chunks.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                    box.add(mail_from, rcpt, b"".join(chunks))
                    self.reply("250 OK: queued")
                elif verb == "RSET":
                    mail_from, rcpt = "", []
                    self.reply("250 OK")
                elif verb == "NOOP":
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 Bye")
                    return
                else:
                    self.reply("502 Command not implemented")

    return SMTPHandler


def _http_handler(box: Mailbox) -> type[BaseHTTPRequestHandler]:
    class HTTPHandler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/messages":
                self.send_response(200 if self.path == "/healthz" else 404)
                self.end_headers()
                return
            with box.lock:
                data = json.dumps(box.messages).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_DELETE(self) -> None:
            with box.lock:
                box.messages.clear()
            self.send_response(204)
            self.end_headers()

    return HTTPHandler


class _SMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(host: str = "0.0.0.0", smtp_port: int = 2525, http_port: int = 8025) -> tuple[list[Any], Mailbox]:
    """Start both servers in background threads; returns them (to shut down) and the mailbox."""
    box = Mailbox()
    smtp = _SMTPServer((host, smtp_port), _smtp_handler(box))
    http = ThreadingHTTPServer((host, http_port), _http_handler(box))
    for server in (smtp, http):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return [smtp, http], box


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    servers, _ = serve(args.host, args.smtp_port, args.http_port)
    print(f"smtp sink on {args.host}:{args.smtp_port}, messages on http :{args.http_port}/messages", flush=True)
    threading.Event().wait()
    del servers


if __name__ == "__main__":
    main()
