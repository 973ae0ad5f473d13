# Sourced by scripts/test and scripts/demo: create or refresh .venv from pyproject.toml, with the
# exact versions of constraints.txt (a new release of a linter or a stub must not fail CI).
VENV="${VENV:-.venv}"
PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[all,dev]'
  touch "$stamp"
fi
PY="$VENV/bin/python"
