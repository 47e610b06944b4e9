#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-3.0-or-later
# Builds the documentation into build/docs (or `docs/build.sh serve` for a live preview).
# Installs MkDocs into .cache/docs-venv on first use; see docs/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/docs-venv
if ! "$venv/bin/python" -c "import mkdocs, pymdownx" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "mkdocs==1.6.1" "pymdown-extensions>=10"
fi
if [ "${1:-}" = "serve" ]; then
    exec "$venv/bin/mkdocs" serve -f docs/mkdocs.yml
fi
"$venv/bin/mkdocs" build --strict -f docs/mkdocs.yml -d "$(pwd)/build/docs"
echo "docs: build/docs/index.html"
