# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receiving SPEAD: the extension's recv classes (Stream, StreamConfig, Heap, Chunk, ...)."""

from spead2._spead2 import recv as _recv_ext

for _name in dir(_recv_ext):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_recv_ext, _name)
del _name
