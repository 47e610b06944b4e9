# SPDX-License-Identifier: LGPL-3.0-or-later
"""Fixtures for the Python tests (the helper classes live in fake_spead2_objects.py)."""

import pytest
from fake_spead2_objects import FakeHeap, FakeRawItem, RecordingHeap


@pytest.fixture
def fake_raw_item():
    return FakeRawItem


@pytest.fixture
def fake_heap():
    return FakeHeap


@pytest.fixture
def recording_heap():
    return RecordingHeap
