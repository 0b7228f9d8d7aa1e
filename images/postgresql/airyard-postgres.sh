#!/bin/sh
# Start PostgreSQL on $PGDATA: initdb on the first start, then the server. Arguments go to
# postgres (the chart passes -c config_file=…).
#
# The superuser password comes from $POSTGRES_PASSWORD (a Secret) and is set again at every start
# in single-user mode, so the Secret stays the source of truth: a rotated auth.existingSecret, or a
# regenerated Secret over a kept volume, takes effect on the next restart.
set -eu
: "${PGDATA:?}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (the chart reads it from the <fullname>-auth Secret)}"
case $POSTGRES_PASSWORD in
  *"
"*) echo "POSTGRES_PASSWORD must be one line" >&2; exit 1 ;;
esac

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "airyard-postgres: initialising $PGDATA"
  # initdb refuses a data directory that others can read, and a volume's root is group-writable.
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --pgdata="$PGDATA" --username=postgres --pwfile="$pwfile" \
    --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --data-checksums
  rm -f "$pwfile"
fi

# Single quotes doubled: the statement is a SQL string literal (standard_conforming_strings is on).
escaped=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
printf "ALTER ROLE postgres WITH PASSWORD '%s';\n" "$escaped" \
  | postgres --single -D "$PGDATA" "$@" postgres >/dev/null
echo "airyard-postgres: superuser password set from the Secret"

exec postgres -D "$PGDATA" "$@"
