# SPDX-License-Identifier: LGPL-3.0-or-later
"""numba type of the structure a chunk place callback receives (needs numba).

:data:`chunk_place_data` is a numba ``Record`` laid out like the C struct
``spead2::recv::chunk_place_data``; its pointer fields are intp (turn them into pointers with
:func:`spead2.numba.intp_to_voidptr`). A callback compiled with
``numba.cfunc(types.void(types.CPointer(chunk_place_data), types.size_t))`` can be passed as
``ChunkStreamConfig.place`` through ``scipy.LowLevelCallable(f.ctypes, signature="void (void *, size_t)")``.
"""

from numba import types

__all__ = ["chunk_place_data"]

_size_t = types.size_t

#: The fields, in the order of the C struct (which is part of the ABI).
chunk_place_data = types.Record.make_c_struct(
    [
        ("packet", types.intp),  # const uint8_t *: the heap's first accepted packet
        ("packet_size", _size_t),  # header + pointers + payload of that packet
        ("items", types.intp),  # const int64_t *: values of ChunkStreamConfig.items (-1: absent)
        ("chunk_id", types.int64),  # output, starts at -1 (negative: reject the heap)
        ("heap_index", _size_t),  # output, starts at 0: index into the chunk's present
        ("heap_offset", _size_t),  # output, starts at 0: byte offset into the chunk's data
        ("batch_stats", types.intp),  # uint64_t *: statistics of the current batch, by stat index
        ("extra", types.intp),  # uint8_t *: max_heap_extra bytes of scratch
        ("extra_offset", _size_t),  # output, starts at 0: where the extra bytes go in the chunk's extra
        ("extra_size", _size_t),  # output, starts at 0: how many bytes of extra to copy
    ]
)
