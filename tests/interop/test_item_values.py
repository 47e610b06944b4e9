# SPDX-License-Identifier: LGPL-3.0-or-later
"""Differential tests of the item model against the reference spead2 4.5.1 (black box).

For each flavour and each (descriptor, value) case of the table below:

(a) ``Descriptor.to_raw(flavour)`` gives the same name, description, numpy header bytes, format
    and shape in both implementations;
(b) ``Item.to_buffer()`` gives the same bytes (or the same exception type and message);
(c) each implementation decodes the other's bytes to identical values: the reference through a
    real send -> receive round trip (PacketGenerator -> buffer reader -> ItemGroup.update), ours
    through ``Item.set_from_raw`` on the bytes a receiver would see.

Descriptor validation errors are compared as (exception type, message).
"""

import base64
import pickle

import numpy as np
import pytest
import spead2

ITEM_ID = 0x7A  # fits every flavour, down to SPEAD-64-56 (7-bit item IDs)

FLAVOURS = {
    "64-40": (4, 64, 40, 0),
    "64-48": (4, 64, 48, 0),
    "64-56": (4, 64, 56, 0),
    "pyspead": (4, 64, 40, 7),
}


def _cases():
    rng = np.random.default_rng(4321)
    cases = []
    for code in ["u1", "u2", "u4", "u8", "i1", "i2", "i8", "f2", "f4", "f8", "c8", "c16", "b1", "S3", "U2"]:
        for endian in "<>":
            dtype = np.dtype(endian + code) if code not in ("u1", "i1", "b1", "S3") else np.dtype(code)
            raw = rng.integers(0, 256, size=dtype.itemsize * 6, dtype=np.uint8).tobytes()
            if dtype.kind == "b":
                raw = bytes(b & 1 for b in raw)
            if dtype.kind == "f":
                raw = (np.arange(6) - 2.5).astype(dtype).tobytes()
            if dtype.kind == "c":
                raw = (np.arange(6) - 2.5 + 1j * np.arange(6)).astype(dtype).tobytes()
            if dtype.kind == "U":
                raw = np.array(["ab", "c", "", "de", "f", "gh"], dtype).tobytes()
            array = np.frombuffer(raw, dtype).reshape(2, 3)
            cases.append((f"array {endian}{code}", dict(shape=(2, 3), dtype=dtype), array.copy()))
            cases.append((f"scalar {endian}{code}", dict(shape=(), dtype=dtype), array[0, 0]))
            cases.append((f"fortran {endian}{code}", dict(shape=(2, 3), dtype=dtype, order="F"), array.copy()))
    sdtype = np.dtype([("a", "<u2"), ("b", ">f8"), ("c", "i1", (3,))])
    svalue = np.zeros(2, sdtype)
    svalue["a"] = [1, 65535]
    svalue["b"] = [0.5, -3e100]
    svalue["c"] = [[1, -2, 3], [-128, 0, 127]]
    cases += [
        ("structured", dict(shape=(2,), dtype=sdtype), svalue),
        # (No aligned structs: numpy leaves their padding bytes uninitialised.)
        ("list value", dict(shape=(4,), dtype=">i2"), [1, -2, 3, -4]),
        ("empty array", dict(shape=(2, 0), dtype="<u2"), np.zeros((2, 0), "<u2")),
        ("bytes into S1", dict(shape=(3,), dtype="S1"), b"abc"),
        ("str into S1", dict(shape=(3,), dtype="S1"), "abc"),
        ("c8 string", dict(shape=(None,), format=[("c", 8)]), "Hello, SPEAD!"),
        ("c8 bytes", dict(shape=(None,), format=[("c", 8)]), b"bytes"),
        ("c8 fixed", dict(shape=(5,), format=[("c", 8)]), "fixed"),
        ("c8 2-D", dict(shape=(2, None), format=[("c", 8)]), [[b"a", b"b"], [b"c", b"d"]]),
        ("c8 scalar", dict(shape=(), format=[("c", 8)]), b"z"),
        ("variable u32", dict(shape=(None,), format=[("u", 32)]), np.arange(17, dtype=">u4")),
        ("variable 2-D", dict(shape=(None, 3), format=[("i", 16)]), np.arange(-9, 9, dtype=">i2").reshape(6, 3)),
        ("legacy b8", dict(shape=(4,), format=[("b", 8)]), [True, False, True, True]),
        ("legacy f64 scalar", dict(shape=(), format=[("f", 64)]), 1.25),
        ("legacy u16 scalar", dict(shape=(), format=[("u", 16)]), 513),
        ("legacy i64", dict(shape=(3,), format=[("i", 64)]), [-(2**63), 0, 2**63 - 1]),
        ("multi fast", dict(shape=(2,), format=[("u", 8), ("f", 32)]), [(1, 0.5), (255, -2.0)]),
        ("multi fast c", dict(shape=(2,), format=[("u", 8), ("c", 8)]), [(1, b"a"), (255, b"b")]),
        ("u12 array", dict(shape=(5,), format=[("u", 12)]), [0, 1, 4095, 2048, 7]),
        ("u12 variable", dict(shape=(None,), format=[("u", 12)]), [1, 2, 3]),
        ("u12 scalar", dict(shape=(), format=[("u", 12)]), 0xABC),
        ("i5 array", dict(shape=(6,), format=[("i", 5)]), [-16, -1, 0, 1, 15, 7]),
        ("b1 array", dict(shape=(9,), format=[("b", 1)]), [1, 0, 1, 1, 0, 0, 1, 0, 1]),
        ("u4 x4", dict(shape=(4,), format=[("u", 4)]), [1, 2, 3, 15]),
        ("u65 scalar", dict(shape=(), format=[("u", 65)]), 2**64 + 5),
        ("u24 scalar", dict(shape=(), format=[("u", 24)]), 0x123456),
        ("u40 scalar", dict(shape=(), format=[("u", 40)]), 0x123456789A),
        ("u48 scalar", dict(shape=(), format=[("u", 48)]), 0x123456789ABC),
        ("u48 >u8 array", dict(shape=(), format=[("u", 48)]), np.array(0x123456789ABC, ">u8")),
        ("u48 overflow", dict(shape=(), format=[("u", 48)]), 2**48 + 3),
        ("i48 >i8 array", dict(shape=(), format=[("i", 48)]), np.array(-2, ">i8")),
        ("i24 np.int64", dict(shape=(), format=[("i", 24)]), np.int64(-123456)),
        ("u56 float", dict(shape=(), format=[("u", 56)]), 5.7),
        ("u48 in 1-D", dict(shape=(1,), format=[("u", 48)]), [0x12]),
        ("multi bit-packed", dict(shape=(3,), format=[("u", 4), ("i", 12), ("u", 16)]),
         [(1, -5, 65535), (15, 2047, 0), (0, -2048, 1234)]),
        ("multi bit-packed scalar", dict(shape=(), format=[("u", 4), ("u", 4)]), (10, 11)),
        ("multi with f32", dict(shape=(2,), format=[("u", 4), ("f", 32)]), [(1, 0.5), (2, 1.0)]),
        ("multi with c8", dict(shape=(2,), format=[("c", 8), ("u", 4)]), [("ab", 1), ("c", 2)]),
        ("multi with b4", dict(shape=(2,), format=[("u", 4), ("b", 4)]), [(1, True), (2, 3)]),
        ("multi broadcast", dict(shape=(2,), format=[("u", 4), ("u", 4)]), [1, 2]),
        # 16 elements or more: converted with numpy a bit column at a time.
        ("u12 long", dict(shape=(None,), format=[("u", 12)]), [(i * 397) % 4096 for i in range(41)]),
        ("i5 2-D long", dict(shape=(4, 5), format=[("i", 5)]), [[(5 * r + c) % 32 - 16 for c in range(5)] for r in range(4)]),
        ("b1 long", dict(shape=(19,), format=[("b", 1)]), [i % 3 for i in range(19)]),
        ("u56 floats long", dict(shape=(16,), format=[("u", 56)]), [i + 0.75 for i in range(16)]),
        ("i63 long", dict(shape=(16,), format=[("i", 63)]), [(-1) ** i * (2**62 - i) for i in range(16)]),
        ("multi long", dict(shape=(17,), format=[("u", 4), ("i", 12), ("b", 1), ("u", 33)]),
         [(i % 16, 2047 - 250 * i, i % 2, 2**32 + 12345 * i) for i in range(17)]),
        ("multi long f32 c8", dict(shape=(16,), format=[("u", 4), ("f", 32), ("c", 8)]),
         [(i, i / 4 - 1, bytes([65 + i])) for i in range(16)]),
        # Errors while converting the value.
        ("error shape", dict(shape=(2,), dtype="<u2"), [1, 2, 3]),
        ("error str for int", dict(shape=(2,), dtype="<u2"), "ab"),
        ("error bytes for int", dict(shape=(None,), format=[("u", 8)]), b"ab"),
        ("error range u12", dict(shape=(3,), format=[("u", 12)]), [1, 2, 4096]),
        ("error range i12", dict(shape=(), format=[("i", 12)]), -2049),
        ("error range u12 long", dict(shape=(20,), format=[("u", 12)]), [4096 if i == 13 else i for i in range(20)]),
        ("error range multi long", dict(shape=(16,), format=[("u", 4), ("i", 3)]), [(i, 4 if i == 9 else 0) for i in range(16)]),
        ("error tuple length", dict(shape=(2,), format=[("u", 4), ("u", 4)]), [(1, 2, 3), (1, 2, 3)]),
        ("error non-ascii", dict(shape=(None,), format=[("c", 8)]), "h\u00e9llo"),
        ("error None", dict(shape=(), dtype="<u2"), None),
        ("error scalar shape", dict(shape=(), format=[("u", 48)]), [5]),
    ]
    return cases


