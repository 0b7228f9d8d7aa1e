"""Calling a service from a pod that has just started.

A new pod's first packets may be refused until the network policy controller has admitted its
address, and a service may itself be starting: set-up and backup jobs retry their first calls.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def patiently(
    what: str, call: Callable[[], T], errors: tuple[type[BaseException], ...] = (Exception,), timeout: float = 120
) -> T:
    """`call()` until it returns, retrying on `errors` every 3 s for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except errors as err:
            if time.monotonic() > deadline:
                raise
            print(f"waiting for {what}: {err}", file=sys.stderr, flush=True)
            time.sleep(3)
