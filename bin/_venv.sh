# Sourced by bin/run and bin/test: make .venv with Python 3.11+ and install a requirements file
# into it, again only when that file has changed since the last install.

venv_ensure() {
  local requirements=$1 python stamp digest
  if [ ! -x .venv/bin/python ]; then
    for python in python3.11 python3.12 python3.13 python3; do
      if command -v "$python" >/dev/null 2>&1 &&
        "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        break
      fi
      python=""
    done
    if [ -z "$python" ]; then
      echo "Python 3.11 or newer is needed: install it (apt-get install python3 python3-venv)." >&2
      exit 1
    fi
    echo "Creating .venv with $("$python" --version)"
    "$python" -m venv .venv
  fi
  stamp=".venv/.installed-$(basename "$requirements")"
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "Installing $requirements into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$digest" >"$stamp"
  fi
}
