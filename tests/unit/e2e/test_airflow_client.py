"""The e2e's Airflow client on a connection the server dropped while it was idle in the pool."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from devkit import airflow


def serve_once_per_connection(conn: socket.socket) -> None:
    """Answer a connection's first request with keep-alive, then close on its second unanswered,
    as a port-forwarded api-server does after its keep-alive timeout."""
    with conn:
        for answered in (True, False):
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            if answered:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")


@pytest.fixture
def server() -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_once_per_connection, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def client(base_url: str) -> airflow.Airflow:
    return airflow.Airflow(base_url, airflow.api_session())


def test_a_get_on_a_dropped_connection_is_sent_again(server: str) -> None:
    api = client(server)
    assert api.request("GET", "/dags/a") == {}
    assert api.request("GET", "/dags/a") == {}  # the pooled connection is dropped: sent again


def test_a_post_on_a_dropped_connection_is_not_sent_twice(server: str) -> None:
    api = client(server)
    api.request("GET", "/dags/a")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.request("POST", "/dags/a/dagRuns", json={})
