"""Turn CustomResourceDefinition YAMLs into strict JSON schemas, one file per kind and version.

The API server prunes unknown fields of a structural schema silently; our chart tests want a typo
to fail instead, so every object schema that neither declares `additionalProperties` nor preserves
unknown fields gets `additionalProperties: false` (what kubeconform's strict mode does).
Usage: crd2jsonschema.py OUT_DIR CRD.yaml...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

OBJECT_META = {"type": "object"}


def strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    # Go's regexp takes a flag group after the anchor; Python's only at the very start.
    if isinstance(out.get("pattern"), str) and out["pattern"].startswith("^(?i)"):
        out["pattern"] = "(?i)^" + out["pattern"][5:]
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def convert(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    schemas = {}
    for version in crd["spec"]["versions"]:
        schema = strict(version["schema"]["openAPIV3Schema"])
        # apiVersion and kind are fixed for the file; metadata is validated by the API server.
        schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
        schema["properties"]["metadata"] = OBJECT_META
        schema["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", [])})
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        schema["description"] = f"{kind} {group}/{version['name']}, from its CRD (generate.sh)"
        schemas[f"{kind.lower()}_{version['name']}.json"] = schema
    return schemas


def main(out_dir: str, *crd_files: str) -> None:
    for crd_file in crd_files:
        for crd in yaml.safe_load_all(Path(crd_file).read_text()):
            for name, schema in convert(crd).items():
                Path(out_dir, name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(f"{out_dir}/{name}")


if __name__ == "__main__":
    main(*sys.argv[1:])