CASES = _cases()

BAD_DESCRIPTORS = [
    dict(shape=(None, None), dtype="u1", format=[("u", 8)]),
    dict(shape=(None, None)),
    dict(shape=(2,), dtype="u1", format=[("u", 8)]),
    dict(shape=(2,)),
    dict(shape=(None,), dtype="u1", order="X"),
    dict(shape=(None,), dtype=object),
    dict(shape=(None,), dtype="V0"),
    dict(shape=(2,), format=[("u", 8)], order="X"),
    dict(shape=(2,), format=[], order="F"),
    dict(shape=(2,), dtype=object, order="X"),
    dict(shape=(2,), dtype="V0", order="X"),
    dict(shape=(2,), dtype=[("a", object)]),
    dict(shape=(2,), dtype="S0"),
    dict(shape=(2,), format=[]),
    dict(shape=(2,), format=[("u", 0)]),
    dict(shape=(2,), format=[("x", 0)]),
    dict(shape=(2,), format=[("x", -1)]),
    dict(shape=(2,), format=[("u", 8), ("x", 8), ("u", 0)]),
    dict(shape=(2,), format=[("u", 8), ("u", 0), ("x", 8)]),
    dict(shape=(2,), format=[("c", 7)]),
    dict(shape=(2,), format=[("f", 16)]),
    dict(shape=(2,), format=[("0", 8)]),
    dict(shape=(2,), format=[(b"u", 8)]),
    dict(shape=(2,), format=[("u", 8, 3)]),
    dict(shape=2, dtype="u1"),
]

