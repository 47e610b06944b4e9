# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.Item: value/version, to_buffer and set_from_raw (API.md §4.1 "Value conversion").

Expected bytes were checked against spead2 4.5.1 (see tests/interop/test_item_values.py for the
live differential version).
"""

import numpy as np
import pytest
from fake_spead2_objects import FakeRawItem
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import spead2
from spead2 import Item


def make(shape, value=None, **kwargs):
    return Item(0x1000, "x", "desc", shape, value=value, **kwargs)


def buffer_bytes(item):
    return bytes(memoryview(item.to_buffer()))


def decoded(raw, shape, new_order="=", **kwargs):
    item = make(shape, **kwargs)
    item.set_from_raw(raw, new_order=new_order)
    return item.value


class TestValueVersion:
    def test_initial(self):
        assert make((), format=[("u", 32)]).version == 1
        item = make((), 3, format=[("u", 32)])
        assert item.version == 1
        assert item.value == 3

    def test_assign_increments(self):
        item = make((), 3, format=[("u", 32)])
        item.value = 3
        assert item.version == 2
        item.value = 4
        assert item.version == 3
        assert item.value == 4

    def test_assign_none(self):
        item = make((), 3, format=[("u", 32)])
        with pytest.raises(ValueError, match="^Item value cannot be set to None$"):
            item.value = None
        assert item.version == 1
        assert item.value == 3

    def test_version_writable(self):
        item = make((), format=[("u", 32)])
        item.version = 10
        assert item.version == 10

    def test_keyword_construction(self):
        item = Item(id=1, name="n", description="d", shape=(), format=[("u", 32)], value=5)
        assert item.value == 5

    def test_send_none(self):
        with pytest.raises(ValueError, match="^Cannot send a value of None$"):
            make((), format=[("u", 32)]).to_buffer()
        with pytest.raises(ValueError, match="^Cannot send a value of None$"):
            make((), format=[("u", 48)]).to_buffer()
        with pytest.raises(ValueError, match="^Cannot send a value of None$"):
            make((), format=[("u", 12)]).to_buffer()

    def test_set_from_raw_increments(self):
        item = make((), format=[("u", 32)])
        item.set_from_raw(FakeRawItem(b"\0\0\0\7"))
        assert item.version == 2
        assert item.value == 7


class TestToBufferNumpy:
    @pytest.mark.parametrize(
        "shape, kwargs, value, expected",
        [
            ((), dict(dtype="<u2"), 5, "0500"),
            ((), dict(dtype=">u2"), 5, "0005"),
            ((2,), dict(dtype=">u2"), [1, 2], "00010002"),
            ((2,), dict(dtype=">u2"), np.array([1, 2], "<u2"), "00010002"),
            ((2, 3), dict(dtype="<u2", order="F"), np.arange(6, dtype="<u2").reshape(2, 3), "000003000100040002000500"),
            ((2, 2), dict(dtype="<u2"), np.arange(6, dtype="<u2").reshape(2, 3)[:, ::2], "0000020003000500"),
            ((2,), dict(dtype="S1"), "ab", "6162"),
            ((2,), dict(dtype="S1"), b"ab", "6162"),
            ((), dict(dtype="S2"), "ab", "6162"),
            ((), dict(dtype=[("a", "u1"), ("b", ">u2")]), (1, 2), "010002"),
            ((2,), dict(dtype="<c8"), [1 + 2j, 3], "0000803f000000400000404000000000"),
            ((), dict(dtype="<u2"), np.float64(5.5), "0500"),
            ((None,), dict(format=[("c", 8)]), "hello", "68656c6c6f"),
            ((None,), dict(format=[("c", 8)]), b"hello", "68656c6c6f"),
            ((None,), dict(format=[("c", 8)]), "", ""),
            ((None,), dict(format=[("c", 8)]), ["a", "b"], "6162"),
            ((None, 2), dict(format=[("u", 8)]), [[1, 2], [3, 4], [5, 6]], "010203040506"),
            ((), dict(format=[("u", 16)]), 5, "0005"),
            ((), dict(format=[("f", 32)]), 1.5, "3fc00000"),
            ((), dict(format=[("b", 8)]), True, "01"),
            ((), dict(format=[("c", 8)]), "a", "61"),
            ((2,), dict(format=[("u", 8), ("f", 32)]), [(1, 0.5), (255, -2.0)], "013f000000ffc0000000"),
            ((2,), dict(format=[("u", 8), ("i", 8)]), [(1, -1), (255, -2)], "01fffffe"),
            ((2,), dict(format=[("u", 8), ("c", 8)]), [(1, b"a"), (255, b"b")], "0161ff62"),
        ],
    )
    def test_bytes(self, shape, kwargs, value, expected):
        item = make(shape, value, **kwargs)
        assert buffer_bytes(item) == bytes.fromhex(expected)

    def test_zero_copy(self):
        value = np.array([1, 2], "<u2")
        assert make((2,), value, dtype="<u2").to_buffer() is value
        value = np.array([1, 2], ">u2")
        assert np.shares_memory(make((2,), value, format=[("u", 16)]).to_buffer(), value)

    def test_fortran_zero_copy(self):
        value = np.asfortranarray(np.arange(6, dtype="<u2").reshape(2, 3))
        buf = make((2, 3), value, dtype="<u2", order="F").to_buffer()
        assert np.shares_memory(buf, value)
        assert memoryview(buf).c_contiguous

    def test_structured_by_position(self):
        value = np.array([(1, 2), (3, 4)], dtype=[("a", "u1"), ("b", "u1")])
        assert buffer_bytes(make((2,), value, format=[("u", 8), ("u", 8)])) == bytes([1, 2, 3, 4])

    @pytest.mark.parametrize(
        "shape, kwargs, value, message",
        [
            ((2,), dict(dtype="<u2"), [1, 2, 3], "Value has shape (3,), expected (2,)"),
            ((2,), dict(dtype="<u2"), [[1, 2]], "Value has shape (1, 2), expected (2,)"),
            ((1,), dict(dtype="<u2"), 5, "Value has shape (), expected (1,)"),
            ((), dict(dtype="<u2"), [5], "Value has shape (1,), expected ()"),
            ((3,), dict(dtype="S1"), "ab", "Value has shape (2,), expected (3,)"),
            ((None, 2), dict(format=[("u", 8)]), [[1, 2, 3]], "Value has shape (1, 3), expected (None, 2)"),
            ((2,), dict(dtype="<u2"), "ab", "invalid literal for int() with base 10: 'a'"),
            ((None,), dict(format=[("u", 8)]), b"ab", "invalid literal for int() with base 10: b'a'"),
        ],
    )
    def test_value_error(self, shape, kwargs, value, message):
        with pytest.raises(ValueError) as excinfo:
            make(shape, value, **kwargs).to_buffer()
        assert str(excinfo.value) == message

    def test_non_ascii(self):
        with pytest.raises(UnicodeEncodeError):
            make((None,), "h\u00e9llo", format=[("c", 8)]).to_buffer()

    def test_overflow(self):
        with pytest.raises(OverflowError):
            make((2,), [-1, 2], dtype="<u2").to_buffer()


class TestToBufferImmediate:
    @pytest.mark.parametrize(
        "format, value, expected",
        [
            ([("u", 48)], 0x123456789ABC, "123456789abc"),
            ([("u", 48)], 2**48, "000000000000"),  # truncated, as the reference does
            ([("i", 48)], 2**47, "800000000000"),
            ([("i", 48)], np.array(-2, ">i8"), "fffffffffffe"),
            ([("i", 56)], np.int64(-5), "fffffffffffffb"),
            ([("u", 56)], 5.7, "00000000000005"),
            ([("u", 48)], np.array(0x123456789ABC, "<u8"), "123456789abc"),
        ],
    )
    def test_bytes(self, format, value, expected):
        assert buffer_bytes(make((), value, format=format)) == bytes.fromhex(expected)

    def test_zero_copy(self):
        value = np.array(0x123456789ABC, ">u8")
        item = make((), value, format=[("u", 48)])
        buf = item.to_buffer()
        assert np.shares_memory(buf, value)
        value[()] = 0x0102030405060708
        assert bytes(memoryview(buf)) == bytes.fromhex("030405060708")

    @pytest.mark.parametrize(
        "format, value, exc",
        [
            ([("u", 48)], -1, OverflowError),
            ([("u", 48)], 2**64, OverflowError),
            ([("i", 48)], 2**64, OverflowError),
            ([("i", 48)], "x", ValueError),
            ([("i", 48)], [5], ValueError),
        ],
    )
    def test_errors(self, format, value, exc):
        with pytest.raises(exc):
            make((), value, format=format).to_buffer()

    def test_negative_python_int(self):
        # spead2 4.5.1 raises OverflowError here; we send the two's complement.
        assert buffer_bytes(make((), -2, format=[("i", 48)])) == bytes.fromhex("fffffffffffe")
        assert buffer_bytes(make((), -123456, format=[("i", 24)])) == bytes.fromhex("fe1dc0")


class TestToBufferBitPacked:
    @pytest.mark.parametrize(
        "shape, format, value, expected",
        [
            ((), [("u", 12)], 0xABC, "abc0"),
            ((), [("i", 12)], -2, "ffe0"),
            ((), [("i", 12)], 5.5, "0050"),
            ((), [("u", 4)], 5, "50"),
            ((), [("u", 65)], 5, "000000000000000280"),
            ((3,), [("u", 12)], [1, 2, 4095], "001002fff0"),
            ((2,), [("u", 12)], np.array([5, 1], np.uint16), "005001"),
            ((4,), [("i", 5)], [-16, -1, 0, 15], "87c0f0"),
            ((4,), [("b", 1)], [True, False, 1, 0], "a0"),
            ((None,), [("u", 12)], [1, 2, 3], "0010020030"),
            ((None,), [("u", 12)], [], ""),
            ((2, None), [("u", 12)], [[1, 2, 3], [4, 5, 6]], "001002003004005006"),
            ((1,), [("u", 48)], np.array([0x12], ">u8"), "000000000012"),
            ((2,), [("u", 4), ("i", 12), ("u", 16)], [(1, -5, 65535), (15, 2047, 0)], "1ffbfffff7ff0000"),
            ((2,), [("u", 4), ("c", 8)], [(1, b"a"), (2, b"b")], "161262"),
            ((2,), [("c", 8), ("u", 4)], [("ab", 1), ("c", 2)], "611632"),
            ((2,), [("u", 4), ("f", 32)], [(1, 0.5), (2, 1.0)], "13f00000023f800000"),
            ((2,), [("f", 64), ("u", 4)], [(1.5, 1), (2, 2)], "3ff8000000000000140000000000000002"),
            ((2,), [("u", 4), ("b", 4)], [(1, True), (2, 3)], "1121"),
            ((2,), [("u", 4), ("u", 4)], [1, 2], "1122"),
            ((), [("u", 4), ("u", 12)], (1, 2), "1002"),
            ((2,), [("u", 4), ("u", 4)], np.array([(1, 2), (3, 4)], dtype=[("a", "u1"), ("b", "u1")]), "1234"),
        ],
    )
    def test_bytes(self, shape, format, value, expected):
        buf = make(shape, value, format=format).to_buffer()
        assert isinstance(buf, bytearray)
        assert bytes(buf) == bytes.fromhex(expected)

    @pytest.mark.parametrize(
        "shape, format, value, message",
        [
            ((3,), [("u", 12)], [1, 2, 4096], "4096 is out of range for u12"),
            ((), [("u", 12)], -1, "-1 is out of range for u12"),
            ((), [("i", 12)], 2048, "2048 is out of range for i12"),
            ((), [("i", 12)], -2049, "-2049 is out of range for i12"),
            ((2,), [("u", 12)], ["a", 1], "invalid literal for int() with base 10: 'a'"),
            ((2,), [("u", 4), ("u", 4)], [(1, 2, 3), (1, 2, 3)], "could not assign tuple of length 3 to structure with 2 fields."),
        ],
    )
    def test_errors(self, shape, format, value, message):
        with pytest.raises(ValueError) as excinfo:
            make(shape, value, format=format).to_buffer()
        assert str(excinfo.value) == message


class TestSetFromRaw:
    def test_numpy_scalar(self):
        value = decoded(FakeRawItem(b"\x01\x02"), (), dtype="<u2")
        assert type(value) is np.uint16
        assert value == 0x0201
        assert decoded(FakeRawItem(b"\x01\x02"), (), dtype=">u2") == 0x0102

    @pytest.mark.parametrize("new_order, expected", [("=", "=u2"), ("|", ">u2"), ("<", "<u2"), (">", ">u2")])
    def test_new_order(self, new_order, expected):
        value = decoded(FakeRawItem(b"\x01\x02\x03\x04"), (2,), new_order, dtype=">u2")
        assert value.dtype == np.dtype(expected)
        assert value.tolist() == [0x0102, 0x0304]

    @pytest.mark.parametrize("new_order", ["=", "|", "<", ">"])
    def test_new_order_subarray(self, new_order):
        # The subarray becomes a trailing axis, once, whatever the byte order asked for.
        value = decoded(FakeRawItem(b"\x00\x01\x02\x03\xff\xff"), (1,), new_order, dtype=("<u2", (2,)))
        assert value.dtype == np.dtype("<u2").newbyteorder(new_order)
        assert value.shape == (1, 2)
        assert value.tolist() == [[0x0100, 0x0302]]

    def test_new_order_structured(self):
        value = decoded(FakeRawItem(bytes.fromhex("013f000000ffc0000000")), (2,), format=[("u", 8), ("f", 32)])
        assert value.dtype == np.dtype([("f0", "u1"), ("f1", "=f4")])
        assert value.tolist() == [(1, 0.5), (255, -2.0)]
        value = decoded(FakeRawItem(bytes.fromhex("3ff000003ff00000")), (2,), "<", format=[("f", 32)])
        assert value.dtype == np.dtype("<f4")
        assert value.tolist() == [1.875, 1.875]

    def test_truncate(self):
        value = decoded(FakeRawItem(b"\x01\x02\x03\x04\x05"), (2,), dtype="<u2")
        assert value.tolist() == [0x0201, 0x0403]

    @pytest.mark.parametrize(
        "data, shape, kwargs, message",
        [
            (b"\x01\x02\x03", (2,), dict(dtype="<u2"), "Item x has too few elements for shape (1 < 2)"),
            (bytes.fromhex("001002"), (3,), dict(format=[("u", 12)]), "Item x has too few elements for shape (2 < 3)"),
            (b"\x01\x02", (), dict(format=[("u", 24)]), "Item x has too few elements for shape (0 < 1)"),
            (b"\x01", (), dict(format=[("u", 12)]), "Item x has too few elements for shape (0 < 1)"),
            # A shape from the wire whose element count numpy cannot take (OverflowError there).
            (
                bytes(16),
                (2**63 - 1, 2),
                dict(dtype="<u1"),
                "Item x has too few elements for shape (16 < 18446744073709551614)",
            ),
        ],
    )
    def test_too_few(self, data, shape, kwargs, message):
        with pytest.raises(ValueError) as excinfo:
            decoded(FakeRawItem(data), shape, **kwargs)
        assert str(excinfo.value) == message

    def test_fortran(self):
        value = decoded(FakeRawItem(bytes(range(12))), (2, 3), dtype="<u2", order="F")
        assert value.flags.f_contiguous
        assert value.tolist() == [[0x0100, 0x0504, 0x0908], [0x0302, 0x0706, 0x0B0A]]

    def test_zero_copy_view(self):
        raw = WritableRawItem(b"\x01\x02\x03\x04")
        item = make((2,), dtype="=u2")
        item.set_from_raw(raw)
        assert np.shares_memory(item.value, np.frombuffer(raw, np.uint8))
        assert item.value.flags.writeable

    def test_strings(self):
        assert decoded(FakeRawItem(b"hello"), (None,), format=[("c", 8)]) == "hello"
        assert decoded(FakeRawItem(b"hello"), (5,), format=[("c", 8)]) == "hello"
        assert decoded(FakeRawItem(b"a\0b"), (None,), format=[("c", 8)]) == "ab"
        value = decoded(FakeRawItem(b"a"), (), format=[("c", 8)])
        assert type(value) is np.bytes_ and value == b"a"
        value = decoded(FakeRawItem(b"hello"), (2, None), format=[("c", 8)])
        assert value.dtype == np.dtype("S1") and value.tolist() == [[b"h", b"e"], [b"l", b"l"]]
        value = decoded(FakeRawItem(b"abc"), (3,), dtype="S1")
        assert isinstance(value, np.ndarray) and value.tolist() == [b"a", b"b", b"c"]
        with pytest.raises(UnicodeDecodeError):
            decoded(FakeRawItem(b"h\xe9llo"), (None,), format=[("c", 8)])

    def test_variable(self):
        value = decoded(FakeRawItem(b"hello"), (None, 2), format=[("u", 8)])
        assert value.tolist() == [[104, 101], [108, 108]]
        value = decoded(FakeRawItem(b"hello"), (0, None), format=[("u", 8)])
        assert value.shape == (0, 0)

    @pytest.mark.parametrize(
        "data, shape, format, expected",
        [
            ("123456789abc", (), [("u", 48)], 0x123456789ABC),
            ("123456789abc", (), [("u", 40)], 0x123456789A),
            ("fffffe", (), [("i", 24)], -2),
            ("abc0", (), [("u", 12)], 0xABC),
            ("010203040506070809", (), [("u", 12)], 0x010),
            ("000000000000000280", (), [("u", 65)], 5),
        ],
    )
    def test_int_scalars(self, data, shape, format, expected):
        value = decoded(FakeRawItem(bytes.fromhex(data)), shape, format=format)
        assert type(value) is int
        assert value == expected

    def test_bit_packed_arrays(self):
        value = decoded(FakeRawItem(bytes.fromhex("001002fff0ff")), (None,), format=[("u", 12)])
        assert value.dtype == object and value.tolist() == [1, 2, 4095, 255]
        value = decoded(FakeRawItem(bytes.fromhex("87c0f0")), (4,), format=[("i", 5)])
        assert value.tolist() == [-16, -1, 0, 15]
        value = decoded(FakeRawItem(bytes.fromhex("a0")), (4,), format=[("b", 1)])
        assert value.tolist() == [True, False, True, False]
        assert all(type(x) is bool for x in value)

    def test_multi_field(self):
        format = [("u", 4), ("i", 12), ("u", 16)]
        value = decoded(FakeRawItem(bytes.fromhex("1ffbfffff7ff0000")), (2,), format=format)
        assert value.dtype == np.dtype([("f0", "O"), ("f1", "O"), ("f2", ">u2")])
        assert value.tolist() == [(1, -5, 65535), (15, 2047, 0)]
        value = decoded(FakeRawItem(bytes.fromhex("1ffbffff")), (), format=format)
        assert isinstance(value, np.void) and value.tolist() == (1, -5, 65535)
        value = decoded(FakeRawItem(bytes.fromhex("161262")), (2,), format=[("u", 4), ("c", 8)])
        assert value.tolist() == [(1, b"a"), (2, b"b")]
        value = decoded(FakeRawItem(bytes.fromhex("13f00000023f800000")), (2,), format=[("u", 4), ("f", 32)])
        assert value.dtype == np.dtype([("f0", "O"), ("f1", ">f4")])
        assert value.tolist() == [(1, 0.5), (2, 1.0)]
        value = decoded(FakeRawItem(bytes.fromhex("1121")), (2,), format=[("u", 4), ("b", 4)])
        assert value.tolist() == [(1, True), (2, True)]

    @pytest.mark.parametrize(
        "data, shape, kwargs, expected",
        [
            # Fixed sizes: the value is the tail of the immediate.
            ("0102", (), dict(dtype="<u2"), 0x0201),
            ("010203", (), dict(dtype="<u4"), 0x03020100),
            ("0102", (), dict(format=[("u", 24)]), 0x000102),
            ("123456789a", (), dict(format=[("u", 40)]), 0x123456789A),
            ("f23456789a", (), dict(format=[("i", 40)]), -59251459942),
            ("fffffe", (), dict(format=[("i", 24)]), -2),
            ("0abc", (), dict(format=[("u", 12)]), 0x0AB),
            ("010203", (1,), dict(format=[("u", 24)]), [0x010203]),
            ("010203", (2,), dict(format=[("u", 12)]), [0x010, 0x203]),
            ("ab", (), dict(format=[("u", 4), ("u", 4)]), (10, 11)),
            # Variable sizes: the whole immediate.
            ("0102", (None,), dict(format=[("u", 8)]), [0, 0, 0, 1, 2]),
            ("0102", (None,), dict(format=[("u", 12)]), [0, 0, 16]),
            ("0102", (None, 2), dict(format=[("u", 8)]), [[0, 0], [1, 2]]),
            ("6162", (None,), dict(format=[("c", 8)]), "ab"),
        ],
    )
    def test_immediate(self, data, shape, kwargs, expected):
        value = decoded(FakeRawItem.immediate(bytes.fromhex(data)), shape, **kwargs)
        if isinstance(value, (np.ndarray, np.void)):
            value = value.tolist()
        assert value == expected

    def test_immediate_too_short(self):
        with pytest.raises(ValueError, match=r"^Item x has too few elements for shape \(0 < 1\)$"):
            decoded(FakeRawItem.immediate(bytes.fromhex("0102030405")), (), format=[("u", 64)])

    def test_immediate_48(self):
        raw = FakeRawItem.immediate(bytes.fromhex("123456789a"), heap_address_bits=48)
        assert decoded(raw, (), format=[("u", 40)]) == 0x123456789A


class WritableRawItem(bytearray):
    """A raw item whose buffer is writable, as the receiver's heap memory is."""

    def __init__(self, data):
        super().__init__(data)
        self.is_immediate = False
        self.id = 0x1000


