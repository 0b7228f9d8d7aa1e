"""What each service account of the platform may do, as the API server answers, and as README says.

The API server's own answer is a SelfSubjectRulesReview made as the account (impersonation): the
rules that apply to it in one namespace. What every authenticated account may do (discover the API,
review its own access) is left out, so "nothing" means nothing beyond that. A rule limited to named
objects is written `resource (named)`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from devkit import kube

#: Account -> namespace -> "resource": sorted verbs.
Rights = dict[str, dict[str, dict[str, list[str]]]]

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Service accounts"


def rules(account: str, namespace: str) -> dict[str, set[str]]:
    """resource -> verbs that `account` ("namespace:name") may use in `namespace`."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    out = kube.kubectl(
        "create",
        "--validate=false",
        "-o",
        "json",
        "-f",
        "-",
        f"--as=system:serviceaccount:{account}",
        input=json.dumps(review),
    )
    granted: dict[str, set[str]] = {}
    for rule in json.loads(out)["status"].get("resourceRules", []):
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources", []):
                key = f"{resource}.{group}" if group else resource
                key += " (named)" if rule.get("resourceNames") else ""
                granted.setdefault(key, set()).update(rule["verbs"])
    return granted


def observed(namespaces: tuple[str, ...]) -> Rights:
    """Every service account of `namespaces`, with its rights in each of them."""
    accounts = [
        f"{ns}:{name}"
        for ns in namespaces
        for name in kube.kubectl("get", "serviceaccounts", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}").split()
    ]
    baseline = {ns: rules(f"{namespaces[0]}:default", ns) for ns in namespaces}
    rights: Rights = {}
    for account in accounts:
        rights[account] = {}
        for ns in namespaces:
            extra = {}
            for resource, verbs in rules(account, ns).items():
                beyond = verbs - baseline[ns].get(resource, set())
                if beyond:
                    extra[resource] = sorted(beyond)
            rights[account][ns] = dict(sorted(extra.items()))
    return rights


def cell(rights: dict[str, list[str]]) -> str:
    return "; ".join(f"`{r}`: {' '.join(v)}" for r, v in rights.items()) or "nothing"


def parse_cell(text: str) -> dict[str, list[str]]:
    if text.strip() == "nothing":
        return {}
    out = {}
    for part in text.split("; "):
        match = re.fullmatch(r"`([^`]+)`: ([a-z* ]+)", part.strip())
        assert match, f"README: cannot read {part!r}"
        out[match.group(1)] = match.group(2).split()
    return out


def documented(namespaces: tuple[str, ...]) -> Rights:
    """The table of README's "Service accounts" section."""
    text = README.read_text()
    body = text[text.index(SECTION) :].split("\n## ", 1)[0]
    rights: Rights = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(namespaces) or not cells[0].startswith("`"):
            continue
        account = f"{cells[1].strip('`')}:{cells[0].strip('`')}"
        rights[account] = {ns: parse_cell(c) for ns, c in zip(namespaces, cells[2:], strict=True)}
    return rights


def table(rights: Rights, namespaces: tuple[str, ...]) -> str:
    """README's table, for a reviewed update of the section."""
    head = "| account | its namespace | " + " | ".join(f"may in `{ns}`" for ns in namespaces) + " |"
    lines = [head, "|" + "---|" * (2 + len(namespaces))]
    for account, per_ns in sorted(rights.items(), key=lambda kv: (kv[0].split(":")[0], kv[0])):
        ns, name = account.split(":")
        lines.append(f"| `{name}` | `{ns}` | " + " | ".join(cell(per_ns[n]) for n in namespaces) + " |")
    return "\n".join(lines)
