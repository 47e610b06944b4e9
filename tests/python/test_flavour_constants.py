# SPDX-License-Identifier: LGPL-3.0-or-later
"""The package namespaces: what ``spead2``, ``spead2.recv`` and ``spead2.send`` re-export (API.md §4).

The behaviour of Flavour and the constants themselves is tested in test_common.py; here we check
that user code sees them where spead2 4.x puts them.
"""

import pytest

import spead2
import spead2.recv
import spead2.send
from spead2 import _spead2

from spec_constants import CONSTANTS


def test_version():
    assert spead2.__version__ == "4.5.1"


@pytest.mark.parametrize("name, value", sorted(CONSTANTS.items()))
def test_constant(name, value):
    assert getattr(spead2, name) == value


def test_no_scalar_numpy_absent():
    assert not hasattr(spead2, "BUG_COMPAT_NO_SCALAR_NUMPY")


@pytest.mark.parametrize(
    "name",
    ["Flavour", "ThreadPool", "MemoryAllocator", "MmapAllocator", "MemoryPool", "InprocQueue", "Stopped", "Empty", "Full"],
)
def test_extension_class(name):
    assert getattr(spead2, name) is getattr(_spead2, name)


def test_every_public_extension_name():
    for name in dir(_spead2):
        if not name.startswith("_") and name not in ("recv", "send"):
            assert getattr(spead2, name) is getattr(_spead2, name), name


def test_python_classes():
    assert spead2.Descriptor.__module__ == "spead2"
    assert issubclass(spead2.Item, spead2.Descriptor)
    assert spead2.ItemGroup.__module__ == "spead2"
    assert spead2._UNRESERVED_ID == 0x1000
    assert (spead2._FASTPATH_NONE, spead2._FASTPATH_IMMEDIATE, spead2._FASTPATH_NUMPY) == (0, 1, 2)
    assert spead2._shape_elements((2, 3, 4)) == 24
    assert spead2._shape_elements(()) == 1


def test_default_flavour():
    assert spead2.Flavour() == spead2.Flavour(4, 64, 40, 0)


def test_subpackages_are_python_packages():
    assert spead2.recv is not _spead2.recv
    assert spead2.send is not _spead2.send
    assert spead2.recv.__name__ == "spead2.recv"
    assert spead2.send.__name__ == "spead2.send"


@pytest.mark.parametrize("module, ext", [(spead2.recv, _spead2.recv), (spead2.send, _spead2.send)])
def test_subpackage_reexports(module, ext):
    for name in dir(ext):
        if not name.startswith("__"):
            assert getattr(module, name) is getattr(ext, name), name


def test_send_python_classes():
    assert spead2.send.HeapGenerator.__module__ == "spead2.send"
    assert issubclass(spead2.send.ItemGroup, spead2.ItemGroup)
    assert issubclass(spead2.send.ItemGroup, spead2.send.HeapGenerator)
