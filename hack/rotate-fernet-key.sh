#!/usr/bin/env bash
# make rotate-fernet-key: a new Fernet key for the connections and variables in the metadata
# database, as Airflow documents it (`airflow rotate-fernet-key`):
#   1. the Secret holds "new,old": Airflow encrypts with the first key and decrypts with either;
#   2. the components restart on it, then `airflow rotate-fernet-key` re-encrypts every value;
#   3. the Secret holds only the new key and the components restart again: the old key is gone.
# GitOps-safe: the Secret is created once by airflow-bootstrap's secrets Job, which never changes
# an existing Secret, and no chart renders it. Backups taken before hold values encrypted with the
# old key, so a backup is taken right after.
source "$(dirname "$0")/lib.sh"
NAMESPACE=${AIRYARD_NAMESPACE:-airyard}
RELEASE=${AIRYARD_RELEASE:-airyard}
SECRET=airyard-airflow-fernet-key

set_key() {
  kubectl -n "$NAMESPACE" patch secret "$SECRET" --type merge \
    -p "{\"data\":{\"fernet-key\":\"$(printf '%s' "$1" | base64 -w0)\"}}" >/dev/null
}

old=$(kubectl -n "$NAMESPACE" get secret "$SECRET" -o jsonpath='{.data.fernet-key}' | base64 -d) ||
  die "no Secret $SECRET in namespace $NAMESPACE (make up)"
[[ $old != *,* ]] || die "$SECRET holds several keys: a rotation did not finish. Run 'airflow rotate-fernet-key' in the scheduler, then set the first key alone."
new=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')

phase "1/3 Fernet key: new,old"
set_key "$new,$old"
restart_airflow "$NAMESPACE" "$RELEASE"
phase "2/3 airflow rotate-fernet-key"
kubectl -n "$NAMESPACE" exec "deployment/$RELEASE-scheduler" -c scheduler -- airflow rotate-fernet-key >&2
phase "3/3 Fernet key: new only"
set_key "$new"
restart_airflow "$NAMESPACE" "$RELEASE"
info "rotated: connections and variables are encrypted with the new key; the old one is gone"
if kubectl -n "$NAMESPACE" get cronjob "$RELEASE-backup" >/dev/null 2>&1; then
  "$ROOT/hack/backup.sh" create fernet-rotation
fi
