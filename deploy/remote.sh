#!/usr/bin/env bash
# The host side of deploy.sh, run over ssh from the release it works on:
#   bash <dir>/releases/<release>/deploy/remote.sh <dir> <release> PHASE
# deploy.sh runs the phases in this order, each on every host before the next starts:
#   prepare   builds or reuses the virtualenv, collects static files, checks that the app loads;
#   migrate   migrates the database (on the first host only);
#   activate  switches <dir>/current, has gunicorn load the release without dropping a request,
#             checks /healthz (going back to the previous release if it fails), prunes;
#   rollback  when a later host failed: back to the release this one served before.
# A failure before the switch removes the new release and the old one carries on. It deletes
# only releases/<timestamp> and venvs/<sha256> that deploy.sh made, never the release `current`
# names, shared/ (media, logs) or anything else.
# Host settings, from <dir>/shared/host.env if present: GUNICORN_BIND (127.0.0.1:8000),
# WEB_CONCURRENCY (workers), DEPLOY_SYSTEMD=no (serve from a pidfile even under systemd).
# shellcheck disable=SC2317  # functions that wait_until calls look unreachable to shellcheck
set -euo pipefail
shopt -s nullglob

DIR=$1
RELEASE=$2
PHASE=$3
KEEP=5
SERVICE=instagram
RELEASES=$DIR/releases
NEW=$RELEASES/$RELEASE
SHARED=$DIR/shared
PIDFILE=$SHARED/gunicorn.pid
LOG=$SHARED/gunicorn.log
# Longer than graceful_timeout in gunicorn.conf.py, so old workers finish their requests.
STOP_SECONDS=60

step() { printf '==> %s\n' "$*"; }
fail() { printf 'deploy: %s\n' "$*" >&2; }
die() {
  fail "$@"
  exit 1
}

# Before the switch the new release has served nothing: remove it, the old one carries on.
abandon() {
  [ "$(current_release)" != "$RELEASE" ] || die "$1"
  rm -rf "$NEW"
  die "$1: releases/$RELEASE removed; the previous release still serves."
}

# wait_until SECONDS COMMAND...: run COMMAND until it succeeds, for at most SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Whether process $1 runs: an exited master whose parent does not reap it is no longer running.
running() {
  local state
  state=$(ps -o stat= -p "$1") && [[ $state != Z* ]]
}

all_gone() {
  local pid
  for pid in "$@"; do
    if running "$pid"; then return 1; fi
  done
}

current_release() {
  local target
  target=$(readlink "$DIR/current") || return 0
  printf '%s\n' "${target##*/}"
}

# Point `current` at releases/$1 in one rename, so no request ever sees it missing.
switch_to() {
  ln -sfn "releases/$1" "$DIR/current.new"
  mv -Tf "$DIR/current.new" "$DIR/current"
}

# The virtualenv for the release's requirements.txt, shared by releases with the same file.
venv_link() {
  local digest home
  digest=$(sha256sum "$NEW/requirements.txt" | cut -c1-64)
  home=$DIR/venvs/$digest
  if [ -d "$home" ]; then
    step "Reusing virtualenv venvs/${digest:0:12} (requirements.txt unchanged)"
  else
    step "Building virtualenv venvs/${digest:0:12} for requirements.txt"
    mkdir -p "$home"
    cp "$NEW/requirements.txt" "$home/"
  fi
  # bin/_venv.sh makes .venv with Python 3.11+ and installs the requirements once; in a bash
  # of its own, so that set -e holds inside it.
  if ! (cd "$home" && bash --norc -c 'set -euo pipefail; . "$0"; venv_ensure requirements.txt' \
    "$NEW/bin/_venv.sh"); then
    rm -rf "$home"
    abandon "could not build the virtualenv"
  fi
  ln -sfn "../../venvs/$digest/.venv" "$NEW/.venv"
}

same_venv() {
  [ -n "$1" ] && [ "$(readlink -f "$RELEASES/$1/.venv")" = "$(readlink -f "$RELEASES/$2/.venv")" ]
}

# Have gunicorn serve what `current` points at, switched to from release $1 (empty: none).
serve() {
  if systemd_host; then serve_systemd "$@"; else serve_pidfile "$@"; fi
}

systemd_host() { [ "${DEPLOY_SYSTEMD:-auto}" != no ] && [ -d /run/systemd/system ]; }

# Run "$2"... to send gunicorn's master $1 a HUP, then wait until its old workers have finished
# their requests and exited, so that nothing answers from the old release any more.
reload_gracefully() {
  local pid=$1 workers
  shift
  mapfile -t workers < <(pgrep -P "$pid")
  step "Reloading gunicorn gracefully (HUP): new workers start, old ones finish their requests"
  "$@" || return 1
  wait_until "$STOP_SECONDS" all_gone "${workers[@]}" || {
    fail "old workers still running after ${STOP_SECONDS}s"
    return 1
  }
}

