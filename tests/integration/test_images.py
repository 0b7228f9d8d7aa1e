"""The extra CA given to builds (a BuildKit secret) never lands in an image layer.

Builds here pass an intercepting proxy, so `make images` hands the host's CA bundle to every
build. Each image built on this machine is exported and every file of every layer is searched for
each locally added CA certificate, in PEM and in DER form (Java truststores hold DER).
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import TAG

EXTRA_CAS = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))


def _built_images() -> list[str]:
    out = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=airyard/*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(ref for ref in out if ref.endswith(f":{TAG}"))


def _needles() -> dict[str, bytes]:
    needles = {}
    for path in EXTRA_CAS:
        body = "".join(line for line in path.read_text().splitlines() if line and not line.startswith("-----"))
        der = base64.b64decode(body)
        needles[f"{path.name} (PEM)"] = body[64:128].encode()  # a line from the middle of the PEM body
        needles[f"{path.name} (DER)"] = der[len(der) // 2 : len(der) // 2 + 48]
    return needles


def _layer_files(image: str) -> Iterator[tuple[str, bytes]]:
    with (
        subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as proc,
        tarfile.open(fileobj=proc.stdout, mode="r|") as outer,
    ):
        for member in outer:
            if not member.name.endswith("layer.tar") or not member.isfile():
                continue
            blob = outer.extractfile(member)
            assert blob is not None
            with tarfile.open(fileobj=io.BytesIO(blob.read()), mode="r:") as layer:
                for entry in layer:
                    content = layer.extractfile(entry) if entry.isfile() and entry.size < 64 * 1024 * 1024 else None
                    if content is not None:
                        yield entry.name, content.read()


@pytest.mark.skipif(not EXTRA_CAS, reason="this host trusts no locally added CA, so builds get none")
@pytest.mark.parametrize("image", _built_images())
def test_no_image_contains_the_build_ca(image: str) -> None:
    needles = _needles()
    found = [
        f"{name}: {which}" for name, data in _layer_files(image) for which, needle in needles.items() if needle in data
    ]
    assert found == [], f"{image} carries the build CA in {found}"


def test_the_search_finds_the_ca_where_it_is() -> None:
    """The check above would see a leaked CA: the same search on a file holding it."""
    if not EXTRA_CAS:
        pytest.skip("no locally added CA on this host")
    data = json.dumps({"bundle": EXTRA_CAS[0].read_text()}).encode()
    pem = EXTRA_CAS[0].read_text()
    der = base64.b64decode("".join(line for line in pem.splitlines() if line and not line.startswith("-----")))
    needles = _needles()
    assert any(n in data for n in needles.values())
    assert any(n in der for n in needles.values())
