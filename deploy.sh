#!/usr/bin/env bash
# Ship this checkout to one or more servers over ssh and rsync, with no downtime and nothing lost:
#   ./deploy.sh [[user@]host ...]
# Every host first gets the files git tracks in a new <dir>/releases/<UTC timestamp>, secrets.json
# (mode 600), its virtualenv and static files; then the first host migrates the database, once;
# then the hosts switch one at a time (<dir>/current, graceful gunicorn reload, /healthz). If one
# fails, it and the hosts already switched go back to their previous release.
# Settings come from the environment, else from secrets.json: DEPLOY_HOSTS (a list; in the
# environment, commas between names) or DEPLOY_HOST, DEPLOY_USER, DEPLOY_SSH_KEY, DEPLOY_SSH_PORT
# (user, key and port default to ssh's own, ~/.ssh/config included), DEPLOY_DIR (instagram,
# under the user's home); DEPLOY_SSH_OPTIONS (environment only) adds ssh options, e.g.
# "-o UserKnownHostsFile=hosts". An unknown host key is always refused.
set -euo pipefail
cd "$(dirname "$0")"

STEP="starting"
step() {
  STEP=$*
  printf '==> %s\n' "$*"
}
die() {
  printf 'deploy.sh: %s\n' "$*" >&2
  exit 1
}
trap 'printf "deploy.sh: stopped: %s failed.\n" "$STEP" >&2' ERR

case ${1:-} in
-h | --help)
  sed -n '2,13s/^# \{0,1\}//p' "$0"
  exit 0
  ;;
esac

step "Checking secrets.json"
[ -f secrets.json ] ||
  die "no secrets.json: copy secrets.json.example to secrets.json and fill it in (see README)."
