# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.Descriptor: validation, properties, to_raw/from_raw (API.md §1.5, §4.1)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import spead2
from spead2 import Descriptor

FLAVOUR = spead2.Flavour()
FLAVOUR_48 = spead2.Flavour(4, 64, 48, 0)
FLAVOUR_PYSPEAD = spead2.Flavour(4, 64, 40, spead2.BUG_COMPAT_PYSPEAD_0_5_2)


def raw_descriptor(id=0x1000, name=b"name", description=b"desc", numpy_header=b"", format=(), shape=()):
    raw = spead2._spead2.RawDescriptor()
    raw.id = id
    raw.name = name
    raw.description = description
    raw.numpy_header = numpy_header
    raw.format = list(format)
    raw.shape = list(shape)
    return raw


class TestValidation:
    @pytest.mark.parametrize(
        "kwargs, message",
        [
            (dict(shape=(None, None), dtype="u1"), "Cannot have multiple unknown dimensions"),
            (dict(shape=(None, None), format=[("x", 8)]), "Cannot have multiple unknown dimensions"),
            (dict(shape=(2,), dtype="u1", format=[("u", 8)]), "Only one of dtype and format can be specified"),
            (dict(shape=(2,)), "One of dtype and format must be specified"),
            (dict(shape=(None,), dtype="u1"), "Cannot have unknown dimensions when using numpy descriptor"),
            (dict(shape=(2,), format=[("u", 8)], order="F"), "When specifying format, order must be 'C'"),
            (dict(shape=(2,), format=[], order="F"), "When specifying format, order must be 'C'"),
            (dict(shape=(2,), dtype="u1", order="X"), "Order must be 'C' or 'F'"),
            (dict(shape=(2,), dtype="u1", order="f"), "Order must be 'C' or 'F'"),
            (dict(shape=(2,), dtype=object), "Cannot use dtype that has reference-counted objects"),
            (dict(shape=(None,), dtype=object), "Cannot use dtype that has reference-counted objects"),
            (dict(shape=(2,), dtype=[("a", object)]), "Cannot use dtype that has reference-counted objects"),
            (dict(shape=(2,), dtype="V0"), "Cannot use zero-sized dtype"),
            (dict(shape=(2,), dtype="S0"), "Cannot use zero-sized dtype"),
            (dict(shape=(2,), dtype=np.dtype([])), "Cannot use zero-sized dtype"),
            (dict(shape=(2,), format=[]), "empty format"),
            (dict(shape=(2,), format=[("u", 0)]), "zero-length field (bug_compat mismatch?)"),
            (dict(shape=(2,), format=[("u", 8), ("i", 0)]), "zero-length field (bug_compat mismatch?)"),
            (dict(shape=(2,), format=[("u", -8)]), "negative-length field"),
            (dict(shape=(2,), format=[("x", 8)]), "illegal format (x, 8)"),
            (dict(shape=(2,), format=[("0", 8)]), "illegal format (0, 8)"),
            (dict(shape=(2,), format=[("c", 7)]), "illegal format (c, 7)"),
            (dict(shape=(2,), format=[("f", 16)]), "illegal format (f, 16)"),
            (dict(shape=(2,), format=[("u", 8), ("x", 8), ("u", 0)]), "illegal format (x, 8)"),
            (dict(shape=(2,), format=[(b"u", 8)]), "illegal format (b'u', 8)"),
        ],
    )
    def test_value_error(self, kwargs, message):
        with pytest.raises(ValueError) as excinfo:
            Descriptor(0x1000, "name", "desc", **kwargs)
        assert str(excinfo.value) == message

    def test_shape_not_iterable(self):
        with pytest.raises(TypeError):
            Descriptor(0x1000, "name", "desc", 2, dtype="u1")

    def test_attributes(self):
        d = Descriptor(0x1234, "name", "desc", [2, 3], "<u2", order="F")
        assert d.id == 0x1234
        assert d.name == "name"
        assert d.description == "desc"
        assert d.shape == (2, 3)
        assert isinstance(d.shape, tuple)
        assert d.dtype == np.dtype("<u2")
        assert isinstance(d.dtype, np.dtype)
        assert d.order == "F"
        assert d.format is None

    def test_format_kept_as_given(self):
        fmt = [("u", 12), ("c", 8)]
        d = Descriptor(1, "a", "b", (), format=fmt)
        assert d.format is fmt
        assert d.dtype is None