FORMAT_FIELDS = st.one_of(
    st.tuples(st.sampled_from("ui"), st.integers(1, 70)),
    st.tuples(st.just("b"), st.integers(1, 12)),
    st.tuples(st.just("f"), st.sampled_from([32, 64])),
    st.tuples(st.just("c"), st.just(8)),
)


def field_values(code, bits):
    if code == "u":
        return st.integers(0, 2**bits - 1)
    if code == "i":
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if code == "b":
        return st.booleans()
    if code == "c":
        # Printable ASCII: NUL vanishes and non-ASCII fails when a 1-D c8 becomes a str.
        return st.integers(1, 127).map(lambda c: bytes((c,)))
    width = np.float32 if bits == 32 else np.float64
    return st.floats(allow_nan=False, width=bits).map(lambda x: float(width(x)))


@st.composite
def format_items(draw):
    fmt = draw(st.lists(FORMAT_FIELDS, min_size=1, max_size=3))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=2)))
    n = int(np.prod(shape))
    elements = [tuple(draw(field_values(c, b)) for c, b in fmt) for _ in range(n)]
    if len(fmt) == 1:
        elements = [e[0] for e in elements]
    dtype = Item(1, "x", "", shape, format=fmt)._internal_dtype
    array = np.empty(n, dtype)
    for i, e in enumerate(elements):
        array[i] = e
    return fmt, shape, array.reshape(shape)


