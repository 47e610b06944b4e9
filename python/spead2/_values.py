# SPDX-License-Identifier: LGPL-3.0-or-later
"""Conversion between item values and their wire bytes (API.md §4.1 "Value conversion").

Three strategies, picked per descriptor (``Descriptor._fastpath``):

* numpy: the value is a numpy array of the descriptor's dtype; sending references its memory and
  receiving views the heap's memory.
* immediate: a scalar u/i legacy field of at most 64 bits (not 8/16/32/64); held as an integer,
  sent as the low bytes of a big-endian 64-bit number.
* bit-packed: legacy fields that are not byte multiples, packed MSB first with zero padding at
  the tail when sending. A received immediate has its padding at the head instead.
"""

import struct

import numpy as _np

from ._descriptor import _FASTPATH_IMMEDIATE, _FASTPATH_NUMPY, _shape_elements

_U8_BE = _np.dtype(">u8")
_I8_BE = _np.dtype(">i8")


def _split_string(value):
    """Split a str/bytes into a list of single characters / single bytes."""
    if isinstance(value, bytes):
        return [value[i : i + 1] for i in range(len(value))]
    return list(value)


def transform_value(desc, value):
    """Coerce `value` to a numpy array with the descriptor's internal dtype, order and shape.

    Raises
    ------
    ValueError
        If the value is None or has the wrong shape
    TypeError
        If numpy raised it while converting
    """
    if value is None:
        raise ValueError("Cannot send a value of None")
    if isinstance(value, (bytes, str)) and len(desc.shape) == 1:
        value = _split_string(value)
    value = _np.asarray(value, dtype=desc._internal_dtype, order=desc.order)
    if not desc.compatible_shape(value.shape):
        raise ValueError("Value has shape {}, expected {}".format(value.shape, desc.shape))
    return value


def _field_to_int(code, length, x):
    """The unsigned integer that holds one bit-packed field."""
    if code == "u":
        v = int(x)
        if v < 0 or v >> length:
            raise ValueError("{} is out of range for u{}".format(v, length))
        return v
    if code == "i":
        v = int(x)
        half = 1 << (length - 1)
        if v < -half or v >= half:
            raise ValueError("{} is out of range for i{}".format(v, length))
        return v & ((1 << length) - 1)
    if code == "b":
        return 1 if x else 0
    if code == "c":
        x = bytes(x)
        return x[0] if x else 0
    if code == "f":
        if length == 32:
            return struct.unpack(">I", struct.pack(">f", float(x)))[0]
        return struct.unpack(">Q", struct.pack(">d", float(x)))[0]
    raise ValueError("illegal format ({}, {})".format(code, length))  # pragma: no cover


def _int_to_field(code, length, v):
    """Inverse of :func:`_field_to_int`."""
    if code == "u":
        return v
    if code == "i":
        return v - (1 << length) if v >> (length - 1) else v
    if code == "b":
        return bool(v)
    if code == "c":
        return bytes((v,))
    if code == "f":
        if length == 32:
            return struct.unpack(">f", struct.pack(">I", v))[0]
        return struct.unpack(">d", struct.pack(">Q", v))[0]
    raise ValueError("illegal format ({}, {})".format(code, length))  # pragma: no cover


class _BitWriter:
    """Appends MSB-first bit fields to a bytearray."""

    def __init__(self):
        self.out = bytearray()
        self._acc = 0
        self._bits = 0

    def write(self, value, bits):
        self._acc = (self._acc << bits) | value
        self._bits += bits
        if self._bits >= 8:
            whole = self._bits // 8
            self._bits -= whole * 8
            self.out += (self._acc >> self._bits).to_bytes(whole, "big")
            self._acc &= (1 << self._bits) - 1

    def close(self):
        """Flush a partial last byte, padding it with zero bits at the tail."""
        if self._bits:
            self.out.append((self._acc << (8 - self._bits)) & 0xFF)
            self._acc = 0
            self._bits = 0
        return self.out


def _read_bits(data, offset, bits):
    """Read `bits` bits starting at bit `offset` (MSB first) from bytes `data`."""
    start = offset >> 3
    end = (offset + bits + 7) >> 3
    chunk = int.from_bytes(data[start:end], "big")
    return (chunk >> (end * 8 - offset - bits)) & ((1 << bits) - 1)


# Bit-packed arrays of at least this many elements are converted a bit column at a time with
# numpy (each pass covers every element); smaller ones, where numpy's per-call cost dominates,
# element by element in Python. Fields wider than 64 bits are always done element by element.
_VECTOR_MIN_ELEMENTS = 16
_MAX_VECTOR_BITS = 64