class TestProperties:
    @pytest.mark.parametrize(
        "kwargs, bits",
        [
            (dict(dtype="<c8"), 64),
            (dict(dtype=[("a", "u1"), ("b", "<f8")]), 72),
            (dict(dtype="U3"), 96),
            (dict(format=[("u", 12)]), 12),
            (dict(format=[("u", 8), ("i", 5), ("f", 32)]), 45),
            (dict(format=[("u", 65)]), 65),
        ],
    )
    def test_itemsize_bits(self, kwargs, bits):
        assert Descriptor(1, "a", "b", (), **kwargs).itemsize_bits == bits

    def test_itemsize_bits_follows_format(self):
        d = Descriptor(1, "a", "b", (), format=[("u", 4), ("u", 4)])
        d.format = [("u", 8)]
        assert d.itemsize_bits == 8

    @pytest.mark.parametrize(
        "shape, kwargs, variable, immediate",
        [
            ((2, 0), dict(dtype="<u2"), False, True),
            ((), dict(dtype="S3"), False, True),
            ((None,), dict(format=[("u", 8)]), True, False),
            ((3, None), dict(format=[("c", 8)]), True, False),
            ((3,), dict(format=[("u", 4)]), False, False),
            # Per element, not in total: four u4 are still refused.
            ((4,), dict(format=[("u", 4)]), False, False),
            ((2,), dict(format=[("u", 12)]), False, False),
            ((8,), dict(format=[("b", 1)]), False, False),
            ((), dict(format=[("u", 4), ("u", 4)]), False, True),
            ((2,), dict(format=[("u", 4), ("u", 12)]), False, True),
            ((), dict(format=[("u", 48)]), False, True),
        ],
    )
    def test_variable_and_immediate(self, shape, kwargs, variable, immediate):
        d = Descriptor(1, "a", "b", shape, **kwargs)
        assert d.is_variable_size() is variable
        assert d.allow_immediate() is immediate

    def test_methods_not_properties(self):
        # The stubs of the reference claim properties; the runtime has methods.
        d = Descriptor(1, "a", "b", (), "u1")
        assert callable(d.is_variable_size)
        assert callable(d.allow_immediate)

    @pytest.mark.parametrize(
        "max_elements, expected", [(0, [0, 3]), (2, [0, 3]), (3, [1, 3]), (5, [1, 3]), (6, [2, 3]), (100, [33, 3])]
    )
    def test_dynamic_shape(self, max_elements, expected):
        d = Descriptor(1, "a", "b", (None, 3), format=[("u", 8)])
        assert d.dynamic_shape(max_elements) == expected

    def test_dynamic_shape_zero_known(self):
        assert Descriptor(1, "a", "b", (None, 0), format=[("u", 8)]).dynamic_shape(5) == [0, 0]

    def test_dynamic_shape_fixed(self):
        assert Descriptor(1, "a", "b", (2, 3), format=[("u", 8)]).dynamic_shape(5) == (2, 3)
        assert Descriptor(1, "a", "b", (), format=[("u", 8)]).dynamic_shape(5) == ()

    @pytest.mark.parametrize(
        "shape, ok", [((5, 3), True), ((0, 3), True), ([5, 3], True), ((5, 4), False), ((5,), False), ((5, 3, 1), False)]
    )
    def test_compatible_shape_variable(self, shape, ok):
        assert Descriptor(1, "a", "b", (None, 3), format=[("u", 8)]).compatible_shape(shape) is ok

    @pytest.mark.parametrize("shape, ok", [((2, 3), True), ([2, 3], True), ((2, 4), False), ((3, 2), False)])
    def test_compatible_shape_fixed(self, shape, ok):
        assert Descriptor(1, "a", "b", (2, 3), format=[("u", 8)]).compatible_shape(shape) is ok


class TestFormatParsing:
    @pytest.mark.parametrize(
        "format, dtype, fastpath",
        [
            ([("u", 8)], "u1", spead2._FASTPATH_NUMPY),
            ([("u", 16)], ">u2", spead2._FASTPATH_NUMPY),
            ([("i", 32)], ">i4", spead2._FASTPATH_NUMPY),
            ([("u", 64)], ">u8", spead2._FASTPATH_NUMPY),
            ([("f", 32)], ">f4", spead2._FASTPATH_NUMPY),
            ([("f", 64)], ">f8", spead2._FASTPATH_NUMPY),
            ([("b", 8)], "?", spead2._FASTPATH_NUMPY),
            ([("c", 8)], "S1", spead2._FASTPATH_NUMPY),
            ([("u", 12)], "O", spead2._FASTPATH_IMMEDIATE),
            ([("i", 48)], "O", spead2._FASTPATH_IMMEDIATE),
            ([("u", 96)], "O", spead2._FASTPATH_NONE),
            ([("b", 16)], "O", spead2._FASTPATH_NONE),
            ([("u", 8), ("f", 32)], [("f0", "u1"), ("f1", ">f4")], spead2._FASTPATH_NUMPY),
            ([("u", 4), ("u", 4)], [("f0", "O"), ("f1", "O")], spead2._FASTPATH_NONE),
            ([("u", 4), ("u", 16)], [("f0", "O"), ("f1", ">u2")], spead2._FASTPATH_NONE),
        ],
    )
    def test_mapping(self, format, dtype, fastpath):
        d = Descriptor(1, "a", "b", (), format=format)
        assert d._internal_dtype == np.dtype(dtype)
        assert d._fastpath == fastpath

    def test_immediate_fastpath_only_scalar(self):
        assert Descriptor(1, "a", "b", (1,), format=[("u", 48)])._fastpath == spead2._FASTPATH_NONE
        assert Descriptor(1, "a", "b", (None,), format=[("u", 48)])._fastpath == spead2._FASTPATH_NONE


