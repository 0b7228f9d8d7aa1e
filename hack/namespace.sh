#!/usr/bin/env bash
# The platform's namespace, with its Pod Security Admission labels, before anything is installed
# into it (helm's --create-namespace and skaffold's createNamespace make it without labels).
#   hack/namespace.sh LEVEL   LEVEL: restricted (hack/up.sh, skaffold run), or privileged for the
#                             dev loop, whose pods mount dags/ and plugins/ from the node (hostPath)
# Enforced, warned and audited at LEVEL, policy version latest. Idempotent: an existing namespace
# is relabelled, so `make up` after `make dev` restores "restricted".
source "$(dirname "$0")/lib.sh"
LEVEL=${1:?usage: hack/namespace.sh privileged|baseline|restricted}
# skaffold gives its hooks the namespaces of the deploy, sorted: the release's own (airyard, in
# skaffold.yaml) and, with `-n`, the one that overrides it.
NAMESPACE=${AIRYARD_NAMESPACE:-airyard}
IFS=, read -ra listed <<<"${SKAFFOLD_NAMESPACES:-}"
for ns in "${listed[@]}"; do [[ $ns == airyard ]] || NAMESPACE=$ns; done
CONTEXT=${SKAFFOLD_KUBE_CONTEXT:+--context=$SKAFFOLD_KUBE_CONTEXT}

labels=()
for mode in enforce warn audit; do
  labels+=("pod-security.kubernetes.io/$mode=$LEVEL" "pod-security.kubernetes.io/$mode-version=latest")
done
info "namespace $NAMESPACE: Pod Security $LEVEL"
# shellcheck disable=SC2086  # CONTEXT is empty or one argument
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml \
  | kubectl label --local -f - -o yaml --overwrite "${labels[@]}" \
  | kubectl $CONTEXT apply --server-side --field-manager=airyard-namespace -f - >/dev/null