def _field_columns(desc, array):
    """The values of each field of a bit-packed `array` (flattened), as sequences of elements."""
    flat = array.reshape(-1)
    if len(desc.format) == 1:
        return [flat]
    return [flat[name] for name in flat.dtype.names]


def _ints_to_bits(code, length, column):
    """The `length`-bit unsigned integers that hold `column`'s values (as :func:`_field_to_int`
    gives them), as a uint64 array; None where only the element-by-element path will do: a code
    other than u/i/b, more than 64 bits, or a value out of range (that path raises the error)."""
    if length > _MAX_VECTOR_BITS:
        return None
    if code == "b":
        return _np.array([1 if x else 0 for x in column], dtype=_np.uint64)
    if code not in ("u", "i"):
        return None
    try:
        values = _np.array([int(x) for x in column], dtype=_np.int64)
    except OverflowError:
        return None  # beyond int64: out of range unless u64, which the loop handles too
    if code == "u":
        bad = values < 0
        if length < 64:
            bad |= (values >> length) != 0
    elif length < 64:
        half = 1 << (length - 1)
        bad = (values < -half) | (values >= half)
    else:
        bad = None  # every int64 is an i64
    if bad is not None and bad.any():
        return None
    return values.view(_np.uint64) & _np.uint64((1 << length) - 1)


def _pack_vector(desc, array, n):
    """:func:`_pack` for fields of u, i and b up to 64 bits: a bit matrix, a column per bit."""
    columns = _field_columns(desc, array)
    fields = []
    for (code, length), column in zip(desc.format, columns):
        values = _ints_to_bits(code, length, column)
        if values is None:
            return None
        fields.append((length, values))
    bits = _np.empty((n, desc.itemsize_bits), dtype=_np.uint8)
    offset = 0
    for length, values in fields:
        for b in range(length):
            bits[:, offset + b] = (values >> _np.uint64(length - 1 - b)) & _np.uint64(1)
        offset += length
    # packbits pads the last byte with zero bits at the tail, as _BitWriter.close does.
    return bytearray(_np.packbits(bits.reshape(-1)).tobytes())


def _pack(desc, array):
    """Bit-pack every element of `array` (C order) according to the descriptor's format."""
    n = array.size
    if n >= _VECTOR_MIN_ELEMENTS:
        packed = _pack_vector(desc, array, n)
        if packed is not None:
            return packed
    fields = [(code, length) for code, length in desc.format]
    writer = _BitWriter()
    if len(fields) == 1:
        code, length = fields[0]
        for x in array.flat:
            writer.write(_field_to_int(code, length, x), length)
    else:
        for element in array.flat:
            if len(element) != len(fields):  # pragma: no cover (numpy enforces this)
                raise ValueError("Element has {} fields, expected {}".format(len(element), len(fields)))
            for (code, length), x in zip(fields, element):
                writer.write(_field_to_int(code, length, x), length)
    return writer.close()


def _unpack_field_vector(bits, offset, code, length):
    """One field of every element, from a bit matrix (one row per element), as a list of the
    values :func:`_int_to_field` gives."""
    values = _np.zeros(len(bits), dtype=_np.uint64)
    for b in range(length):
        values = (values << _np.uint64(1)) | bits[:, offset + b]
    if code == "u":
        return values.tolist()
    if code == "i":
        sign = _np.uint64(1 << (length - 1))
        return ((values ^ sign) - sign).view(_np.int64).tolist()  # sign extension, modulo 2**64
    if code == "b":
        return (values != 0).tolist()
    return [_int_to_field(code, length, v) for v in values.tolist()]


def _unpack(desc, data, shape):
    """Read bit-packed elements from `data` (bytes) into an array of the internal dtype."""
    fields = [(code, length) for code, length in desc.format]
    n = _shape_elements(shape)
    itemsize_bits = desc.itemsize_bits
    result = _np.empty(n, dtype=desc._internal_dtype)
    if n >= _VECTOR_MIN_ELEMENTS and all(length <= _MAX_VECTOR_BITS for _, length in fields):
        bits = _np.unpackbits(_np.frombuffer(data, _np.uint8), count=n * itemsize_bits)
        bits = bits.reshape(n, itemsize_bits)
        offset = 0
        names = result.dtype.names
        for i, (code, length) in enumerate(fields):
            values = _unpack_field_vector(bits, offset, code, length)
            if names is None:
                result[:] = values
            else:
                result[names[i]] = values
            offset += length
    elif len(fields) == 1:
        code, length = fields[0]
        values = [_int_to_field(code, length, _read_bits(data, i * length, length)) for i in range(n)]
        if n:
            result[:] = values
    else:
        offset = 0
        for i in range(n):
            element = []
            for code, length in fields:
                element.append(_int_to_field(code, length, _read_bits(data, offset, length)))
                offset += length
            result[i] = tuple(element)
        assert offset == n * itemsize_bits
    return result.reshape(shape)


