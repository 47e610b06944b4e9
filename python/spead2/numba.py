# SPDX-License-Identifier: LGPL-3.0-or-later
"""Helpers for writing chunk place callbacks with numba (needs numba).

:func:`intp_to_voidptr` turns an integer holding an address (such as the pointer fields of
:data:`spead2.recv.numba.chunk_place_data`) into a ``void *``, which ``numba.carray`` accepts.
"""

import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["intp_to_voidptr"]


@intrinsic
def intp_to_voidptr(typingctx, src):
    """Convert an intp (an address) to a void pointer, inside numba-compiled code."""
    if not isinstance(src, types.Integer):
        return None
    sig = types.voidptr(src)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen
