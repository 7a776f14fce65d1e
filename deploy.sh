#!/usr/bin/env bash
# Ship this checkout to a server over ssh and rsync, with no downtime and nothing lost:
#   ./deploy.sh [user@host]
# It uploads the files git tracks into a new <dir>/releases/<UTC timestamp>, copies secrets.json
# there (mode 600), then runs deploy/remote.sh on the host: virtualenv, migrate, collectstatic,
# switch <dir>/current, graceful gunicorn reload, /healthz, rollback if that fails.
# Settings come from the environment, else from secrets.json: DEPLOY_HOST, DEPLOY_USER (ubuntu),
# DEPLOY_SSH_KEY, DEPLOY_SSH_PORT (22), DEPLOY_DIR (instagram, under the user's home); and
# DEPLOY_SSH_OPTIONS (environment only) adds ssh options, e.g. "-o UserKnownHostsFile=hosts".
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
  sed -n '2,9s/^# \{0,1\}//p' "$0"
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
defaults = {
    "DEPLOY_HOST": "",
    "DEPLOY_USER": "ubuntu",
    "DEPLOY_SSH_KEY": "",
    "DEPLOY_SSH_PORT": 22,
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

target=${1:-$DEPLOY_HOST}
[ -n "$target" ] ||
  die "no host: run ./deploy.sh user@host, or set DEPLOY_HOST in secrets.json or the environment."
[[ $target == *@* ]] || target=$DEPLOY_USER@$target
ssh=(ssh -o BatchMode=yes -p "$DEPLOY_SSH_PORT")
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

step "Preparing releases/$release in $dir on $target"
remote_dir=$("${ssh[@]}" "$target" "set -e
command -v rsync >/dev/null || { echo 'The host needs rsync: sudo apt-get install -y rsync' >&2; exit 1; }
mkdir -p $(printf %q "$dir")/releases
cd $(printf %q "$dir")
mkdir releases/$release
pwd")

step "Uploading $(git ls-files | wc -l | tr -d ' ') tracked files to releases/$release"
git ls-files -z |
  rsync -a --protect-args --from0 --files-from=- --ignore-missing-args -e "$rsh" \
    ./ "$target:$remote_dir/releases/$release/"

step "Copying secrets.json to releases/$release (mode 600)"
"${ssh[@]}" "$target" \
  "umask 077 && cat >$(printf %q "$remote_dir/releases/$release/secrets.json")" <secrets.json

step "Activating releases/$release on $target"
"${ssh[@]}" "$target" \
  "bash $(printf %q "$remote_dir/releases/$release/deploy/remote.sh") $(printf %q "$remote_dir") $release"
