# SPDX-License-Identifier: LGPL-3.0-or-later
"""Sending SPEAD: the extension's send classes plus the pure-Python HeapGenerator/ItemGroup."""

from spead2._spead2 import send as _send_ext

for _name in dir(_send_ext):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_send_ext, _name)
del _name

from ._heap_generator import HeapGenerator, ItemGroup  # noqa: E402

HeapGenerator.__module__ = __name__
ItemGroup.__module__ = __name__