REF_SCRIPT = r"""
import base64, pickle, sys
import numpy as np
import spead2, spead2.recv, spead2.send

def error(exc):
    return ("error", type(exc).__name__, str(exc))

class Fake:
    def __init__(self, buf, imm):
        self.id = 0x7A
        self.buf = buf
        self.imm = imm
    def to_buffer(self):
        return self.buf
    def allow_immediate(self):
        return self.imm

def decode(kwargs, flavour, data, allow_immediate):
    heap = spead2.send.Heap(flavour)
    heap.add_descriptor(spead2.Descriptor(0x7A, "x", "desc", **kwargs))
    heap.add_item(Fake(np.frombuffer(data, np.uint8), allow_immediate))
    packets = b"".join(bytes(p) for p in spead2.send.PacketGenerator(heap, 1, 1500))
    stream = spead2.recv.Stream(spead2.ThreadPool(), spead2.recv.StreamConfig(bug_compat=flavour.bug_compat))
    stream.add_buffer_reader(packets)
    heaps = list(stream)
    group = spead2.ItemGroup()
    group.update(heaps[0])
    return ("value", group["x"].value)

request = pickle.loads(sys.stdin.buffer.read())
out = {"cases": [], "bad": []}
for name, kwargs, value, flavour_args, our_bytes in request["cases"]:
    flavour = spead2.Flavour(*flavour_args)
    entry = {}
    try:
        item = spead2.Item(0x7A, "x", "desc", value=value, **kwargs)
        raw = item.to_raw(flavour)
        entry["raw"] = (raw.id, raw.name, raw.description, raw.numpy_header,
                        [tuple(f) for f in raw.format], list(raw.shape))
        entry["allow_immediate"] = item.allow_immediate()
        try:
            entry["bytes"] = ("bytes", bytes(memoryview(item.to_buffer())))
        except Exception as exc:
            entry["bytes"] = error(exc)
        if our_bytes is not None and our_bytes != b"":
            try:
                entry["decoded"] = decode(kwargs, flavour, our_bytes, item.allow_immediate())
            except Exception as exc:
                entry["decoded"] = error(exc)
    except Exception as exc:
        entry["construct"] = error(exc)
    out["cases"].append(entry)
for kwargs in request["bad"]:
    try:
        spead2.Descriptor(0x7A, "x", "desc", **kwargs)
        out["bad"].append(("ok",))
    except Exception as exc:
        out["bad"].append(error(exc))
sys.stdout.write(base64.b64encode(pickle.dumps(out)).decode())
"""


