#!/usr/bin/env python3
"""make gitops-values: copy charts/airyard/values.yaml into the Argo CD Applications and the Flux
HelmReleases of k8s/argocd and k8s/flux.

GitOps tools install one release per chart (so sync waves and `dependsOn` can order them) and
cannot hand a chart one block of another chart's values file, so each service app carries its block
of the umbrella's values: `global` plus the chart's own block. (The Airflow app installs the
umbrella itself, whose values.yaml applies as is.) tests/gitops fails when the copies drift; this
rewrites them. Only the values blocks change; comments and the rest stay.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
UMBRELLA = ROOT / "charts" / "airyard"


def expected(chart: str) -> dict[str, Any]:
    values = yaml.safe_load((UMBRELLA / "values.yaml").read_text())
    return {"global": values["global"], **{k: v for k, v in (values.get(chart) or {}).items() if k != "enabled"}}


def rewrite(doc: str) -> str:
    chart = re.search(r"^\s+(?:path|chart): (?:\./)?charts/([a-z0-9-]+)\s*$", doc, re.M)
    block = re.search(r"^( *)(valuesObject|values):\n((?:\1  .*\n|\s*\n)*)", doc, re.M)
    if not chart or not block or chart.group(1) == "airyard":
        return doc
    indent = block.group(1) + "  "
    dumped = yaml.safe_dump(expected(chart.group(1)), sort_keys=False, default_flow_style=False, width=1000)
    body = "".join(indent + line + "\n" if line else "\n" for line in dumped.splitlines())
    return doc[: block.start(3)] + body + doc[block.end(3) :]


def main() -> int:
    changed = []
    for path in sorted([*ROOT.glob("k8s/argocd/**/*.yaml"), *ROOT.glob("k8s/flux/**/*.yaml")]):
        text = path.read_text()
        new = "\n---\n".join(rewrite(doc + "\n")[:-1] for doc in text.split("\n---\n"))
        if new != text:
            path.write_text(new)
            changed.append(str(path.relative_to(ROOT)))
    print("updated: " + ", ".join(changed) if changed else "GitOps values already match charts/airyard/values.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
