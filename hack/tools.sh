#!/usr/bin/env bash
# make tools: pinned kind, helm, kubectl, skaffold and kubeconform in .bin/, and our own
# psa-check (hack/psa-check/, the Pod Security checker of the chart tests).
# A tool already on PATH with the pinned version is linked; otherwise it is built from the
# Go module proxy (see hack/gobuild.sh). Idempotent: a second run only checks versions.
source "$(dirname "$0")/lib.sh"
source "$ROOT/hack/gobuild.sh"

# name | version check (stdout must contain the pinned version) | build
tool_version() {
  case $1 in
    kind) kind version 2>/dev/null ;;
    helm) helm version --template '{{.Version}}' 2>/dev/null ;;
    kubectl) kubectl version --client 2>/dev/null ;;
    skaffold) skaffold version 2>/dev/null ;;
    kubeconform) kubeconform -v 2>/dev/null ;;
    psa-check) psa-check -v 2>/dev/null ;;
  esac
}
pinned() {
  case $1 in
    kind) echo "$KIND_VERSION" ;; helm) echo "$HELM_VERSION" ;; kubectl) echo "$KUBERNETES_VERSION" ;;
    skaffold) echo "$SKAFFOLD_VERSION" ;; kubeconform) echo "$KUBECONFORM_VERSION" ;;
    psa-check) psa_check_version ;;
  esac
}
# Our own tool is versioned by its sources (its go.mod pins the Kubernetes modules): an edit rebuilds it.
psa_check_version() {
  cat "$ROOT"/hack/psa-check/go.{mod,sum} "$ROOT"/hack/psa-check/*.go | sha256sum | cut -c1-12
}
build_tool() {
  local out=$BIN/$1
  case $1 in
    kind) go_build "$out" sigs.k8s.io/kind "$KIND_VERSION" sigs.k8s.io/kind ;;
    helm) go_build "$out" helm.sh/helm/v4 "$HELM_VERSION" helm.sh/helm/v4/cmd/helm \
            "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" ;;
    kubeconform) go_build "$out" github.com/yannh/kubeconform "$KUBECONFORM_VERSION" \
            github.com/yannh/kubeconform/cmd/kubeconform "-X main.version=$KUBECONFORM_VERSION" ;;
    skaffold) go_build "$out" github.com/GoogleContainerTools/skaffold/v2 "$SKAFFOLD_VERSION" \
            github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold \
            "-X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$SKAFFOLD_VERSION" ;;
    kubectl) k8s_build "$BIN" kubectl ;;
    # A module of this repository: its go.sum pins every dependency (-mod=readonly).
    psa-check) have go || die "go is required to build psa-check (install Go ≥ 1.25)"
               (cd "$ROOT/hack/psa-check" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath \
                 -ldflags "-s -w -X main.version=$(psa_check_version)" -o "$out" .) ;;
  esac
}

phase "tools (into $BIN)"
for t in ${TOOLS:-kind helm kubectl kubeconform skaffold psa-check}; do
  want=$(pinned "$t")
  # Only .bin counts here (it is first on PATH): a match elsewhere on PATH is linked below, so
  # .bin always holds every tool. Capture first: `grep -q` would fail the pipeline under pipefail.
  if [[ -e $BIN/$t && $(tool_version "$t") == *"$want"* ]]; then
    info "$t $want"; continue
  fi
  rm -f "$BIN/$t"
  # PATH without .bin: is a matching tool installed system-wide?
  if other=$(PATH=${PATH#"$BIN:"} command -v "$t") && [[ $(PATH=${PATH#"$BIN:"} tool_version "$t") == *"$want"* ]]; then
    ln -sf "$other" "$BIN/$t"; info "$t $want (from $other)"; continue
  fi
  if [[ $t == kubectl && -x $CACHE/kubernetes/$KUBERNETES_VERSION/bin/kubectl ]]; then
    cp "$CACHE/kubernetes/$KUBERNETES_VERSION/bin/kubectl" "$BIN/kubectl"
  else
    run_logged "tool-$t-$want" build_tool "$t"
  fi
  [[ $(tool_version "$t") == *"$want"* ]] || die "$t built but does not report $want: $(tool_version "$t")"
  info "$t $want"
done
