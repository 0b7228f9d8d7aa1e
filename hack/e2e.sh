#!/usr/bin/env bash
# make e2e: the whole platform on kind, then the end-to-end suite against it.
#   1. hack/up.sh: the cluster, every image built and loaded, the chart dependencies (the official
#      Airflow chart from $AIRFLOW_CHART), `helm upgrade --install`, a wait with progress until
#      every workload is Ready and every set-up Job has finished;
#   2. pytest on $E2E (default tests/e2e) with $PYTEST_ARGS; the session ends with a summary
#      (scenario, result, duration) printed and saved to reports/e2e-summary.md.
#      E2E_PARALLEL=1 runs two sessions side by side instead: the modules on the installed
#      platform (mark shared_platform), which use it one at a time, and the modules that install
#      into namespaces of their own (output in reports/e2e-own.log); their summaries are merged.
#      Not the default: beside the platform's pipelines, their installs exhaust a 2-core node's
#      CPU requests, and pods of both wait unscheduled.
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
if [[ ${E2E_PARALLEL:-0} != 1 ]]; then
  phase "e2e tests: pytest $E2E ${PYTEST_ARGS:-}"
  rc=0
  # shellcheck disable=SC2086  # E2E and PYTEST_ARGS are word lists
  "$ROOT/.venv/bin/pytest" -v $E2E ${PYTEST_ARGS:-} || rc=$?
  phase "make e2e: $( ((rc == 0)) && echo passed || echo "FAILED (pytest exit $rc)") in $((SECONDS - start)) s"
  exit "$rc"
fi

phase "e2e tests: pytest $E2E ${PYTEST_ARGS:-} (the shared platform's modules here, the others side by side)"
mkdir -p "$ROOT/reports"
rm -f "$ROOT"/reports/e2e-summary-{shared,own}.md
# shellcheck disable=SC2086  # E2E and PYTEST_ARGS are word lists
E2E_SUMMARY=reports/e2e-summary-own.md "$ROOT/.venv/bin/pytest" -v $E2E -m "not shared_platform" ${PYTEST_ARGS:-} \
  >"$ROOT/reports/e2e-own.log" 2>&1 &
own=$!
trap 'kill "$own" 2>/dev/null' EXIT
info "modules in namespaces of their own: pid $own, log reports/e2e-own.log"
rc=0
# shellcheck disable=SC2086
E2E_SUMMARY=reports/e2e-summary-shared.md "$ROOT/.venv/bin/pytest" -v $E2E -m shared_platform ${PYTEST_ARGS:-} || rc=$?
own_rc=0
wait "$own" || own_rc=$?
trap - EXIT
phase "modules in namespaces of their own (reports/e2e-own.log)"
sed -n '/e2e summary:/,$p' "$ROOT/reports/e2e-own.log" >&2
# 5: the session's selection held no test (E2E named modules of one kind only).
((rc == 5)) && rc=0
((own_rc == 5)) && own_rc=0
((rc == 0)) && rc=$own_rc
verdict="$( ((rc == 0)) && echo passed || echo "FAILED (pytest exit $rc)") in $((SECONDS - start)) s"
{
  printf '# e2e summary\n\nmake e2e %s (%s): two pytest sessions side by side.\n\n' "$verdict" "$(date -u '+%Y-%m-%d %H:%M UTC')"
  for part in shared own; do
    [[ -f $ROOT/reports/e2e-summary-$part.md ]] && tail -n +3 "$ROOT/reports/e2e-summary-$part.md" && echo
  done
} >"$ROOT/reports/e2e-summary.md"
phase "make e2e: $verdict (summary: reports/e2e-summary.md)"
exit "$rc"
