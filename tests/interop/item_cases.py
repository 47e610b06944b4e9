# SPDX-License-Identifier: LGPL-3.0-or-later
"""Table of items used by the differential tests; imported by both implementations' peers.

Each case is (name, Descriptor keyword arguments, value). Values are chosen to survive an exact
round trip (no NaN), so equality of decoded values is meaningful.
"""

import numpy as np

FLAVOURS = {
    "64-40": (64, 40, 0),
    "64-48": (64, 48, 0),
    "pyspead": (64, 40, 7),
}


def _cases():
    cases = []
    rng = np.random.default_rng(12345)
    # Every numpy scalar kind, in both byte orders, as 0-d and small arrays.
    for code in ["u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f2", "f4", "f8", "c8", "c16"]:
        for order in "<>":
            dtype = np.dtype(order + code)
            if dtype.kind in "ui":
                info = np.iinfo(dtype)
                array = rng.integers(info.min, info.max, size=(3, 5), dtype=dtype.newbyteorder("="), endpoint=True).astype(dtype)
            elif dtype.kind == "f":
                array = rng.standard_normal((3, 5)).astype(dtype)
            else:
                array = (rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))).astype(dtype)
            cases.append((f"array_{order}{code}", dict(shape=(3, 5), dtype=dtype), array))
            cases.append((f"scalar_{order}{code}", dict(shape=(), dtype=dtype), array.flat[0]))
    cases.append(("bool_array", dict(shape=(7,), dtype=np.bool_), np.array([1, 0, 1, 1, 0, 0, 1], np.bool_)))
    cases.append(("bool_scalar", dict(shape=(), dtype=np.bool_), np.bool_(True)))
    # Structured dtypes (packed and with a sub-array field).
    sdtype = np.dtype([("a", "<u2"), ("b", ">f8"), ("c", "i1", (3,))])
    svalue = np.zeros((4,), sdtype)
    svalue["a"] = [1, 2, 3, 65535]
    svalue["b"] = [0.5, -1.25, 3e100, 0]
    svalue["c"] = [[1, -2, 3], [4, 5, -6], [7, 8, 9], [-128, 0, 127]]
    cases.append(("structured", dict(shape=(4,), dtype=sdtype), svalue))
    # Fortran order.
    fvalue = np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4))
    cases.append(("fortran", dict(shape=(3, 4), dtype=np.int32, order="F"), fvalue))
    # Variable-length shapes with a dtype are not allowed; with a legacy format they are.
    cases.append(("variable_u32", dict(shape=(None,), format=[("u", 32)]), np.arange(17, dtype=">u4")))
    cases.append(("variable_2d", dict(shape=(None, 3), format=[("i", 16)]),
                  np.arange(-9, 9, dtype=">i2").reshape(6, 3)))
    # Legacy formats that map to fast numpy dtypes.
    for code, bits in [("u", 8), ("u", 16), ("u", 32), ("u", 64), ("i", 8), ("i", 16), ("i", 32), ("i", 64),
                       ("f", 32), ("f", 64)]:
        dtype = np.dtype(">" + {"u": "u", "i": "i", "f": "f"}[code] + str(bits // 8))
        value = (np.arange(6) - 2).astype(dtype) if code != "u" else np.arange(6).astype(dtype)
        cases.append((f"legacy_{code}{bits}", dict(shape=(6,), format=[(code, bits)]), value))
        cases.append((f"legacy_scalar_{code}{bits}", dict(shape=(), format=[(code, bits)]), value[-1]))
    cases.append(("legacy_b8", dict(shape=(4,), format=[("b", 8)]), np.array([True, False, True, True])))
    # Bit-packed fields (the slow 'O' path).
    cases.append(("packed_u12", dict(shape=(5,), format=[("u", 12)]), np.array([0, 1, 4095, 2048, 7], dtype=object)))
    cases.append(("packed_i5", dict(shape=(6,), format=[("i", 5)]), np.array([-16, -1, 0, 1, 15, 7], dtype=object)))
    # 16 elements or more: converted with numpy a bit column at a time.
    cases.append(("packed_u12_long", dict(shape=(None,), format=[("u", 12)]),
                  np.array([(i * 397) % 4096 for i in range(41)], dtype=object)))
    cases.append(("packed_i5_long", dict(shape=(4, 5), format=[("i", 5)]),
                  np.array([(i % 32) - 16 for i in range(20)], dtype=object).reshape(4, 5)))
    cases.append(("packed_b1_long", dict(shape=(19,), format=[("b", 1)]),
                  np.array([i % 3 == 0 for i in range(19)], dtype=object)))
    cases.append(("multi_field_long", dict(shape=(17,), format=[("u", 4), ("i", 12), ("b", 1), ("u", 33)]),
                  [(i % 16, 2047 - 250 * i, i % 2 == 1, (1 << 32) + i * 12345) for i in range(17)]))
    cases.append(("packed_scalar_u48", dict(shape=(), format=[("u", 48)]), 0x123456789ABC))
    cases.append(("packed_scalar_i24", dict(shape=(), format=[("i", 24)]), -123456))
    cases.append(("multi_field", dict(shape=(3,), format=[("u", 4), ("i", 12), ("u", 16)]),
                  [(1, -5, 65535), (15, 2047, 0), (0, -2048, 1234)]))
    cases.append(("multi_field_bytes", dict(shape=(2,), format=[("u", 8), ("f", 32)]),
                  np.array([(1, 0.5), (255, -2.0)], dtype=[("f0", ">u1"), ("f1", ">f4")])))
    # Strings.
    cases.append(("string", dict(shape=(None,), format=[("c", 8)]), "Hello, SPEAD!"))
    cases.append(("string_fixed", dict(shape=(5,), format=[("c", 8)]), "fixed"))
    cases.append(("string_empty", dict(shape=(None,), format=[("c", 8)]), ""))
    # A multi-packet 1 MiB item.
    cases.append(("big_1MiB", dict(shape=(1024 * 1024,), dtype=np.uint8),
                  rng.integers(0, 256, size=1024 * 1024, dtype=np.uint8)))
    return cases


CASES = _cases()

# Cases where we deliberately differ from spead2 4.5.1, with the reason. The reference fails to
# encode these (the error type is recorded); we encode them, and the reference must decode our
# bytes to the value in the table.
KNOWN_DEVIATIONS = {
    "packed_scalar_i24": ("OverflowError", "the reference cannot send a negative value in a signed "
                          "bit-packed scalar; we send its two's complement"),
}


def values_equal(a, b):
    """Exact equality of two decoded values: same type, dtype (up to byte order) and contents."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape or a.dtype.newbyteorder("=") != b.dtype.newbyteorder("="):
            return False
        if a.dtype.hasobject:
            return values_equal(a.tolist(), b.tolist())
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.generic) and isinstance(b, np.generic):
        return a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=") and bool(np.asarray(a) == np.asarray(b))
    return type(a) is type(b) and a == b
