#!/usr/bin/env bash
# A deploy step: wait for the database, back it up, apply migrations, branch on the outcome.
# Usage: DATABASE_URL=postgres://... scripts/deploy-example.sh
set -euo pipefail
migrator=${MIGRATOR:-migrator}

if ! "$migrator" wait --timeout "${WAIT_TIMEOUT:-60}"; then
  echo "deploy: database never came up; nothing was changed" >&2
  exit 4
fi

set +e
"$migrator" up ${BACKUP_FLAG:---backup}
status=$?
set -e
case "$status" in
  0) echo "deploy: database is up to date" ;;
  1) echo "deploy: a migration failed; see the error above (pg/sqlite rolled it back)" >&2 ;;
  2) echo "deploy: configuration or migrations folder problem; nothing was run" >&2 ;;
  3) echo "deploy: drift or a failed earlier run blocks migrating; run migrator validate" >&2 ;;
  4) echo "deploy: database unreachable or another deploy holds the lock" >&2 ;;
  130|143) echo "deploy: interrupted; the running migration was rolled back or recorded" >&2 ;;
  *) echo "deploy: unexpected exit status $status" >&2 ;;
esac
exit "$status"