def error(exc):
    return ("error", type(exc).__name__, str(exc))


def our_bytes(item):
    try:
        return ("bytes", bytes(memoryview(item.to_buffer())))
    except Exception as exc:
        return error(exc)


class _RawItem(bytes):
    def __new__(cls, data, is_immediate):
        self = super().__new__(cls, data)
        self.id = ITEM_ID
        self.is_immediate = is_immediate
        self.immediate_value = int.from_bytes(data, "big") if is_immediate else 0
        return self


def decode_ours(kwargs, flavour, data, allow_immediate):
    width = flavour.heap_address_bits // 8
    is_immediate = allow_immediate and len(data) <= width
    if is_immediate:
        data = bytes(width - len(data)) + data
    item = spead2.Item(ITEM_ID, "x", "desc", **kwargs)
    try:
        item.set_from_raw(_RawItem(data, is_immediate))
    except Exception as exc:
        return error(exc)
    return ("value", item.value)


def same_value(a, b):
    """Exact equality of decoded values: type, dtype, shape and contents."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, np.generic)):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.hasobject:
            return same_value(a.tolist(), b.tolist())
        return a.tobytes() == b.tobytes()
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def comparison(run_ref):
    requests = []
    ours = []
    for flavour_name, flavour_args in FLAVOURS.items():
        flavour = spead2.Flavour(*flavour_args)
        for name, kwargs, value in CASES:
            entry = {}
            item = spead2.Item(ITEM_ID, "x", "desc", value=value, **kwargs)
            raw = item.to_raw(flavour)
            entry["raw"] = (
                raw.id,
                raw.name,
                raw.description,
                raw.numpy_header,
                [tuple(f) for f in raw.format],
                list(raw.shape),
            )
            entry["allow_immediate"] = item.allow_immediate()
            entry["bytes"] = our_bytes(item)
            data = entry["bytes"][1] if entry["bytes"][0] == "bytes" else None
            ours.append((flavour_name, name, kwargs, flavour, entry))
            requests.append((name, kwargs, value, flavour_args, data))
    payload = pickle.dumps({"cases": requests, "bad": BAD_DESCRIPTORS})
    ref = pickle.loads(base64.b64decode(run_ref(REF_SCRIPT, input=payload, timeout=600)))
    return ours, ref


def _ids():
    return [f"{f}:{name}" for f in FLAVOURS for name, _, _ in CASES]


@pytest.mark.parametrize("index", range(len(FLAVOURS) * len(CASES)), ids=_ids())
def test_item(comparison, index):
    ours, ref = comparison
    flavour_name, name, kwargs, flavour, entry = ours[index]
    theirs = ref["cases"][index]
    assert "construct" not in theirs, theirs.get("construct")
    # (a) descriptor fields
    assert entry["raw"] == theirs["raw"]
    assert entry["allow_immediate"] == theirs["allow_immediate"]
    # (b) value bytes, or the same error
    assert entry["bytes"] == theirs["bytes"]
    if entry["bytes"][0] != "bytes" or entry["bytes"][1] == b"":
        return  # nothing to decode (zero-length items are dropped by receivers)
    # (c) each side decodes the other's bytes to the same value
    mine = decode_ours(kwargs, flavour, theirs["bytes"][1], theirs["allow_immediate"])
    assert mine[0] == theirs["decoded"][0], (mine, theirs["decoded"])
    if mine[0] == "value":
        assert same_value(mine[1], theirs["decoded"][1]), (mine[1], theirs["decoded"][1])
    else:
        assert mine == theirs["decoded"]


@pytest.mark.parametrize("index", range(len(BAD_DESCRIPTORS)), ids=[repr(k) for k in BAD_DESCRIPTORS])
def test_descriptor_validation(comparison, index):
    _, ref = comparison
    kwargs = BAD_DESCRIPTORS[index]
    try:
        spead2.Descriptor(ITEM_ID, "x", "desc", **kwargs)
        mine = ("ok",)
    except Exception as exc:
        mine = error(exc)
    assert mine[0] == "error"
    assert mine == ref["bad"][index]