master_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
  if running "$pid" && grep -qa gunicorn "/proc/$pid/cmdline"; then
    printf '%s\n' "$pid"
  fi
}

master_running() { [ -n "$(master_pid)" ]; }

pidfile_names() { [ "$(cat "$PIDFILE" 2>/dev/null)" = "$1" ]; }

serve_pidfile() {
  local pid
  pid=$(master_pid)
  if [ -z "$pid" ]; then
    start_master
  elif same_venv "$1" "$2"; then
    reload_gracefully "$pid" kill -HUP "$pid"
  else
    replace_master "$pid"
  fi
}

start_master() {
  step "Starting gunicorn (pidfile shared/gunicorn.pid, log shared/gunicorn.log)"
  # Through `current`, so that a USR2 later re-executes the virtualenv current then names; fd 9
  # (the deploy lock) closed, or gunicorn would hold the lock for good.
  (cd "$DIR/current" && exec setsid "$DIR/current/.venv/bin/python" \
    "$DIR/current/.venv/bin/gunicorn" -c "$DIR/current/deploy/gunicorn.conf.py" --pid "$PIDFILE" \
    </dev/null >>"$LOG" 2>&1 9>&-) &
  wait_until 30 master_running || {
    fail "gunicorn did not start: see $LOG"
    return 1
  }
}

