# SPDX-License-Identifier: LGPL-3.0-or-later
"""Fixtures for the differential tests: the reference spead2 4.5.1, run as a black box in its own
virtual environment (.cache/ref-venv, created by .ci/ref-venv when missing)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REF_VENV_SCRIPT = os.path.join(ROOT, ".ci", "ref-venv")

# Let the peers import the shared case tables (item_cases.py) whichever interpreter runs them.
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@functools.lru_cache(maxsize=None)
def reference_python() -> str:
    """Path of the reference interpreter, installing the reference first if needed."""
    result = subprocess.run(
        [REF_VENV_SCRIPT], check=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=900
    )
    path = result.stdout.strip().splitlines()[-1]
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{REF_VENV_SCRIPT} printed {path!r}, which is not an executable")
    return path


def run_reference(script: str, *args: str, input: bytes | None = None, timeout: float = 120) -> str:
    """Runs the Python source `script` under the reference interpreter and returns its stdout.

    The script runs from this folder, ignoring PYTHON* variables and user site-packages (so it can
    import item_cases.py but never our package); a non-zero exit raises CalledProcessError with the reference's stderr.
    """
    result = subprocess.run(
        [reference_python(), "-E", "-s", "-c", script, *args],
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=HERE,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, result.args, output=result.stdout, stderr=result.stderr.decode(errors="replace")
        )
    return result.stdout.decode()


@pytest.fixture(scope="session")
def ref_python() -> str:
    """Path of the reference spead2's Python interpreter."""
    try:
        return reference_python()
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        pytest.fail(f"the reference spead2 is not available ({exc}); run .ci/ref-venv", pytrace=False)


@pytest.fixture(scope="session")
def run_ref(ref_python):
    """run_reference as a fixture: ``run_ref(script, *args, input=None, timeout=120) -> stdout``."""
    return run_reference


@pytest.fixture(scope="session")
def ref_python_numba(ref_python):
    """The reference interpreter, with numba installed into its venv (by its own pip) if missing."""
    if subprocess.run([ref_python, "-E", "-s", "-c", "import numba"], capture_output=True).returncode != 0:
        subprocess.run(
            [ref_python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", "numba"],
            check=True,
            timeout=900,
        )
    return ref_python
