# SPDX-License-Identifier: LGPL-3.0-or-later
"""The type stubs: checked in, regenerated without a diff, installed, and good enough for mypy.

* python/gen_stubs.py --check regenerates the stubs from the installed extension (nanobind's
  stubgen plus the re-export stubs of the pure-Python packages) and must find no difference with
  the checked-in copies under python/spead2/. When the bindings change, rerun
  `python python/gen_stubs.py` with the new build and commit the result.
* The installed package carries py.typed and the stubs (PEP 561).
* mypy accepts the stubs themselves and type-checks examples/*.py against them.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import spead2
import spead2.recv
import spead2.send

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(spead2.__file__).parent


def have_module(name):
    return importlib.util.find_spec(name) is not None


@pytest.mark.skipif(not have_module("nanobind"), reason="nanobind (stubgen) is not installed")
def test_stubs_match_regenerated():
    result = subprocess.run(
        [sys.executable, str(ROOT / "python" / "gen_stubs.py"), "--check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-5000:]


def test_installed_package_is_typed():
    assert (PACKAGE / "py.typed").is_file()
    for rel in ["__init__.pyi", "recv/__init__.pyi", "send/__init__.pyi", "_spead2/__init__.pyi", "_spead2/send.pyi"]:
        assert (PACKAGE / rel).is_file(), rel


def test_checked_in_stubs_are_the_installed_ones():
    source = ROOT / "python" / "spead2"
    for path in source.rglob("*.pyi"):
        rel = path.relative_to(source)
        assert (PACKAGE / rel).read_text() == path.read_text(), f"reinstall the package: {rel} differs"


def run_mypy(*args):
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--python-executable", sys.executable, "--no-incremental", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.mark.skipif(not have_module("mypy"), reason="mypy is not installed")
def test_stubs_pass_mypy():
    stubs = sorted(str(p) for p in (ROOT / "python" / "spead2").rglob("*.pyi"))
    result = run_mypy("--follow-imports=silent", *stubs)
    assert result.returncode == 0, result.stdout


def _example_needs_missing_bindings(source):
    needs = []
    if "Udp" in source or "add_udp_reader" in source:
        needs.append(hasattr(spead2.send, "UdpStream") and hasattr(spead2.recv.Stream, "add_udp_reader"))
    if "asyncio" in source:
        needs.append(have_module("spead2.recv.asyncio") and have_module("spead2.send.asyncio"))
    return not all(needs)


@pytest.mark.skipif(not have_module("mypy"), reason="mypy is not installed")
def test_examples_typecheck():
    examples = []
    for path in sorted((ROOT / "examples").rglob("*.py")):
        if not _example_needs_missing_bindings(path.read_text()):
            examples.append(str(path))
    assert any(e.endswith("05_item_group.py") for e in examples)
    # The installed package (found through --python-executable) is what users type-check against.
    env_result = run_mypy(*examples)
    assert env_result.returncode == 0, env_result.stdout
    assert "Success" in env_result.stdout