# A new virtualenv needs a new master: HUP would fork workers from the old interpreter.
replace_master() {
  local old=$1 new
  step "Starting a new gunicorn master (USR2) for the new virtualenv"
  rm -f "$PIDFILE.2"
  kill -USR2 "$old" || return 1
  # The new master writes <pidfile>.2 once it listens; until the old one exits, both serve.
  wait_until 30 test -s "$PIDFILE.2" || {
    fail "the new gunicorn master did not start: see $LOG"
    return 1
  }
  new=$(cat "$PIDFILE.2")
  step "Stopping the old master gracefully (TERM): its workers finish their requests"
  kill -TERM "$old" || return 1
  wait_until "$STOP_SECONDS" all_gone "$old" || {
    fail "the old gunicorn master $old still runs after ${STOP_SECONDS}s"
    return 1
  }
  # Once its parent has gone, the new master takes the pidfile over.
  wait_until 10 pidfile_names "$new" || {
    fail "the new gunicorn master did not take over $PIDFILE"
    return 1
  }
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

serve_systemd() {
  local unit installed=/etc/systemd/system/$SERVICE.service pid
  unit=$(sed -e "s|@DIR@|$DIR|g" -e "s|@USER@|$(id -un)|g" -e "s|@GROUP@|$(id -gn)|g" \
    "$DIR/current/deploy/$SERVICE.service")
  if [ "$unit" != "$(cat "$installed" 2>/dev/null)" ]; then
    step "Installing $installed"
    printf '%s\n' "$unit" | as_root tee "$installed" >/dev/null || return 1
    as_root systemctl daemon-reload || return 1
    as_root systemctl enable --quiet "$SERVICE" || return 1
  fi
  if ! systemctl is-active --quiet "$SERVICE"; then
    step "Starting $SERVICE.service"
    as_root systemctl start "$SERVICE" || return 1
  elif same_venv "$1" "$2"; then
    pid=$(systemctl show --property MainPID --value "$SERVICE")
    reload_gracefully "$pid" as_root systemctl reload "$SERVICE"
  else
    # systemd follows one main process, so gunicorn's USR2 hand-over cannot be used here.
    step "Restarting $SERVICE.service for the new virtualenv (new connections are refused" \
      "for a few seconds; requests in flight finish)"
    as_root systemctl restart "$SERVICE" || return 1
  fi
}

# GET /healthz on what serves now; retried while workers boot, not once the app has answered.
healthy() {
  local host=${BIND%:*} port=${BIND##*:}
  case $host in "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; esac
  step "Checking http://$host:$port/healthz"
  "$DIR/current/.venv/bin/python" - "http://$host:$port/healthz" <<'EOF'
import sys
import time
import urllib.error
import urllib.request

deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
            print(response.read().decode())
            break
    except urllib.error.HTTPError as error:
        sys.exit(f"deploy: /healthz answered {error.code}: {error.read().decode()}")
    except OSError as error:
        if time.monotonic() > deadline:
            sys.exit(f"deploy: no answer from /healthz: {error}")
        time.sleep(0.5)
EOF
}

# Keep the KEEP newest deployed releases and the one `current` names; remove releases that
# failed or were never completed (older than this one: a newer one may be uploading), then
# the virtualenvs that no release uses any more.
prune() {
  local path name current kept=0 names=() removed=() used
  current=$(current_release)
  for path in "$RELEASES"/*; do
    name=${path##*/}
    if [[ $name =~ ^[0-9]{14}$ ]]; then names=("$name" "${names[@]}"); fi
  done
  for name in "${names[@]}"; do
    if [ -f "$RELEASES/$name/.deployed" ] && [ "$kept" -lt "$KEEP" ]; then
      kept=$((kept + 1))
    elif [ "$name" != "$current" ] && [[ ! $name > $RELEASE ]]; then
      rm -rf "${RELEASES:?}/$name"
      removed+=("releases/$name")
    fi
  done
  for path in "$DIR"/venvs/*; do
    [[ ${path##*/} =~ ^[0-9a-f]{64}$ ]] || continue
    used=no
    for name in "$RELEASES"/*/.venv; do
      if [ "$(readlink -f "$name")" = "$(readlink -f "$path/.venv")" ]; then used=yes; fi
    done
    if [ "$used" = no ]; then
      rm -rf "$path"
      removed+=("venvs/${path##*/}")
    fi
  done
  if [ ${#removed[@]} -gt 0 ]; then step "Removed ${removed[*]}"; fi
  step "Kept the $kept newest releases"
}

prepare() {
  if [ -e "$DIR/current" ] && [ ! -L "$DIR/current" ]; then
    abandon "$DIR/current is not a symlink deploy.sh made: move it out of the way"
  fi
  venv_link
  # Without a bucket or PostgreSQL the app keeps media/ and db.sqlite3 in its directory: those
  # live in shared/, so every release sees them and pruning a release never takes them along.
  ln -sfn ../../shared/media "$NEW/media"
  ln -sfn ../../shared/db.sqlite3 "$NEW/db.sqlite3"
  step "Collecting static files"
  (cd "$NEW" && .venv/bin/python manage.py collectstatic --no-input) ||
    abandon "collectstatic failed"
  # A worker that cannot load the app makes gunicorn's master stop altogether.
  step "Loading the app as a gunicorn worker will"
  (cd "$NEW" && .venv/bin/python -c "import config.wsgi") || abandon "the app does not load"
}

migrate() {
  (cd "$NEW" && .venv/bin/python manage.py migrate --no-input) || abandon "migrate failed"
}

# Serve releases/$RELEASE; if it is not healthy, go back to the release served before.
activate() {
  local previous
  previous=$(current_release)
  # What rollback goes back to, should a host after this one fail.
  printf '%s\n' "$previous" >"$NEW/.previous"
  step "Switching current to releases/$RELEASE"
  switch_to "$RELEASE"
  if serve "$previous" "$RELEASE" && healthy; then
    touch "$NEW/.deployed"
    prune
    step "Serving releases/$RELEASE"
    exit 0
  fi
  [ -n "$previous" ] ||
    die "releases/$RELEASE is not healthy and there is no release to go back to: see $LOGS"
  go_back "$previous"
  die "releases/$RELEASE failed and was removed; releases/$previous serves again."
}

# After a later host failed: back to the release this one served before releases/$RELEASE.
rollback() {
  local previous
  [ "$(current_release)" = "$RELEASE" ] || die "current does not name releases/$RELEASE"
  previous=$(cat "$NEW/.previous")
  [ -n "$previous" ] ||
    die "releases/$RELEASE was the first release here: there is none to go back to, it stays"
  go_back "$previous"
  step "releases/$RELEASE removed; releases/$previous serves again"
}

# Switch back from releases/$RELEASE to releases/$1, serve and check it, remove $RELEASE.
go_back() {
  step "Rolling back to releases/$1"
  switch_to "$1"
  serve "$RELEASE" "$1" && healthy ||
    die "releases/$RELEASE failed, and releases/$1 is not healthy either: see $LOGS"
  rm -rf "$NEW"
}

[ -d "$NEW" ] || die "$NEW does not exist"
case $PHASE in
prepare | migrate | activate | rollback) ;;
*) die "unknown phase ${PHASE@Q}: prepare, migrate, activate or rollback" ;;
esac
mkdir -p "$SHARED/media"
exec 9>"$SHARED/deploy.lock"
flock -n 9 || abandon "another deploy is running on this host"
if [ -f "$SHARED/host.env" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$SHARED/host.env"
  set +a
fi
BIND=${GUNICORN_BIND:-127.0.0.1:8000}
LOGS=$LOG
if systemd_host; then LOGS="journalctl -u $SERVICE"; fi
[[ $BIND =~ :[0-9]+$ ]] || abandon "GUNICORN_BIND must be host:port for the health check, not $BIND"
"$PHASE"
