"""sources.yaml: the feeds to ingest, and fetching one of them."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from airyard import envconn
from airyard.domains.parsers import FORMATS

DEFAULT_CONFIG = Path(__file__).with_name("sources.yaml")


@dataclass(frozen=True)
class Source:
    """A feed: a full `url`, or a `path` under the base URL of connection `conn_id` (external connections Secret)."""

    name: str
    format: str
    url: str = ""
    conn_id: str = ""
    path: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    enabled: bool = True

    def resolve_url(self, environ: dict[str, str] | None = None) -> str:
        if self.url:
            return self.url
        return envconn.get(self.conn_id, environ).base_url + "/" + self.path.lstrip("/")


def load(path: str | Path = DEFAULT_CONFIG) -> list[Source]:
    doc = yaml.safe_load(Path(path).read_text())
    defaults = doc.get("defaults") or {}
    sources: list[Source] = []
    for raw in doc.get("sources") or []:
        spec = {**defaults, **raw}
        if spec.get("format") not in FORMATS:
            raise ValueError(f"source {spec.get('name')!r}: format must be one of {FORMATS}")
        if not spec.get("url") and not (spec.get("conn_id") and spec.get("path")):
            raise ValueError(f"source {spec.get('name')!r}: needs `url`, or `conn_id` and `path`")
        sources.append(Source(**spec))
    names = [s.name for s in sources]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate source names in {path}")
    return sources


def select(sources: list[Source], name: str | None) -> list[Source]:
    """All enabled sources, or the one named (enabled or not: asking for it by name is explicit)."""
    if not name:
        return [s for s in sources if s.enabled]
    chosen = [s for s in sources if s.name == name]
    if not chosen:
        raise ValueError(f"no source {name!r}; known: {', '.join(s.name for s in sources)}")
    return chosen


def fetch(url: str, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "airyard-domain-ingestion/0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        charset = resp.headers.get_content_charset() or "utf-8"
        return resp.read().decode(charset, errors="replace")