# Prints DEPLOY_*=value lines for eval, each quoted by shlex, the environment winning.
settings=$(python3 - secrets.json secrets.json.example <<'EOF'
import json
import os
import shlex
import sys

path, example_path = sys.argv[1:]
try:
    with open(path, encoding="utf-8") as file:
        secrets = json.load(file)
except ValueError as error:
    sys.exit(f"deploy.sh: {path} is not valid JSON: {error}")
if not isinstance(secrets, dict):
    sys.exit(f"deploy.sh: {path} must hold a JSON object of settings.")
if secrets.get("DEBUG") is True:
    sys.exit(f'deploy.sh: {path} has "DEBUG": true; never in production: set it to false.')
key = secrets.get("SECRET_KEY")
if not key:
    sys.exit(f"deploy.sh: {path} has no SECRET_KEY.")
with open(example_path, encoding="utf-8") as file:
    if key == json.load(file).get("SECRET_KEY"):
        sys.exit(
            f"deploy.sh: {path} still has the example's SECRET_KEY: set a new random one, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
hosts = os.environ.get("DEPLOY_HOSTS")
if hosts:
    hosts = [host.strip() for host in hosts.split(",")]
else:
    hosts = secrets.get("DEPLOY_HOSTS", [])
    if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
        sys.exit(f"deploy.sh: {path}: DEPLOY_HOSTS must be a list of host names.")
print("DEPLOY_HOSTS=(" + " ".join(shlex.quote(host) for host in hosts if host) + ")")
# No default user or port: ssh's own (~/.ssh/config, else the local user and port 22) decide.
defaults = {
    "DEPLOY_HOST": "",
    "DEPLOY_USER": "",
    "DEPLOY_SSH_KEY": "",
    "DEPLOY_SSH_PORT": "",
    "DEPLOY_DIR": "instagram",
}
for name, default in defaults.items():
    value = os.environ.get(name) or secrets.get(name, default)
    print(f"{name}={shlex.quote(str(value))}")
EOF
)
eval "$settings"

git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  die "deploy.sh ships the files git tracks: run it from a git clone."
! git ls-files --error-unmatch secrets.json >/dev/null 2>&1 ||
  die "secrets.json is tracked by git: git rm --cached secrets.json, and change every secret in it."
changes=$(git status --porcelain)
if [ -n "$changes" ]; then
  printf 'deploy.sh: warning: uncommitted changes. Tracked files go as they are now,' >&2
  printf ' untracked ones not at all:\n%s\n' "$changes" >&2
fi

if [ $# -gt 0 ]; then
  targets=("$@")
elif [ ${#DEPLOY_HOSTS[@]} -gt 0 ]; then
  targets=("${DEPLOY_HOSTS[@]}")
elif [ -n "$DEPLOY_HOST" ]; then
  targets=("$DEPLOY_HOST")
else
  die "no host: run ./deploy.sh [user@]host ..., or set DEPLOY_HOSTS (or DEPLOY_HOST) in secrets.json or the environment."
fi
declare -A named=()
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  [[ $target != -* ]] || die "$target is not a host: see ./deploy.sh -h"
  # Without user@, DEPLOY_USER; without that, ssh decides (its config's User, else yours).
  if [[ $target != *@* && -n $DEPLOY_USER ]]; then target=$DEPLOY_USER@$target; fi
  [ -z "${named[$target]:-}" ] || die "$target is named twice."
  named[$target]=1
  targets[i]=$target
done

# The host key is checked strictly, given first so that neither ~/.ssh/config nor
# DEPLOY_SSH_OPTIONS can loosen it: ssh keeps the first value it reads for each option.
ssh=(ssh -o BatchMode=yes -o StrictHostKeyChecking=yes)
# Only when set, so that a Port in ~/.ssh/config holds otherwise.
if [ -n "$DEPLOY_SSH_PORT" ]; then ssh+=(-p "$DEPLOY_SSH_PORT"); fi
if [ -n "$DEPLOY_SSH_KEY" ]; then
  key=${DEPLOY_SSH_KEY/#\~/$HOME}
  [ -f "$key" ] || die "DEPLOY_SSH_KEY names $key, which does not exist."
  ssh+=(-i "$key" -o IdentitiesOnly=yes)
fi
read -r -a options <<<"${DEPLOY_SSH_OPTIONS:-}"
ssh+=(${options[@]+"${options[@]}"})
# rsync splits its -e command on spaces and keeps what is single-quoted together.
rsh=""
for word in "${ssh[@]}"; do rsh+="'$word' "; done
dir=${DEPLOY_DIR#\~/}
release=$(date -u +%Y%m%d%H%M%S)
# The absolute deploy directory on each host that has a releases/$release.
declare -A home=()

# on TARGET PHASE: run deploy/remote.sh PHASE for the new release on TARGET.
on() {
  local at=${home[$1]}
  "${ssh[@]}" "$1" \
    "bash $(printf %q "$at/releases/$release/deploy/remote.sh") $(printf %q "$at") $release $2"
}

# Give TARGET releases/$release: the tracked files, secrets.json, and (remote.sh prepare) its
# virtualenv and static files, all it needs before it can serve.
upload() {
  local target=$1 at
  step "Creating releases/$release in $dir on $target"
  at=$("${ssh[@]}" "$target" "set -e
command -v rsync >/dev/null || { echo 'The host needs rsync: sudo apt-get install -y rsync' >&2; exit 1; }
mkdir -p $(printf %q "$dir")/releases
cd $(printf %q "$dir")
mkdir releases/$release
pwd") || return 1
  home[$target]=$at
  step "Uploading $(git ls-files | wc -l | tr -d ' ') tracked files to $target"
  git ls-files -z |
    rsync -a --protect-args --from0 --files-from=- --ignore-missing-args -e "$rsh" \
      ./ "$target:$at/releases/$release/" || return 1
  step "Copying secrets.json to $target (mode 600)"
  "${ssh[@]}" "$target" \
    "umask 077 && cat >$(printf %q "$at/releases/$release/secrets.json")" <secrets.json || return 1
  step "Preparing releases/$release on $target"
  on "$target" prepare
}

# Remove releases/$release from every host that has it, except where `current` names it.
discard() {
  local target
  for target in "${targets[@]}"; do
    [ -n "${home[$target]:-}" ] || continue
    "${ssh[@]}" "$target" "cd $(printf %q "${home[$target]}") &&
      if [ \"\$(readlink current)\" != releases/$release ]; then rm -rf releases/$release; fi" ||
      printf 'deploy.sh: could not remove releases/%s from %s\n' "$release" "$target" >&2
  done
}

for target in "${targets[@]}"; do
  if ! upload "$target"; then
    discard
    die "releases/$release could not be prepared on $target: nothing was switched, and it was removed from every host."
  fi
done

# Once, before any host switches, so migrations must suit the release before as well (README).
step "Migrating the database from ${targets[0]}"
if ! on "${targets[0]}" migrate; then
  discard
  die "migrate failed on ${targets[0]}: nothing was switched, and releases/$release was removed from every host."
fi

switched=()
for target in "${targets[@]}"; do
  step "Activating releases/$release on $target"
  if on "$target" activate; then
    switched+=("$target")
    continue
  fi
  # remote.sh has put $target back itself; the hosts switched before it go back, newest first.
  stuck=()
  for ((i = ${#switched[@]} - 1; i >= 0; i--)); do
    step "Rolling back ${switched[i]}"
    on "${switched[i]}" rollback || stuck+=("${switched[i]}")
  done
  discard
  if [ ${#stuck[@]} -gt 0 ]; then
    die "releases/$release failed on $target, and ${stuck[*]} could not go back to the previous release: see above."
  fi
  die "releases/$release failed on $target${switched[*]:+; ${switched[*]} went back to the previous release}."
done
step "Deployed releases/$release to ${targets[*]}"
