#!/usr/bin/env bash
# make e2e: the whole platform on kind, then the end-to-end suite against it.
#   1. hack/up.sh: the cluster, every image built and loaded, the chart dependencies (the official
#      Airflow chart from $AIRFLOW_CHART), `helm upgrade --install`, a wait with progress until
#      every workload is Ready and every set-up Job has finished;
#   2. pytest on $E2E (default tests/e2e) with $PYTEST_ARGS; the session ends with a summary
#      (scenario, result, duration) printed and saved to reports/e2e-summary.md.
# SKIP_UP=1 skips step 1 for fast iteration on a platform that is already up.
source "$(dirname "$0")/lib.sh"
start=$SECONDS
E2E=${E2E:-tests/e2e}

if [[ ${SKIP_UP:-0} == 1 ]]; then
  phase "platform: as it is (SKIP_UP=1)"
  kubectl --context "kind-${AIRYARD_CLUSTER:-airyard}" get nodes >/dev/null 2>&1 || die "no kind cluster: run make e2e without SKIP_UP"
else
  # Every image (IMAGES would limit the build, and then the suite would test stale images).
  IMAGES="" "$ROOT/hack/up.sh"
fi

# The movie dashboard's test renders the page in a headless browser, as a user's would.
apt_install chromium
phase "e2e tests: pytest $E2E ${PYTEST_ARGS:-}"
rc=0
# shellcheck disable=SC2086  # E2E and PYTEST_ARGS are word lists
"$ROOT/.venv/bin/pytest" -v $E2E ${PYTEST_ARGS:-} || rc=$?
phase "make e2e: $( ((rc == 0)) && echo passed || echo "FAILED (pytest exit $rc)") in $((SECONDS - start)) s"
exit "$rc"