class TestRoundTrip:
    @settings(max_examples=200, deadline=None)
    @given(format_items())
    def test_format(self, case):
        fmt, shape, value = case
        sender = Item(0x1000, "x", "", shape, format=fmt, value=value)
        data = bytes(memoryview(sender.to_buffer()))
        assert len(data) == (sender.itemsize_bits * value.size + 7) // 8
        receiver = Item(0x1000, "x", "", shape, format=fmt)
        receiver.set_from_raw(FakeRawItem(data), new_order="|")
        received = receiver.value
        expected = value[()] if value.ndim == 0 else value
        if fmt == [("c", 8)] and len(shape) == 1:
            assert received == b"".join(value.tolist()).decode("latin-1")
        elif isinstance(expected, np.ndarray):
            assert received.shape == expected.shape
            assert received.tolist() == expected.tolist()
        else:
            assert np.asarray(received).tolist() == np.asarray(expected).tolist()

    @settings(max_examples=100, deadline=None)
    @given(
        code=st.sampled_from(["u1", "<u2", ">i4", "<f8", ">c8", "|b1", "S2", "<u8"]),
        shape=st.lists(st.integers(0, 4), max_size=3),
        order=st.sampled_from("CF"),
        data=st.data(),
    )
    def test_numpy(self, code, shape, order, data):
        dtype = np.dtype(code)
        raw = data.draw(st.binary(min_size=dtype.itemsize * int(np.prod(shape)), max_size=64 + dtype.itemsize * 64))
        if dtype.kind == "b":
            raw = bytes(b & 1 for b in raw)  # numpy bool scalars normalise other bytes to 1
        value = np.frombuffer(raw, dtype, count=int(np.prod(shape))).reshape(shape, order=order)
        sender = Item(0x1000, "x", "", shape, dtype, order=order, value=value)
        wire = bytes(memoryview(sender.to_buffer()))
        assert wire == raw[: len(wire)]
        receiver = Item(0x1000, "x", "", shape, dtype, order=order)
        receiver.set_from_raw(FakeRawItem(raw), new_order="|")
        got = np.array(receiver.value, dtype=dtype)
        assert got.shape == tuple(shape)
        assert got.tobytes(order="A") == np.asarray(value).tobytes(order="A")


