#!/usr/bin/env bash
# make backup, make backups, make restore BACKUP=<id>: the backup chart's CronJob pod, run as a Job
# with other arguments (images/toolbox/src/airyard_toolbox/backup.py); its output is printed.
#   hack/backup.sh create [REASON] | list | verify ID | restore ID
# README ("Backup and restore") gives the same as kubectl commands for clusters without this checkout.
source "$(dirname "$0")/lib.sh"
NAMESPACE=${AIRYARD_NAMESPACE:-airyard}
RELEASE=${AIRYARD_RELEASE:-airyard}
CRONJOB=$RELEASE-backup
command=${1:?usage: hack/backup.sh create [REASON] | list | verify ID | restore ID}
case $command in
  create) args=(create --reason "${2:-manual}") ;;
  list) args=(list) ;;
  verify | restore) [[ -n ${2:-} ]] || die "$command needs a backup id (make backups lists them)"; args=("$command" "$2") ;;
  *) die "unknown command $command" ;;
esac
kubectl -n "$NAMESPACE" get cronjob "$CRONJOB" >/dev/null 2>&1 ||
  die "no CronJob $CRONJOB in namespace $NAMESPACE: is the backup chart on (backup.enabled)?"

job=$CRONJOB-$command-$(date -u +%Y%m%d%H%M%S)
phase "$command: Job $job (namespace $NAMESPACE)"
kubectl -n "$NAMESPACE" create job "$job" --from="cronjob/$CRONJOB" --dry-run=client -o json |
  ARGS=$(printf '%s\n' "${args[@]}") python3 -c '
import json, os, sys
job = json.load(sys.stdin)
job["spec"]["template"]["spec"]["containers"][0]["args"] = os.environ["ARGS"].splitlines()
json.dump(job, sys.stdout)' |
  kubectl -n "$NAMESPACE" apply -f - >/dev/null
state=""
while [[ -z $state ]]; do
  sleep 3
  state=$(kubectl -n "$NAMESPACE" get job "$job" \
    -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{end}' | grep -oE 'Complete|Failed' || true)
done
log=$(kubectl -n "$NAMESPACE" logs "job/$job" 2>&1 || true)
printf '%s\n' "$log" | grep -E '^(RESULT|ERROR) ' >&2 || printf '%s\n' "$log" | tail -20 >&2
[[ $state == Complete ]] || die "$command failed (kubectl -n $NAMESPACE logs job/$job)"
if [[ $command == list ]]; then
  printf '%s\n' "$log" | sed -n 's/^RESULT //p' | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(len(rows), "backup(s)")
for r in rows:
    size = "%9.1f MB" % (r["bytes"] / 1e6) if r["complete"] else "  incomplete"
    print("  %-48s %s  airflow schema %s" % (r["id"], size, r.get("airflow_schema") or "-"))'
fi
if [[ $command == restore ]]; then
  # The databases were swapped under them: Airflow's components and MLflow start again on the
  # restored state rather than keep what they had cached.
  phase "restarting Airflow and MLflow on the restored databases"
  kubectl -n "$NAMESPACE" rollout restart deployment -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/name=mlflow" >/dev/null 2>&1 || true
  restart_airflow "$NAMESPACE" "$RELEASE"
  info "restored $2"
fi
