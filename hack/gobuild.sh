# shellcheck shell=bash
# go_build OUT MODULE VERSION PACKAGE [LDFLAGS]: build PACKAGE of MODULE@VERSION into OUT.
#
# `go install pkg@version` refuses modules whose go.mod has replace/exclude lines (golang/go#44840),
# so every tool is built from a throw-away wrapper module that requires it and repeats those
# directives (versioned ones only; a local-path replace cannot apply outside the module's own tree).
# The wrapper lives in the cache, so a rebuild of the same version reuses modules and build cache.
# GO_REQUIRE="module@version ..." raises dependencies of the tool (e.g. past reported flaws).
go_build() {
  local out=$1 mod=$2 ver=$3 pkg=$4 ldflags=${5:-}
  local dir=$CACHE/gomod/$(basename "$out")-$ver
  have go || die "go is required to build $mod (install Go ≥ 1.24 or put the tool on PATH)"
  mkdir -p "$dir"
  (
    cd "$dir"
    if [[ ! -f go.mod ]]; then
      go mod init "airyard.local/wrap/$(basename "$out")" >/dev/null 2>&1
      go mod edit -require="$mod@$ver"
      go mod download "$mod@$ver"
      local upstream
      upstream=$(go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
      # Keep the upstream go directive so language-version-dependent semantics match.
      go mod edit -go="$(go mod edit -json "$upstream" | sed -n 's/^[[:space:]]*"Go": "\(.*\)",*$/\1/p')"
      go mod edit -json "$upstream" | python3 -c '
import json, sys
m = json.load(sys.stdin)
for r in m.get("Replace") or []:
    new = r["New"]
    if new.get("Version"):
        old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
        print("-replace=%s=%s@%s" % (old, new["Path"], new["Version"]))
for e in m.get("Exclude") or []:
    print("-exclude=%s@%s" % (e["Path"], e["Version"]))
' | xargs -r go mod edit
    fi
    local r; for r in ${GO_REQUIRE:-}; do go mod edit -require="$r"; done
    CGO_ENABLED=${CGO_ENABLED:-0} GOFLAGS=-mod=mod go build -trimpath -p "$(nproc)" \
      -ldflags "-s -w $ldflags" -o "$out" "$pkg"
  )
}

# k8s_build OUTDIR TARGET...: build k8s.io/kubernetes/cmd/<TARGET> at $KUBERNETES_VERSION.
# k8s.io/kubernetes replaces each staging module with ./staging/…; those are published as
# k8s.io/<x> v0.<minor>.<patch>, so the wrapper's replace list is derived from the upstream go.mod.
k8s_build() {
  local outdir=$1; shift
  local dir=$CACHE/gomod/kubernetes-$KUBERNETES_VERSION v=${KUBERNETES_VERSION#v}
  have go || die "go is required to build Kubernetes $KUBERNETES_VERSION"
  mkdir -p "$dir" "$outdir"
  (
    cd "$dir"
    if [[ ! -f go.mod ]]; then
      go mod init airyard.local/wrap/kubernetes >/dev/null 2>&1
      go mod edit -go=1.25.0 -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
      go mod download "k8s.io/kubernetes@$KUBERNETES_VERSION"
      local gomod m
      gomod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod
      for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod"); do
        go mod edit -replace="$m=$m@v0.${v#1.}"
      done
    fi
    # Version ldflags are mandatory: kubeadm derives skew limits from them and /version feeds
    # Helm's .Capabilities.KubeVersion.
    local major=${v%%.*} rest=${v#*.} ld="" pkg pkgs=() t
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=${rest%%.*}"
      ld+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.gitTreeState=clean"
      ld+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    for t in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$t"); done
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -p "$(nproc)" -ldflags "-s -w$ld" \
      -o "$outdir/" "${pkgs[@]}"
  )
}
