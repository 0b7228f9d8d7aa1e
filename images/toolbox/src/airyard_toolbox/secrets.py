"""Create a chart's generated Secrets once, and never change them afterwards.

Charts cannot generate credentials themselves without breaking GitOps: a random value in a
template changes on every render, so every Argo CD or Flux sync would roll every password. The
charts therefore render a Job that runs this module. It creates each Secret that does not exist
yet and leaves existing ones untouched, so `helm upgrade`, re-syncs and re-runs are no-ops.

A spec (JSON, from the chart) lists the Secrets to ensure:

    {"secrets": [{"name": "pg-auth",
                  "generate": {"password": 32},
                  "template": {"uri": "postgresql://app:{password}@pg:5432/app"},
                  "from": {"superuser-password": "pg-admin/password"}}]}

`generate` makes random values of the given length (or a Fernet key, for "fernet"); `from`
copies a key of another Secret (created earlier in the list or by the user); `inputs` reads keys
the same way for the templates only, without writing them; `copy` names a Secret
whose every key is copied; `values` are plain;
`template` formats a value from the keys so far (each also URL-quoted as `<key>_q`); `json`
renders a JSON document whose string leaves are such templates (Airflow connections).

A Secret with generated keys is created once and then never touched. A Secret made only of
derived values (`from`, `inputs`, `copy`, `values`, `template`, `json`: connection Secrets) is re-derived on
every run and replaced when it differs, so a changed spec (a new connection) reaches it.

Secrets are read from and written to --namespace; a secret's `namespace` writes it elsewhere (the
tasks namespace gets copies of the few Secrets task code may hold). In the namespaces listed in
`prune`, Secrets carrying the spec's labels that the spec no longer names are deleted: an upgrade
that stops giving task code a credential takes it away, instead of leaving it behind.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import string
import sys
from typing import Any
from urllib.parse import quote

from airyard_toolbox.kubeapi import ApiError, KubeApi

ALPHABET = string.ascii_letters + string.digits


def generate(kind: int | str) -> str:
    """A random value of letters and digits (safe in URLs, shells and config files), or a Fernet key."""
    if kind == "fernet":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    length = int(kind)
    if length < 16:
        raise ValueError(f"generated values must be at least 16 characters, not {length}")
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def build_data(spec: dict[str, Any], read_key: Any, read_all: Any = None) -> dict[str, str]:
    """The string data of one Secret. `read_key(secret, key)` reads another Secret's key,
    `read_all(secret)` all of its keys."""
    data: dict[str, str] = dict(read_all(spec["copy"])) if "copy" in spec else {}
    for key, kind in spec.get("generate", {}).items():
        data[key] = generate(kind)
    for key, ref in spec.get("from", {}).items():
        secret_name, _, other_key = ref.partition("/")
        data[key] = read_key(secret_name, other_key)
    # A connection Secret holds its AIRFLOW_CONN_ documents and nothing else: pods take it whole.
    inputs = {key: read_key(*ref.partition("/")[::2]) for key, ref in spec.get("inputs", {}).items()}
    values = {**spec.get("values", {}), **inputs, **data}
    # Templates see every value URL-quoted as "<key>_q" too, for connection URIs.
    quoted = {f"{k}_q": quote(v, safe="") for k, v in values.items()}
    for key, template in spec.get("template", {}).items():
        data[key] = template.format(**values, **quoted)
    for key, document in spec.get("json", {}).items():
        data[key] = json.dumps(_format_leaves(document, {**values, **quoted}), sort_keys=True)
    data.update(spec.get("values", {}))
    return data


def _format_leaves(document: Any, values: dict[str, str]) -> Any:
    if isinstance(document, str):
        return document.format(**values)
    if isinstance(document, dict):
        return {k: _format_leaves(v, values) for k, v in document.items()}
    if isinstance(document, list):
        return [_format_leaves(v, values) for v in document]
    return document


class SecretStore:
    def __init__(self, api: KubeApi, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self.path = f"/api/v1/namespaces/{namespace}/secrets"

    def elsewhere(self, namespace: str) -> SecretStore:
        return SecretStore(self.api, namespace)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.api.request("GET", f"{self.path}/{name}")
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def read_all(self, name: str) -> dict[str, str]:
        secret = self.get(name)
        if secret is None:
            raise SystemExit(f"Secret {self.namespace}/{name} does not exist")
        return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}

    def read_key(self, name: str, key: str) -> str:
        secret = self.get(name)
        if secret is None or key not in secret.get("data", {}):
            raise SystemExit(f"Secret {self.namespace}/{name} has no key {key!r}")
        return base64.b64decode(secret["data"][key]).decode()

    def replace(self, name: str, data: dict[str, str], labels: dict[str, str]) -> bool:
        """Replace the Secret's data; False when it already holds exactly this data."""
        current = self.get(name) or {}
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        if current.get("data") == encoded:
            return False
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": labels, "resourceVersion": current["metadata"]["resourceVersion"]},
            "type": "Opaque",
            "data": encoded,
        }
        self.api.request("PUT", f"{self.path}/{name}", body)
        return True

    def names(self, labels: dict[str, str]) -> list[str]:
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        found = self.api.request("GET", f"{self.path}?labelSelector={quote(selector, safe='=,')}")
        return [item["metadata"]["name"] for item in found.get("items", [])]

    def delete(self, name: str) -> None:
        try:
            self.api.request("DELETE", f"{self.path}/{name}")
        except ApiError as err:
            if err.status != 404:
                raise

    def create(self, name: str, data: dict[str, str], labels: dict[str, str]) -> bool:
        """Create the Secret; False when it already exists (another run won the race)."""
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": labels},
            "type": "Opaque",
            "stringData": data,
        }
        try:
            self.api.request("POST", self.path, body)
        except ApiError as err:
            if err.status == 409:
                return False
            raise
        return True


def ensure(store: SecretStore, spec: dict[str, Any]) -> list[str]:
    """Create the missing Secrets of a spec; returns the names created."""
    created = []
    labels = spec.get("labels", {})
    for secret in spec["secrets"]:
        target = store.elsewhere(secret["namespace"]) if secret.get("namespace") else store
        name, secret_labels = secret["name"], {**labels, **secret.get("labels", {})}
        where = f"{target.namespace}/{name}"
        exists = target.get(name) is not None
        if exists and "generate" in secret:
            print(f"secret {where}: exists, kept")
            continue
        data = build_data(secret, store.read_key, store.read_all)
        if exists:
            print(f"secret {where}: {'updated' if target.replace(name, data, secret_labels) else 'up to date'}")
        elif target.create(name, data, secret_labels):
            created.append(name if target is store else where)
            print(f"secret {where}: created ({', '.join(sorted(data))})")
    return created


def prune(store: SecretStore, spec: dict[str, Any]) -> list[str]:
    """Delete the Secrets with the spec's labels, in its `prune` namespaces, that it no longer names."""
    pruned = []
    for namespace in spec.get("prune", []):
        target = store.elsewhere(namespace)
        kept = {s["name"] for s in spec["secrets"] if s.get("namespace", store.namespace) == namespace}
        for name in sorted(set(target.names(spec.get("labels", {}))) - kept):
            target.delete(name)
            pruned.append(f"{namespace}/{name}")
            print(f"secret {namespace}/{name}: no longer in the spec, deleted")
    return pruned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--spec", required=True, help="the spec, as JSON")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)
    store = SecretStore(KubeApi.in_cluster(), args.namespace)
    ensure(store, spec)
    prune(store, spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
