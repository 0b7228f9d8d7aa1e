"""Fake threat-intelligence feeds in the formats of the real ones: hosts-file and plain lists, CSV, JSON.

It also receives Slack-style webhook posts (POST /hooks/…), so alert tests can read what was sent.

Standalone and stdlib-only: tests import it and serve it on loopback, and the e2e tests run this
file in a toolbox pod (ConfigMap + pod + Service). `python3 threat_feeds.py PORT`.

Each feed mixes good entries in every spelling the pipeline must normalise (case, trailing dots,
URLs, Unicode and punycode, duplicates) with lines it must reject. EXPECTED holds, by hand, the
canonical domains each source must yield; REJECTED how many entries each must refuse.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTFILE = """\
# abuse.ch URLhaus Host file
# Last updated: 2025-10-05 10:00:00 (UTC)
127.0.0.1\tlocalhost
0.0.0.0 malware-drop.example.com
0.0.0.0 MALWARE-DROP.example.com.
0.0.0.0 payload.bad-cdn.net
0.0.0.0 xn--bcher-kva.example
0.0.0.0 203.0.113.7
0.0.0.0 two words here
"""

PHISHING = """\
! phishing domains, one a line
login-paypa1.com
Secure-Bank-Verify.NET.
bücher.example
http://account-update.example.org/login.php
this is not a domain
bad_label.com
"""

URLHAUS_CSV = """\
################################################################
# abuse.ch URLhaus Database Dump (CSV - recent URLs)           #
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
################################################################
"3001","2025-10-05 09:58:11","http://payload.bad-cdn.net/bins/x86","online","2025-10-05 09:58:11","malware_download","elf","https://urlhaus.example/url/3001/","r1"
"3002","2025-10-05 09:57:02","https://Dropper.Evil-Host.IO:8443/a.exe","online","2025-10-05 09:57:02","malware_download","exe","https://urlhaus.example/url/3002/","r2"
"3003","2025-10-05 09:55:40","http://198.51.100.23/mozi.m","offline","","malware_download","mozi","https://urlhaus.example/url/3003/","r3"
"3004","2025-10-05 09:54:00"
"""

PHISHTANK = [
    {"phish_id": "9001", "url": "https://login-paypa1.com/signin", "verified": "yes", "target": "PayPal"},
    {"phish_id": "9002", "url": "http://wallet-connect.example.net/", "verified": "yes", "target": "Other"},
    {"phish_id": "9003", "verified": "yes", "target": "Other"},
]

THREATFOX = {
    "query_status": "ok",
    "data": {"domains": ["c2.evil-host.io", "C2.EVIL-HOST.IO.", "münchen-bank.example", 42]},
}

FEEDS: dict[str, tuple[int, str, str]] = {
    "/urlhaus/hostfile.txt": (200, "text/plain", HOSTFILE),
    "/phishing/domains.txt": (200, "text/plain", PHISHING),
    "/urlhaus/csv_recent.csv": (200, "text/csv", URLHAUS_CSV),
    "/phishtank/online-valid.json": (200, "application/json", json.dumps(PHISHTANK)),
    "/threatfox/domains.json": (200, "application/json", json.dumps(THREATFOX)),
    # a feed that is down, and one whose document is broken
    "/down/feed.txt": (503, "text/plain", "Service Unavailable\n"),
    "/broken/feed.json": (200, "application/json", '{"data": ["truncated'),
}

EXPECTED: dict[str, set[str]] = {
    "urlhaus_hostfile": {"malware-drop.example.com", "payload.bad-cdn.net", "xn--bcher-kva.example"},
    "phishing_domains": {
        "login-paypa1.com",
        "secure-bank-verify.net",
        "xn--bcher-kva.example",
        "account-update.example.org",
    },
    "urlhaus_csv": {"payload.bad-cdn.net", "dropper.evil-host.io"},
    "phishtank_json": {"login-paypa1.com", "wallet-connect.example.net"},
    "threatfox_json": {"c2.evil-host.io", "xn--mnchen-bank-thb.example"},
}
# localhost, an IP, a 3-field line | 2 bad lines | an IP URL, a short row | a missing field | a number
REJECTED: dict[str, int] = {
    "urlhaus_hostfile": 3,
    "phishing_domains": 2,
    "urlhaus_csv": 2,
    "phishtank_json": 1,
    "threatfox_json": 1,
}
ALL_EXPECTED: set[str] = set().union(*EXPECTED.values())


# Alerts posted to /hooks/<name> (a Slack-style incoming webhook), readable at GET /hooks/_received.
RECEIVED: list[dict[str, object]] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        if not self.path.startswith("/hooks/"):
            self.send_response(404)
            self.end_headers()
            return
        RECEIVED.append({"path": self.path, "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self) -> None:
        if self.path == "/hooks/_received":
            FEEDS["/hooks/_received"] = (200, "application/json", json.dumps(RECEIVED))
        status, ctype, body = FEEDS.get(self.path.split("?", 1)[0], (404, "text/plain", "not found\n"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args: object) -> None:
        sys.stderr.write("threat-feeds: " + fmt % args + "\n")


def server(port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), Handler)


if __name__ == "__main__":
    srv = server(int(sys.argv[1]) if len(sys.argv) > 1 else 8080, "0.0.0.0")
    print(f"threat-feeds on :{srv.server_address[1]}", flush=True)
    srv.serve_forever()
