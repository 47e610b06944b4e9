# SPDX-License-Identifier: LGPL-3.0-or-later
"""Item descriptors: validation, legacy-format parsing and the numpy header.

This module holds no state. It talks to the extension only through
``_spead2.RawDescriptor`` (in :meth:`Descriptor.to_raw`) and
``_spead2._parse_numpy_header`` (in :meth:`Descriptor.from_raw`), both looked up when called, so
the pure logic can be imported and tested on its own.
"""

import math
import numbers

import numpy as _np

# Values of the spead2 constants used here; they are fixed by the protocol (API.md §1.2, §1.3).
_BUG_COMPAT_SWAP_ENDIAN = 4
_UNRESERVED_ID = 0x1000

#: Value conversion strategies, chosen once per descriptor.
_FASTPATH_NONE = 0  # bit-packed fields, element by element
_FASTPATH_IMMEDIATE = 1  # a single u/i field of at most 64 bits, scalar shape
_FASTPATH_NUMPY = 2  # a plain numpy dtype (given, or mapped from a legacy format)


def _extension():
    from . import _spead2

    return _spead2


def _shape_elements(shape):
    """Number of elements in a fully-known shape."""
    return math.prod(shape)


def _field_dtype(code, length):
    """Map one legacy ``(code, bits)`` field to a numpy type string ('O' for bit-packed)."""
    if code in ("u", "i") and length in (8, 16, 32, 64):
        return ">" + code + str(length // 8)
    if code == "f" and length in (32, 64):
        return ">f" + str(length // 8)
    if code == "b" and length == 8:
        return "?"
    if code == "c" and length == 8:
        return "S1"
    if code in ("u", "i", "b"):
        return "O"
    raise ValueError("illegal format ({}, {})".format(code, length))


def _parse_format(fmt):
    """Convert a legacy SPEAD format (list of ``(code, bits)``) to a numpy dtype.

    Fields that numpy cannot represent map to ``O`` and are handled bit by bit.

    Raises
    ------
    ValueError
        If the format is illegal
    """
    fields = []
    for code, length in fmt:
        if length <= 0:
            if length == 0:
                raise ValueError("zero-length field (bug_compat mismatch?)")
            raise ValueError("negative-length field")
        fields.append(_field_dtype(code, length))
    if not fields:
        raise ValueError("empty format")
    if len(fields) == 1:
        return _np.dtype(fields[0])
    return _np.dtype([("f" + str(i), field) for i, field in enumerate(fields)])


def _make_numpy_header(shape, dtype, order):
    """The numpy header dict as the exact bytes other SPEAD implementations compare."""
    header = {
        "descr": _np.lib.format.dtype_to_descr(dtype),
        "fortran_order": order == "F",
        "shape": tuple(shape),
    }
    return repr(header).encode("ascii")


def _parse_numpy_header(header):
    """Parse and validate a received numpy header.

    The literal is parsed by a strict C++ parser (never ``eval``), which checks that it is a dict
    with exactly the keys descr/fortran_order/shape, a bool fortran_order and a tuple of
    non-negative integers for shape.

    Returns
    -------
    shape : tuple
    order : {'C', 'F'}
    dtype : numpy.dtype

    Raises
    ------
    ValueError
        If the header is malformed or names an invalid dtype
    """
    descr, fortran_order, shape = _extension()._parse_numpy_header(bytes(header))
    try:
        dtype = _np.dtype(descr)
    except ValueError:
        raise  # numpy's own explanation (a repeated field name, ...), as spead2 gives it
    except Exception:
        raise ValueError("descr is not a valid dtype descriptor: {!r}".format(descr)) from None
    return tuple(shape), ("F" if fortran_order else "C"), dtype


class Descriptor:
    """Metadata for a SPEAD item.

    There are a number of restrictions on the parameters, which will cause
    `ValueError` to be raised if violated:

    - At most one element of `shape` can be `None`.
    - Exactly one of `dtype` and `format` must be non-`None`.
    - If `dtype` is specified, `shape` cannot have any unknown dimensions.
    - If `format` is specified, `order` must be 'C'
    - If `dtype` is specified, it cannot contain objects, and must have
      positive size.

    Parameters
    ----------
    id : int
        SPEAD item ID
    name : str
        Short item name, suitable for use as a key
    description : str
        Long item description
    shape : sequence
        Dimensions, with `None` indicating a variable-size dimension
    dtype : numpy data type, optional
        Data type, or `None` if `format` will be used instead
    order : {'C', 'F'}
        Indicates C-order or Fortran-order storage
    format : list of pairs, optional
        Structure fields for generic (non-numpy) type. Each element of the list
        is a tuple of field code and bit length.
    """

    def __init__(self, id, name, description, shape, dtype=None, order="C", format=None):
        shape = tuple(shape)
        unknowns = sum(1 for x in shape if x is None)
        if unknowns > 1:
            raise ValueError("Cannot have multiple unknown dimensions")
        if dtype is not None:
            dtype = _np.dtype(dtype)
            if format is not None:
                raise ValueError("Only one of dtype and format can be specified")
            if dtype.hasobject:
                raise ValueError("Cannot use dtype that has reference-counted objects")
            if dtype.itemsize == 0:
                raise ValueError("Cannot use zero-sized dtype")
            if unknowns > 0:
                raise ValueError("Cannot have unknown dimensions when using numpy descriptor")
            internal_dtype = dtype
        else:
            if format is None:
                raise ValueError("One of dtype and format must be specified")
            if order != "C":
                raise ValueError("When specifying format, order must be 'C'")
            internal_dtype = _parse_format(format)
        if order not in ("C", "F"):
            raise ValueError("Order must be 'C' or 'F'")

        self.id = id
        self.name = name
        self.description = description
        self.shape = shape
        self.dtype = dtype
        self.order = order
        self.format = format
        self._internal_dtype = internal_dtype
        if not internal_dtype.hasobject:
            self._fastpath = _FASTPATH_NUMPY
        elif len(format) == 1 and format[0][0] in ("u", "i") and format[0][1] <= 64 and shape == ():
            self._fastpath = _FASTPATH_IMMEDIATE
        else:
            self._fastpath = _FASTPATH_NONE

    # Kept as class attributes for code written against spead2's private helpers.
    _parse_format = staticmethod(_parse_format)
    _make_numpy_header = staticmethod(_make_numpy_header)
    _parse_numpy_header = staticmethod(_parse_numpy_header)

    @property
    def itemsize_bits(self):
        """Number of bits per element"""
        # Plain loops rather than sum()/any() over generators: these run several times per item
        # for every heap sent.
        dtype = self.dtype
        if dtype is not None:
            return dtype.itemsize * 8
        bits = 0
        for _, length in self.format:
            bits += length
        return bits

    def is_variable_size(self):
        """Determine whether any element of the size is dynamic"""
        for x in self.shape:
            if x is None:
                return True
        return False

    def allow_immediate(self):
        """Called by the C++ interface to determine whether sufficiently small
        items should be encoded as immediates.

        Variable-size objects cannot be immediates because there is no way to
        determine the true payload size. Types with a non-integral number of
        bytes are banned because the protocol does not specify where the
        padding should go, and PySPEAD's encoder and decoder disagree, so it
        is best not to send them at all.
        """
        for x in self.shape:
            if x is None:
                return False  # variable size
        # Per element, not in total: the reference also refuses e.g. four u4 elements.
        return self.dtype is not None or self.itemsize_bits % 8 == 0

    def dynamic_shape(self, max_elements):
        """Determine the dynamic shape, given incoming data that is big enough
        to hold `max_elements` elements.
        """
        known = 1
        unknown_pos = -1
        for i, x in enumerate(self.shape):
            if x is None:
                unknown_pos = i
            else:
                known *= x
        if unknown_pos == -1:
            return self.shape
        shape = list(self.shape)
        shape[unknown_pos] = max_elements // known if known > 0 else 0
        return shape

    def compatible_shape(self, shape):
        """Determine whether `shape` is compatible with the (possibly
        variable-sized) shape for this descriptor"""
        own = self.shape
        if len(shape) != len(own):
            return False
        for x, y in zip(shape, own):
            if y is not None and not x == y:
                return False
        return True

    @classmethod
    def from_raw(cls, raw_descriptor, flavour):
        """Build a descriptor (or :class:`Item`, when called on it) from a received raw one.

        Raises
        ------
        ValueError
            If the numpy header or the format is invalid
        UnicodeDecodeError
            If the name or description is not ASCII
        """
        dtype = None
        format = None
        if raw_descriptor.numpy_header:
            shape, order, dtype = _parse_numpy_header(raw_descriptor.numpy_header)
            if flavour.bug_compat & _BUG_COMPAT_SWAP_ENDIAN:
                dtype = dtype.newbyteorder()
        else:
            shape = raw_descriptor.shape
            order = "C"
            format = raw_descriptor.format
        return cls(
            raw_descriptor.id,
            raw_descriptor.name.decode("ascii"),
            raw_descriptor.description.decode("ascii"),
            shape,
            dtype,
            order,
            format,
        )

    def to_raw(self, flavour):
        """Convert to the extension's ``RawDescriptor`` for sending with `flavour`.

        Raises
        ------
        UnicodeEncodeError
            If the name or description is not ASCII
        """
        raw = _extension().RawDescriptor()
        raw.id = self.id
        raw.name = self.name.encode("ascii")
        raw.description = self.description.encode("ascii")
        raw.shape = [None if x is None else _as_int(x) for x in self.shape]
        if self.dtype is not None:
            dtype = self.dtype
            if flavour.bug_compat & _BUG_COMPAT_SWAP_ENDIAN:
                dtype = dtype.newbyteorder()
            raw.numpy_header = _make_numpy_header(self.shape, dtype, self.order)
        else:
            raw.format = [(str(code), _as_int(length)) for code, length in self.format]
        return raw


def _as_int(x):
    return x if isinstance(x, int) else int(x) if isinstance(x, numbers.Integral) else x
