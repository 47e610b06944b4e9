# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receiving SPEAD: the extension's recv classes (Stream, StreamConfig, Heap, Chunk, ...)."""

import sys as _sys

from spead2._spead2 import recv as _recv_ext

for _name in dir(_recv_ext):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_recv_ext, _name)
del _name
# The extension's submodule is the module, so that `import spead2.recv.cuda` works too.
_sys.modules[__name__ + ".cuda"] = _recv_ext.cuda
# spead2's stream_stat_indices is a module of spead2.recv: `from spead2.recv.stream_stat_indices
# import HEAPS` works, and its __name__ says so.
stream_stat_indices.__name__ = __name__ + ".stream_stat_indices"  # noqa: F821 - copied above
_sys.modules[stream_stat_indices.__name__] = stream_stat_indices  # noqa: F821
