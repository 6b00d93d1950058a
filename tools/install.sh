#!/usr/bin/env bash
# Install fair-calib (editable) into the active Python environment; `--dev` adds the dev extras.
# Idempotent, runnable from any directory. An installed torch is never replaced; without one,
# torch==2.13.0 is installed, from PyTorch's CPU index on machines without an NVIDIA GPU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
extras=""
for arg in "$@"; do
  case "$arg" in
    --dev) extras="[dev]" ;;
    -h|--help) echo "usage: tools/install.sh [--dev]   (PYTHON=... selects the interpreter)"; exit 0 ;;
    *) echo "tools/install.sh: unknown argument '$arg' (accepted: --dev)" >&2; exit 2 ;;
  esac
done
"$py" - <<'PY' || { echo "fair-calib needs Python >= 3.10 (found $("$py" -V 2>&1)); set PYTHON=/path/to/python3.1x" >&2; exit 2; }
import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY
pip_() { "$py" -m pip install --disable-pip-version-check "$@"; }
constraints=$(mktemp); trap 'rm -f "$constraints"' EXIT
if tv=$("$py" -c "import torch; print(torch.__version__)" 2>/dev/null); then
  echo "keeping the installed torch $tv"
  echo "torch==$tv" > "$constraints"   # pip may not replace it, whatever any dependency asks for
else
  cpu_index=()
  if ! command -v nvidia-smi >/dev/null 2>&1 && "$py" - <<'PY' 2>/dev/null
import urllib.request, sys
try: urllib.request.urlopen("https://download.pytorch.org/whl/cpu/torch/", timeout=5); sys.exit(0)
except Exception: sys.exit(1)
PY
  then cpu_index=(--index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple); fi
  echo "no torch found: installing torch==2.13.0 ${cpu_index[*]:+(CPU build)}"
  pip_ ${cpu_index[@]+"${cpu_index[@]}"} "torch==2.13.0"
fi
pip_ -c "$constraints" -e "${root}${extras}"