class TestToRaw:
    @pytest.mark.parametrize(
        "shape, dtype, order, header",
        [
            ((2, 3), "<u2", "C", b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}"),
            ((2, 3), ">u2", "C", b"{'descr': '>u2', 'fortran_order': False, 'shape': (2, 3)}"),
            ((2, 3), "<u2", "F", b"{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3)}"),
            ((), "S5", "C", b"{'descr': '|S5', 'fortran_order': False, 'shape': ()}"),
            ((), "bool", "C", b"{'descr': '|b1', 'fortran_order': False, 'shape': ()}"),
            ((5,), "<c16", "C", b"{'descr': '<c16', 'fortran_order': False, 'shape': (5,)}"),
            ((2, 0), "u1", "C", b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 0)}"),
            (
                (),
                [("a", "<i4"), ("b", ">f8")],
                "C",
                b"{'descr': [('a', '<i4'), ('b', '>f8')], 'fortran_order': False, 'shape': ()}",
            ),
            (
                (),
                np.dtype([("a", "<i4"), ("b", ">f8")], align=True),
                "C",
                b"{'descr': [('a', '<i4'), ('', '|V4'), ('b', '>f8')], 'fortran_order': False, 'shape': ()}",
            ),
        ],
    )
    def test_numpy_header(self, shape, dtype, order, header):
        raw = Descriptor(0x1000, "name", "desc", shape, dtype, order=order).to_raw(FLAVOUR)
        assert raw.id == 0x1000
        assert raw.name == b"name"
        assert raw.description == b"desc"
        assert raw.numpy_header == header
        assert raw.format == []
        assert list(raw.shape) == list(shape)

    def test_native_byte_order(self):
        raw = Descriptor(0x1000, "name", "desc", (2,), np.uint16).to_raw(FLAVOUR)
        expected = np.lib.format.dtype_to_descr(np.dtype(np.uint16))
        assert raw.numpy_header == repr({"descr": expected, "fortran_order": False, "shape": (2,)}).encode()

    @pytest.mark.parametrize(
        "dtype, header",
        [
            (">u2", b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,)}"),
            ("<f8", b"{'descr': '>f8', 'fortran_order': False, 'shape': (2,)}"),
            ("S5", b"{'descr': '|S5', 'fortran_order': False, 'shape': (2,)}"),
            ([("a", "<i4"), ("b", ">f8")], b"{'descr': [('a', '>i4'), ('b', '<f8')], 'fortran_order': False, 'shape': (2,)}"),
        ],
    )
    def test_swap_endian(self, dtype, header):
        raw = Descriptor(0x1000, "name", "desc", (2,), dtype).to_raw(FLAVOUR_PYSPEAD)
        assert raw.numpy_header == header

    def test_swap_endian_flag_alone(self):
        flavour = spead2.Flavour(4, 64, 48, spead2.BUG_COMPAT_SWAP_ENDIAN)
        raw = Descriptor(0x1000, "name", "desc", (), "<u4").to_raw(flavour)
        assert raw.numpy_header == b"{'descr': '>u4', 'fortran_order': False, 'shape': ()}"
        flavour = spead2.Flavour(4, 64, 48, spead2.BUG_COMPAT_DESCRIPTOR_WIDTHS | spead2.BUG_COMPAT_SHAPE_BIT_1)
        raw = Descriptor(0x1000, "name", "desc", (), "<u4").to_raw(flavour)
        assert raw.numpy_header == b"{'descr': '<u4', 'fortran_order': False, 'shape': ()}"

    @pytest.mark.parametrize("flavour", [FLAVOUR, FLAVOUR_PYSPEAD])
    def test_format(self, flavour):
        raw = Descriptor(0x1000, "name", "desc", [None, 3], format=[("u", 12), ("c", 8)]).to_raw(flavour)
        assert raw.numpy_header == b""
        assert [tuple(f) for f in raw.format] == [("u", 12), ("c", 8)]
        assert list(raw.shape) == [None, 3]

    def test_non_ascii_name(self):
        with pytest.raises(UnicodeEncodeError):
            Descriptor(0x1000, "n\u00e4me", "desc", (), "u1").to_raw(FLAVOUR)
        with pytest.raises(UnicodeEncodeError):
            Descriptor(0x1000, "name", "d\u00e9sc", (), "u1").to_raw(FLAVOUR)


def nested_dtype(levels):
    dtype = np.dtype("<u2")
    for _ in range(levels):
        dtype = np.dtype([("x", dtype)])
    return dtype