def to_buffer(desc, value):
    """An object with the buffer protocol holding the wire bytes of `value`.

    On the numpy path it is the (possibly converted) array itself, so no copy is made when the
    value already has the right dtype and layout.
    """
    if desc._fastpath == _FASTPATH_NUMPY:
        array = transform_value(desc, value)
        # A Fortran-order array's transpose is C-contiguous with the same memory layout.
        return array.T if desc.order == "F" else array
    if desc._fastpath == _FASTPATH_IMMEDIATE and desc.allow_immediate():
        if value is None:
            raise ValueError("Cannot send a value of None")
        # A 0-d '>u8' array passes through without a copy, so later changes to it are sent.
        # Signed fields go through '>i8' so that negative Python ints work (spead2 4.5.1 raises
        # OverflowError for them, which no working program can rely on).
        if desc.format[0][0] == "i" and not (isinstance(value, _np.ndarray) and value.dtype == _U8_BE):
            array = _np.asarray(value, dtype=_I8_BE)
        else:
            array = _np.asarray(value, dtype=_U8_BE)
        if not desc.compatible_shape(array.shape):
            raise ValueError("Value has shape {}, expected {}".format(array.shape, desc.shape))
        nbytes = desc.itemsize_bits // 8
        return array.reshape(1).view(_np.uint8)[8 - nbytes :]
    return _pack(desc, transform_value(desc, value))


def _is_c8_string(desc):
    fmt = desc.format
    return fmt is not None and len(fmt) == 1 and tuple(fmt[0]) == ("c", 8) and len(desc.shape) == 1


def from_buffer(desc, raw, is_immediate, new_order="="):
    """Decode received bytes into a Python value.

    Parameters
    ----------
    desc : Descriptor
    raw : numpy.ndarray
        The item's bytes as a 1-D uint8 array (a view of the heap's memory)
    is_immediate : bool
        Whether the bytes came from an immediate item pointer (padding at the head)
    new_order : str
        Byte order forced on numpy results; ``'|'`` keeps the wire order

    Raises
    ------
    ValueError
        If there are too few bytes for the shape
    UnicodeDecodeError
        If a 1-D ``c8`` string is not ASCII
    """
    itemsize_bits = desc.itemsize_bits
    numpy_path = desc._fastpath == _FASTPATH_NUMPY
    if numpy_path:
        max_elements = len(raw) // desc._internal_dtype.itemsize
    else:
        max_elements = len(raw) * 8 // itemsize_bits
    shape = desc.dynamic_shape(max_elements)
    elements = _shape_elements(shape)
    if elements > max_elements:
        raise ValueError(
            "Item {} has too few elements for shape ({} < {})".format(desc.name, max_elements, elements)
        )
    needed = (elements * itemsize_bits + 7) // 8
    # An immediate is right-aligned by the sender, so its padding comes first.
    raw = raw[len(raw) - needed :] if is_immediate else raw[:needed]
    if numpy_path:
        dtype = desc._internal_dtype
        array = raw.view(dtype).reshape(shape, order=desc.order)
        # The base: a subarray dtype became trailing axes in the view, and astype to it would add
        # them again.
        array = array.astype(dtype.base.newbyteorder(new_order), copy=False)
    else:
        data = raw.tobytes()
        if desc._fastpath == _FASTPATH_IMMEDIATE and itemsize_bits % 8 == 0:
            code = desc.format[0][0]
            return int.from_bytes(data, "big", signed=(code == "i"))
        array = _unpack(desc, data, shape)
    if _is_c8_string(desc):
        # Like joining numpy S1 elements: NUL characters vanish.
        return array.tobytes().replace(b"\0", b"").decode("ascii")
    if array.ndim == 0:
        return array[()]
    return array


