"""Pages as a user's browser renders them: headless Chromium screenshots (make e2e installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def screenshot(url: str, png: Path, *, width: int = 1400, height: int = 1500, wait_ms: int = 0) -> Path:
    """Render `url` and save it as `png`. `wait_ms` lets a page's scripts run (and fetch) first."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "apt-get install chromium"
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    if wait_ms:
        args.append(f"--virtual-time-budget={wait_ms}")
    subprocess.run(
        [*args, f"--screenshot={png}", f"--window-size={width},{height}", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return png