class TestFromRaw:
    @pytest.mark.parametrize(
        "header, flavour, shape, order, dtype",
        [
            (b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}", FLAVOUR, (2, 3), "C", "<u2"),
            (b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}", FLAVOUR_PYSPEAD, (2, 3), "C", ">u2"),
            (b"{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3)}", FLAVOUR, (2, 3), "F", ">u2"),
            (b"{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3)}", FLAVOUR_PYSPEAD, (2, 3), "F", "<u2"),
            (b"{'shape': (2, 3), 'fortran_order': True, 'descr': '>u2'}", FLAVOUR, (2, 3), "F", ">u2"),
            (b"{'descr': '|S5', 'fortran_order': False, 'shape': ()}", FLAVOUR_PYSPEAD, (), "C", "S5"),
            (
                b"{'descr': [('a', '<i4'), ('b', '>f8')], 'fortran_order': False, 'shape': (5,)}",
                FLAVOUR,
                (5,),
                "C",
                [("a", "<i4"), ("b", ">f8")],
            ),
            (
                b"{'descr': [('a', '<i4'), ('b', '>f8')], 'fortran_order': False, 'shape': (5,)}",
                FLAVOUR_PYSPEAD,
                (5,),
                "C",
                [("a", ">i4"), ("b", "<f8")],
            ),
        ],
    )
    def test_numpy_header(self, header, flavour, shape, order, dtype):
        # A format and shape next to a numpy header are ignored.
        raw = raw_descriptor(numpy_header=header, format=[("u", 8)], shape=[7])
        d = Descriptor.from_raw(raw, flavour)
        assert d.id == 0x1000
        assert d.name == "name"
        assert d.description == "desc"
        assert d.shape == shape
        assert d.order == order
        assert d.dtype == np.dtype(dtype)
        assert d.format is None

    @pytest.mark.parametrize(
        "header",
        [
            b"{'descr': '<u2', 'fortran_order': 0, 'shape': (2, 3)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': [2, 3]}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, -3)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, None)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3.0)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': 3}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (), 'x': 1}",
            b"{'descr': '<u2', 'fortran_order': False}",
            b"[1, 2]",
            b"garbage(",
            b"__import__('os').system('false')",
            b"{'descr': '\xff', 'fortran_order': False, 'shape': (2,)}",
        ],
    )
    def test_bad_header(self, header):
        with pytest.raises(ValueError):
            Descriptor.from_raw(raw_descriptor(numpy_header=header), FLAVOUR)

    @pytest.mark.parametrize(
        "header, message",
        [
            (b"{'descr': 'zz', 'fortran_order': False, 'shape': ()}", "descr is not a valid dtype descriptor: 'zz'"),
            (b"{'descr': 3, 'fortran_order': False, 'shape': ()}", "descr is not a valid dtype descriptor: 3"),
            (b"{'descr': '|O', 'fortran_order': False, 'shape': ()}", "Cannot use dtype that has reference-counted objects"),
            (b"{'descr': '|V0', 'fortran_order': False, 'shape': ()}", "Cannot use zero-sized dtype"),
            # numpy's own ValueError comes through, as in spead2 4.5.1.
            (
                b"{'descr': [('a', '<u1'), ('a', '<u1')], 'fortran_order': False, 'shape': ()}",
                "field 'a' occurs more than once",
            ),
        ],
    )
    def test_bad_dtype(self, header, message):
        with pytest.raises(ValueError) as excinfo:
            Descriptor.from_raw(raw_descriptor(numpy_header=header), FLAVOUR)
        assert str(excinfo.value) == message

    @pytest.mark.parametrize(
        "header",
        [
            b"  {'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}\n",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3,)}",
            b'{"descr": "<u2", "fortran_order": False, "shape": (2, 3)}',
        ],
    )
    def test_header_variants(self, header):
        d = Descriptor.from_raw(raw_descriptor(numpy_header=header), FLAVOUR)
        assert d.shape == (2, 3)
        assert d.dtype == np.dtype("<u2")

    @pytest.mark.parametrize(
        "format, shape",
        [
            ([("u", 8)], [2, None]),
            ([("u", 12)], [3]),
            ([("i", 5), ("u", 3)], []),
            ([("c", 8)], [None]),
            ([("f", 64)], []),
        ],
    )
    def test_format(self, format, shape):
        d = Descriptor.from_raw(raw_descriptor(format=format, shape=shape), FLAVOUR_PYSPEAD)
        assert d.dtype is None
        assert [tuple(f) for f in d.format] == format
        assert d.shape == tuple(shape)
        assert d.order == "C"

    @pytest.mark.parametrize(
        "format, shape, message",
        [
            ([("u", 0)], [3], "zero-length field (bug_compat mismatch?)"),
            ([], [3], "empty format"),
            ([("u", 8)], [None, None], "Cannot have multiple unknown dimensions"),
            ([("x", 8)], [], "illegal format (x, 8)"),
        ],
    )
    def test_bad_format(self, format, shape, message):
        with pytest.raises(ValueError) as excinfo:
            Descriptor.from_raw(raw_descriptor(format=format, shape=shape), FLAVOUR)
        assert str(excinfo.value) == message

    def test_non_ascii_name(self):
        with pytest.raises(UnicodeDecodeError):
            Descriptor.from_raw(raw_descriptor(name=b"\xe9", format=[("u", 8)]), FLAVOUR)

    # spead2 reads these: a header of about 60 KiB, and structs nested 30 deep.
    @pytest.mark.parametrize(
        "dtype", [np.dtype([("field%05d" % i, "<u2") for i in range(3000)]), nested_dtype(30)], ids=["wide", "deep"]
    )
    def test_large_headers(self, dtype):
        d = Descriptor.from_raw(Descriptor(0x1000, "x", "", (1,), dtype).to_raw(FLAVOUR), FLAVOUR)
        assert d.dtype == dtype

    def test_item_from_raw(self):
        item = spead2.Item.from_raw(raw_descriptor(format=[("u", 8)]), FLAVOUR)
        assert isinstance(item, spead2.Item)
        assert item.version == 1
        assert item.value is None