# ---------------------------------------------------------------------------------------------
# Received values: per-descriptor decoding plans
#
# Decoding a received item the general way (from_buffer) re-derives the same facts on every heap:
# element count, byte count, output dtype. A plan caches them on the descriptor for the two common
# cases below, and is rebuilt when the descriptor's shape, dtype, order, format or fast path is
# reassigned. Anything else goes the general way.

_PLAN_NONE = 0  # use from_buffer
_PLAN_NUMPY = 1  # fixed-shape numpy array (not a c8 string)
_PLAN_INT = 2  # a scalar u/i field of whole bytes (the immediate fast path)


class _DecodePlan:
    __slots__ = (
        "shape", "dtype", "order", "format", "format_copy", "internal_dtype", "fastpath",
        "kind", "elements", "needed", "itemsize", "flat", "scalar", "signed", "out_dtypes",
    )


def _make_plan(desc):
    plan = _DecodePlan()
    plan.shape = desc.shape
    plan.dtype = desc.dtype
    plan.order = desc.order
    plan.format = desc.format
    plan.format_copy = None if desc.format is None else list(desc.format)
    plan.internal_dtype = desc._internal_dtype
    plan.fastpath = desc._fastpath
    plan.kind = _PLAN_NONE
    plan.out_dtypes = {}
    shape = desc.shape
    fixed = type(shape) is tuple and all(type(x) is int for x in shape)
    if fixed and desc._fastpath == _FASTPATH_NUMPY and not _is_c8_string(desc):
        elements = _shape_elements(shape)
        itemsize = desc._internal_dtype.itemsize
        if elements > 0 and itemsize > 0 and desc.itemsize_bits == itemsize * 8:
            plan.kind = _PLAN_NUMPY
            plan.elements = elements
            plan.itemsize = itemsize
            plan.needed = elements * itemsize
            plan.flat = len(shape) == 1
            plan.scalar = len(shape) == 0
    elif fixed and desc._fastpath == _FASTPATH_IMMEDIATE and shape == ():
        bits = desc.itemsize_bits
        if bits % 8 == 0:
            plan.kind = _PLAN_INT
            plan.needed = bits // 8
            plan.signed = desc.format[0][0] == "i"
    desc._decode_plan = plan
    return plan


def _get_plan(desc):
    plan = desc.__dict__.get("_decode_plan")
    if (
        plan is None
        or plan.shape is not desc.shape
        or plan.dtype is not desc.dtype
        or plan.order is not desc.order
        or plan.internal_dtype is not desc._internal_dtype
        or plan.fastpath != desc._fastpath
        or plan.format is not desc.format
        or (plan.format_copy is not None and plan.format_copy != desc.format)
    ):
        plan = _make_plan(desc)
    return plan


def decode_raw_item(desc, raw_item, new_order="="):
    """Decode a received raw item (``spead2.recv.RawItem``) into a Python value.

    Gives the same result as ``from_buffer(desc, numpy.frombuffer(raw_item, numpy.uint8),
    raw_item.is_immediate, new_order)``, with the per-descriptor work cached (see above).
    """
    plan = _get_plan(desc)
    kind = plan.kind
    if kind == _PLAN_NUMPY and not raw_item.is_immediate:
        try:
            array = _np.frombuffer(raw_item, dtype=plan.internal_dtype, count=plan.elements)
        except (ValueError, OverflowError):
            # Too short (or a shape from the wire whose count numpy cannot even take): let the
            # general path raise its ValueError.
            return from_buffer(desc, _np.frombuffer(raw_item, dtype=_np.uint8), False, new_order)
        if not plan.flat:
            array = array.reshape(plan.shape, order=plan.order)
        out = plan.out_dtypes.get(new_order)
        if out is None:
            base = plan.internal_dtype.base  # as in from_buffer
            out = base.newbyteorder(new_order)
            # astype(copy=False) returns the array itself when no conversion is needed.
            plan.out_dtypes[new_order] = out = None if out == base else out
        if out is not None:
            array = array.astype(out, copy=False)
        if plan.scalar:
            return array[()]
        return array
    if kind == _PLAN_INT:
        data = bytes(raw_item)
        n = len(data)
        needed = plan.needed
        if n > needed:
            data = data[n - needed :] if raw_item.is_immediate else data[:needed]
        elif n < needed:
            return from_buffer(desc, _np.frombuffer(raw_item, dtype=_np.uint8), raw_item.is_immediate, new_order)
        return int.from_bytes(data, "big", signed=plan.signed)
    return from_buffer(desc, _np.frombuffer(raw_item, dtype=_np.uint8), raw_item.is_immediate, new_order)
