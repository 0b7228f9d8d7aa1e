"""JSON schemas for the subset of Argo CD and Flux objects airyard writes.

Written here from the projects' API references (Argo CD v1alpha1 Application/AppProject, Flux
source.toolkit.fluxcd.io/v1 and helm.toolkit.fluxcd.io/v2); no upstream CRD file is copied. Every
object is closed (`additionalProperties: false`), so a misspelt field fails instead of being
silently ignored by the controller.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def obj(required: list[str], **props: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


STR: Schema = {"type": "string", "minLength": 1}
BOOL: Schema = {"type": "boolean"}
DURATION: Schema = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"}
STR_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
ANY_OBJECT: Schema = {"type": "object"}
SEMVER: Schema = {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"}


def metadata(namespaced: bool = True) -> Schema:
    required = ["name", "namespace"] if namespaced else ["name"]
    return obj(
        required,
        name=STR,
        namespace=STR,
        labels=STR_MAP,
        annotations=STR_MAP,
        finalizers={"type": "array", "items": STR},
    )


def kind(api_version: str, name: str, spec: Schema, required: tuple[str, ...] = ("spec",)) -> Schema:
    return obj(
        ["apiVersion", "kind", "metadata", *required],
        apiVersion={"const": api_version},
        kind={"const": name},
        metadata=metadata(),
        spec=spec,
    )


DESTINATION = obj(["namespace"], server=STR, name=STR, namespace=STR)
SYNC_OPTIONS = {
    "type": "array",
    "items": {
        "enum": [
            "CreateNamespace=true",
            "ServerSideApply=true",
            "SkipDryRunOnMissingResource=true",
            "RespectIgnoreDifferences=true",
            "PruneLast=true",
        ]
    },
}
SOURCE = {
    **obj(
        ["repoURL", "targetRevision"],
        repoURL=STR,
        targetRevision=STR,
        path=STR,
        # A source that only names a revision of a repository for the others' value files ($values).
        ref=STR,
        helm=obj(
            ["releaseName"],
            releaseName=STR,
            valuesObject=ANY_OBJECT,
            valueFiles={"type": "array", "items": STR},
        ),
        directory=obj([], recurse=BOOL),
    ),
    "oneOf": [{"required": ["path"]}, {"required": ["ref"]}],
}
APPLICATION = kind(
    "argoproj.io/v1alpha1",
    "Application",
    obj(
        ["project", "destination"],
        project=STR,
        source=SOURCE,
        sources={"type": "array", "minItems": 1, "items": SOURCE},
        destination=DESTINATION,
        syncPolicy=obj(
            [],
            automated=obj([], prune=BOOL, selfHeal=BOOL),
            syncOptions=SYNC_OPTIONS,
            retry=obj(
                ["limit"],
                limit={"type": "integer", "minimum": 0},
                backoff=obj([], duration=DURATION, factor={"type": "integer"}, maxDuration=DURATION),
            ),
        ),
        ignoreDifferences={
            "type": "array",
            "items": obj(
                ["kind"],
                group={"type": "string"},
                kind=STR,
                name=STR,
                jsonPointers={"type": "array", "items": {"type": "string", "pattern": "^/"}},
                jqPathExpressions={"type": "array", "items": {"type": "string", "pattern": r"^\."}},
            ),
        },
    ),
)
# One chart source, or a chart source and the source that names its values file's revision.
APPLICATION["properties"]["spec"]["oneOf"] = [{"required": ["source"]}, {"required": ["sources"]}]
GROUP_KIND = {"type": "array", "items": obj(["group", "kind"], group={"type": "string"}, kind=STR)}
APP_PROJECT = kind(
    "argoproj.io/v1alpha1",
    "AppProject",
    obj(
        ["sourceRepos", "destinations"],
        description=STR,
        sourceRepos={"type": "array", "items": STR, "minItems": 1},
        destinations={"type": "array", "items": DESTINATION, "minItems": 1},
        clusterResourceWhitelist=GROUP_KIND,
        namespaceResourceWhitelist=GROUP_KIND,
    ),
)
GIT_REPOSITORY = kind(
    "source.toolkit.fluxcd.io/v1",
    "GitRepository",
    obj(
        ["interval", "url", "ref"],
        interval=DURATION,
        url={"type": "string", "pattern": "^(https?|ssh)://"},
        # Pinned: a tag, a semver range or a commit, never a moving branch.
        ref=obj([], tag=STR, semver=STR, commit={"type": "string", "pattern": "^[0-9a-f]{40}$"}),
        ignore={"type": "string"},
        secretRef=obj(["name"], name=STR),
    ),
)
HELM_REPOSITORY = kind(
    "source.toolkit.fluxcd.io/v1",
    "HelmRepository",
    obj(["interval", "url"], interval=DURATION, url={"type": "string", "pattern": "^https://"}),
)
REMEDIATION = obj([], retries={"type": "integer"}, remediateLastFailure=BOOL)
HELM_RELEASE = kind(
    "helm.toolkit.fluxcd.io/v2",
    "HelmRelease",
    obj(
        ["interval", "chart", "releaseName"],
        interval=DURATION,
        releaseName=STR,
        targetNamespace=STR,
        storageNamespace=STR,
        chart=obj(
            ["spec"],
            spec=obj(
                ["chart", "version", "sourceRef"],
                chart=STR,
                version=SEMVER,
                sourceRef=obj(["kind", "name"], kind={"enum": ["GitRepository", "HelmRepository", "Bucket"]}, name=STR),
                reconcileStrategy={"enum": ["ChartVersion", "Revision"]},
                valuesFiles={"type": "array", "items": STR},
            ),
        ),
        install=obj([], timeout=DURATION, remediation=REMEDIATION, createNamespace=BOOL, disableWait=BOOL),
        upgrade=obj(
            [],
            timeout=DURATION,
            remediation=REMEDIATION,
            disableWait=BOOL,
            # Flux 2.7: RetryOnFailure retries a failed upgrade without any remediation.
            strategy=obj(["name"], name={"enum": ["RemediateOnFailure", "RetryOnFailure"]}, retryInterval=DURATION),
        ),
        driftDetection=obj(
            ["mode"],
            mode={"enum": ["enabled", "warn", "disabled"]},
            ignore={
                "type": "array",
                "items": obj(
                    ["paths"],
                    paths={"type": "array", "items": {"type": "string", "pattern": "^/"}},
                    target=obj([], group={"type": "string"}, kind=STR, name=STR),
                ),
            },
        ),
        dependsOn={"type": "array", "items": obj(["name"], name=STR, namespace=STR)},
        values=ANY_OBJECT,
    ),
)
KUSTOMIZATION = obj(
    ["apiVersion", "kind", "resources"],
    apiVersion={"const": "kustomize.config.k8s.io/v1beta1"},
    kind={"const": "Kustomization"},
    resources={"type": "array", "items": STR},
)

BY_KIND: dict[tuple[str, str], Schema] = {
    ("argoproj.io/v1alpha1", "Application"): APPLICATION,
    ("argoproj.io/v1alpha1", "AppProject"): APP_PROJECT,
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): GIT_REPOSITORY,
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"): HELM_REPOSITORY,
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): HELM_RELEASE,
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): KUSTOMIZATION,
}