SCALAR_CODES = ["u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f2", "f4", "f8", "c8", "c16", "b1", "S3", "U2", "V5"]


@st.composite
def dtypes(draw):
    code = draw(st.sampled_from(SCALAR_CODES))
    endian = draw(st.sampled_from("<>")) if code[0] not in "bSV" and code != "u1" and code != "i1" else "|"
    simple = np.dtype(endian + code if endian != "|" else code)
    if draw(st.booleans()):
        return simple
    n = draw(st.integers(1, 3))
    fields = [("f%d" % i, draw(st.sampled_from(SCALAR_CODES))) for i in range(n)]
    return np.dtype(fields)


class TestRoundTrip:
    @given(
        dtype=dtypes(),
        shape=st.lists(st.integers(0, 5), max_size=3),
        order=st.sampled_from("CF"),
        flavour=st.sampled_from([FLAVOUR, FLAVOUR_48, FLAVOUR_PYSPEAD]),
    )
    def test_numpy(self, dtype, shape, order, flavour):
        d = Descriptor(0x1234, "name", "a description", shape, dtype, order=order)
        d2 = Descriptor.from_raw(d.to_raw(flavour), flavour)
        assert d2.id == 0x1234
        assert d2.name == "name"
        assert d2.description == "a description"
        assert d2.shape == tuple(shape)
        assert d2.order == order
        assert d2.dtype == dtype
        assert d2.format is None

    @given(
        format=st.lists(
            st.one_of(
                st.tuples(st.sampled_from("uib"), st.integers(1, 100)),
                st.tuples(st.just("f"), st.sampled_from([32, 64])),
                st.tuples(st.just("c"), st.just(8)),
            ),
            min_size=1,
            max_size=4,
        ),
        shape=st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=3).filter(lambda s: s.count(None) <= 1),
        flavour=st.sampled_from([FLAVOUR, FLAVOUR_48, FLAVOUR_PYSPEAD]),
    )
    def test_format(self, format, shape, flavour):
        d = Descriptor(0x1234, "name", "", shape, format=format)
        d2 = Descriptor.from_raw(d.to_raw(flavour), flavour)
        assert [tuple(f) for f in d2.format] == format
        assert d2.shape == tuple(shape)
        assert d2.dtype is None
        assert d2._internal_dtype == d._internal_dtype
        assert d2._fastpath == d._fastpath


class TestParseRangeList:
    @pytest.mark.parametrize(
        "text, expected",
        [
            ("", []),
            ("1", [1]),
            ("1,4-6", [1, 4, 5, 6]),
            ("2,3-5,8,9-11", [2, 3, 4, 5, 8, 9, 10, 11]),
            (" 1 , 2 ", [1, 2]),
            ("3-3", [3]),
            ("5-3", []),
        ],
    )
    def test_valid(self, text, expected):
        assert spead2.parse_range_list(text) == expected

    @pytest.mark.parametrize("text", ["a", "1-", "1,,2"])
    def test_invalid(self, text):
        with pytest.raises(ValueError):
            spead2.parse_range_list(text)
