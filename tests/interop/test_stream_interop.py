# SPDX-License-Identifier: LGPL-3.0-or-later
"""Differential tests: streams encoded by one implementation decode identically in the other.

For each flavour (SPEAD-64-40, SPEAD-64-48, PySPEAD bug-compat) and every case of item_cases.py:
  * the bytes our sender produces equal the reference's, and so do PacketGenerator's packets;
  * our receiver decodes the reference's stream to the value the reference decodes;
  * the reference decodes our stream to that same value.
Both sides run as subprocesses of stream_peer.py under their own interpreter.
"""

import os
import pickle
import subprocess
import sys

import pytest

from item_cases import CASES, FLAVOURS, KNOWN_DEVIATIONS, values_equal

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "stream_peer.py")
CASE_NAMES = [name for name, _, _ in CASES]
CASE_VALUES = {name: value for name, _, value in CASES}


def run_peer(python, tmp_path, label, *args):
    """Runs stream_peer.py; the reference runs isolated (-E -s) so it never imports our package."""
    out = tmp_path / f"{label}-{'-'.join(a for a in args if '/' not in a)}.pkl"
    isolation = ["-E", "-s"] if label == "ref" else []
    subprocess.run([python, *isolation, PEER, *args, str(out)], check=True, cwd=HERE, timeout=300)
    with open(out, "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="module", params=list(FLAVOURS))
def results(request, ref_python, tmp_path_factory):
    """Everything both implementations produce for one flavour, computed once."""
    flavour = request.param
    tmp = tmp_path_factory.mktemp(flavour)
    ours, ref = sys.executable, ref_python
    res = {"flavour": flavour}
    for label, python in (("ours", ours), ("ref", ref)):
        res[f"{label}_encoded"] = run_peer(python, tmp, label, "encode", flavour)
        res[f"{label}_packets"] = run_peer(python, tmp, label, "packets", flavour)
    for decoder, python in (("ours", ours), ("ref", ref)):
        for encoder in ("ours", "ref"):
            path = tmp / f"{encoder}-encoded.pkl"
            with open(path, "wb") as f:
                pickle.dump(res[f"{encoder}_encoded"], f)
            res[f"{decoder}_decodes_{encoder}"] = run_peer(python, tmp, decoder, "decode", flavour, str(path))
    return res


def _error_kind(value):
    return value[:2] if isinstance(value, tuple) and value and value[0] == "error" else None


def _check_same_outcome(case, ours, ref):
    """Both succeed or both fail the same way, except for a documented deviation."""
    if case in KNOWN_DEVIATIONS:
        assert _error_kind(ref) == ("error", KNOWN_DEVIATIONS[case][0]), ref
        assert _error_kind(ours) is None, ours
        return False
    assert _error_kind(ours) == _error_kind(ref), (ours, ref)
    return True


@pytest.mark.parametrize("case", CASE_NAMES)
def test_encoded_bytes_identical(results, case):
    ours, ref = results["ours_encoded"][case], results["ref_encoded"][case]
    if _check_same_outcome(case, ours, ref):
        assert ours == ref


@pytest.mark.parametrize("case", CASE_NAMES)
def test_packet_generator_identical(results, case):
    ours, ref = results["ours_packets"][case], results["ref_packets"][case]
    if _check_same_outcome(case, ours, ref):
        assert ours == ref


@pytest.mark.parametrize("case", CASE_NAMES)
def test_we_decode_reference_stream(results, case):
    if case not in results["ref_decodes_ref"]:
        pytest.skip("the reference cannot encode this case")
    ours, ref = results["ours_decodes_ref"][case], results["ref_decodes_ref"][case]
    assert _error_kind(ours) == _error_kind(ref), (ours, ref)
    assert values_equal(ours, ref)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_reference_decodes_our_stream(results, case):
    if case not in results["ref_decodes_ours"]:
        pytest.skip("we cannot encode this case (checked against the reference above)")
    ours, ref = results["ref_decodes_ours"][case], results["ref_decodes_ref"].get(case)
    if case in KNOWN_DEVIATIONS:
        assert values_equal(ours, CASE_VALUES[case]), ours
        return
    assert _error_kind(ours) == _error_kind(ref), (ours, ref)
    assert values_equal(ours, ref)