def element_by_element(monkeypatch):
    """Makes every bit-packed conversion take the element-by-element path."""
    monkeypatch.setattr(spead2._values, "_VECTOR_MIN_ELEMENTS", 1 << 62)


@st.composite
def packed_arrays(draw):
    """A bit-packed format and an array of 16 to 100 elements for it (the vectorised sizes)."""
    fmt = draw(st.lists(FORMAT_FIELDS, min_size=1, max_size=3))
    n = draw(st.integers(16, 100))
    dtype = Item(1, "x", "", (n,), format=fmt)._internal_dtype
    assume(dtype.hasobject)  # the formats numpy holds whole never get here
    array = np.empty(n, dtype)
    for i in range(n):
        element = tuple(draw(field_values(c, b)) for c, b in fmt)
        array[i] = element[0] if len(fmt) == 1 else element
    return fmt, array


def same_values(a, b):
    """Equal values of the same Python types, element by element (fields too)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    for x, y in zip(a.tolist(), b.tolist()):
        for p, q in zip(x, y) if isinstance(x, tuple) else [(x, y)]:
            assert type(p) is type(q)
            assert p == q or (p != p and q != q)  # NaN from random bits


class TestBitPackedVector:
    """Bit-packed arrays of 16 elements or more are converted with numpy, a bit column at a time;
    these compare that path with the element-by-element one and with bytes worked out by hand."""

    def test_exact_bytes(self):
        item = make((16,), np.arange(16), format=[("u", 12)])
        assert buffer_bytes(item).hex() == "".join(f"{i:03x}" for i in range(16))
        # (-1, True) -> 1111, (0, False) -> 0000, (3, True) -> 0111, then four bits of padding.
        item = make((17,), [(-1, True), (0, False)] * 8 + [(3, True)], format=[("i", 3), ("b", 1)])
        assert buffer_bytes(item).hex() == "f0" * 8 + "70"
        value = decoded(FakeRawItem(bytes.fromhex("f0" * 8 + "70")), (17,), format=[("i", 3), ("b", 1)])
        assert value.tolist() == [(-1, True), (0, False)] * 8 + [(3, True)]
        assert type(value[0]["f0"]) is int and type(value[0]["f1"]) is bool

    @settings(max_examples=150, deadline=None)
    @given(packed_arrays())
    def test_pack_matches_element_by_element(self, case):
        fmt, array = case
        vectorised = buffer_bytes(make(array.shape, array, format=fmt))
        with pytest.MonkeyPatch.context() as monkeypatch:
            element_by_element(monkeypatch)
            assert buffer_bytes(make(array.shape, array, format=fmt)) == vectorised

    @settings(max_examples=150, deadline=None)
    @given(packed_arrays(), st.data())
    def test_unpack_matches_element_by_element(self, case, data):
        fmt, array = case
        bits = make(array.shape, format=fmt).itemsize_bits * array.size
        raw = data.draw(st.binary(min_size=(bits + 7) // 8, max_size=(bits + 7) // 8 + 2))
        vectorised = decoded(FakeRawItem(raw), (None,), format=fmt)
        with pytest.MonkeyPatch.context() as monkeypatch:
            element_by_element(monkeypatch)
            same_values(decoded(FakeRawItem(raw), (None,), format=fmt), vectorised)

    @pytest.mark.parametrize(
        "format, value, message",
        [
            ([("u", 12)], 4096, "4096 is out of range for u12"),
            ([("u", 12)], -1, "-1 is out of range for u12"),
            ([("i", 5)], 16, "16 is out of range for i5"),
            ([("i", 5)], -17, "-17 is out of range for i5"),
            ([("u", 63)], 1 << 63, "9223372036854775808 is out of range for u63"),  # beyond int64
        ],
    )
    def test_out_of_range(self, format, value, message):
        values = np.zeros(40, dtype=object)
        values[25] = value
        item = make((40,), values, format=format)
        with pytest.raises(ValueError, match="^" + message + "$"):
            item.to_buffer()

    @pytest.mark.parametrize(
        "code, values",
        [
            ("u", [(1 << 64) - 1, 1 << 63, 0, 1]),  # above int64: packed element by element
            ("i", [-1, -(1 << 63), (1 << 63) - 1, 0]),
        ],
    )
    def test_64_bit_fields(self, code, values, monkeypatch):
        # With a 1-bit field after it (65 bits an element), only the first element is byte-aligned.
        fmt = [(code, 64), ("b", 1)]
        array = np.empty(20, make((20,), format=fmt)._internal_dtype)
        array[:] = [(v, True) for v in values * 5]
        data = buffer_bytes(make((20,), array, format=fmt))
        assert data[:8] == values[0].to_bytes(8, "big", signed=code == "i")
        value = decoded(FakeRawItem(data), (20,), format=fmt)
        assert value.tolist() == [(v, True) for v in values * 5]
        element_by_element(monkeypatch)
        assert buffer_bytes(make((20,), array, format=fmt)) == data
