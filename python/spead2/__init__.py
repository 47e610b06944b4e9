# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2: the SPEAD protocol (Streaming Protocol for Exchanging Astronomical Data).

The compiled extension ``spead2._spead2`` provides flavours, thread pools, allocators, the
constants and the raw descriptor type; this package adds the pure-Python item model
(:class:`Descriptor`, :class:`Item`, :class:`ItemGroup`). Send and receive live in the
subpackages :mod:`spead2.send` and :mod:`spead2.recv`.
"""

import logging

from . import _spead2

# Re-export the extension's public names (Flavour, ThreadPool, constants, ...). Its recv/send
# submodules are left out: ``spead2.recv``/``spead2.send`` are the Python subpackages.
for _name in dir(_spead2):
    if not _name.startswith("_") and _name not in ("recv", "send"):
        globals()[_name] = getattr(_spead2, _name)
del _name

from ._descriptor import (  # noqa: E402
    _FASTPATH_IMMEDIATE,
    _FASTPATH_NONE,
    _FASTPATH_NUMPY,
    _UNRESERVED_ID,
    Descriptor,
    _shape_elements,
)
from ._item import Item  # noqa: E402
from ._item_group import ItemGroup  # noqa: E402

from ._version import __version__  # noqa: E402

# Present the classes under their public home, as in spead2 (reprs, pickling, docs).
for _cls in (Descriptor, Item, ItemGroup):
    _cls.__module__ = __name__
del _cls

_logger = logging.getLogger(__name__)


def parse_range_list(ranges):
    """Split a string like 2,3-5,8,9-11 into a list of integers. This is
    intended to ease adding command-line options for dealing with affinity.
    """
    if not ranges:
        return []
    parts = ranges.split(",")
    out = []
    for part in parts:
        fields = part.split("-", 1)
        if len(fields) == 2:
            start = int(fields[0])
            end = int(fields[1])
            out.extend(range(start, end + 1))
        else:
            out.append(int(part))
    return out
