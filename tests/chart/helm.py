"""Render charts with `helm template` and validate every object, as the official chart's tests do.

`render()` raises `HelmError` when Helm refuses (so schema errors are testable with
pytest.raises) and `SchemaError` when an object does not validate against the Kubernetes 1.35
schemas (kubernetes-validate ships them, so this works offline) or a CRD schema of tests/k8s_schema.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jmespath
import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
CRD_SCHEMAS = REPO / "tests" / "k8s_schema"
KUBE_VERSION = "1.35.0"


class HelmError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"helm failed ({self.returncode}): {self.stderr}"


class SchemaError(AssertionError):
    pass


def helm(*args: str) -> str:
    proc = subprocess.run(["helm", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise HelmError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc.stdout


@cache
def build_dependencies(chart: str) -> None:
    """`helm dependency build` once per chart and test session (archives stay gitignored)."""
    helm("dependency", "build", "--skip-refresh", str(CHARTS / chart))


def render_raw(
    chart: str | Path,
    values: dict[str, Any] | None = None,
    *,
    release: str = "test",
    namespace: str = "airyard",
    show_only: list[str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> str:
    if isinstance(chart, str):
        build_dependencies(chart)
        chart = CHARTS / chart
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values or {}, f)
        f.flush()
        args = ["template", release, str(chart), "--namespace", namespace, "--values", f.name]
        args += ["--kube-version", KUBE_VERSION]
        for template in show_only or []:
            args += ["--show-only", template]
        return helm(*args, *extra_args)


def render(chart: str | Path, values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Render and return the validated objects."""
    docs = [d for d in yaml.safe_load_all(render_raw(chart, values, **kwargs)) if d]
    for doc in docs:
        validate(doc)
    return docs


@cache
def _crd_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    path = CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    return json.loads(path.read_text()) if path.exists() else None


def validate(doc: dict[str, Any]) -> None:
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    name = f"{kind}/{doc.get('metadata', {}).get('name')}"
    group, _, version = api_version.rpartition("/")
    # A stored CRD schema wins: some CRD groups end in .k8s.io too (sparkoperator.k8s.io).
    stored = _crd_schema(group, version, kind) if "." in group else None
    if stored is not None or ("." in group and not group.endswith(".k8s.io")) or group.endswith(".x-k8s.io"):
        schema = stored
        if schema is None:
            raise SchemaError(f"{name}: no schema for {api_version} {kind} in {CRD_SCHEMAS}")
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as err:
            raise SchemaError(f"{name}: {err.message} at {list(err.absolute_path)}") from err
        return
    try:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        raise SchemaError(f"{name}: {err.message} at {list(err.absolute_path)}") from err


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of a kind (and name); fails when there is none or more than one."""
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in matches]}"
    return matches[0]


def kinds(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)


def search(expression: str, doc: Any) -> Any:
    return jmespath.search(expression, doc)
