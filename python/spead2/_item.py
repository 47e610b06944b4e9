# SPDX-License-Identifier: LGPL-3.0-or-later
"""Items: a descriptor plus a value and a version number."""

from . import _values
from ._descriptor import Descriptor


class Item(Descriptor):
    """A SPEAD item with a value and a version number.

    Parameters
    ----------
    value : object, optional
        Initial value
    """

    def __init__(self, *args, value=None, **kw):
        super().__init__(*args, **kw)
        self._value = value
        self.version = 1

    @property
    def value(self):
        """Current value. Assigning to this will increment the version number.
        Assigning ``None`` will raise :exc:`ValueError` because there is no way
        to encode this using SPEAD.

        .. warning:: If you modify a mutable value in-place, the change will
          not be detected, and by default :py:meth:`.HeapGenerator.get_heap`
          will not add the item to the heap it returns. In this case, either
          manually increment the version number, reassign the value, or pass
          ``data="all"`` to :py:meth:`~.HeapGenerator.get_heap`.
        """
        return self._value

    @value.setter
    def value(self, new_value):
        if new_value is None:
            raise ValueError("Item value cannot be set to None")
        self._value = new_value
        self.version += 1

    def _transform_value(self):
        """Mangle the value into a numpy array (see :func:`spead2._values.transform_value`)."""
        return _values.transform_value(self, self._value)

    def set_from_raw(self, raw_item, new_order="="):
        """Set the value from a received raw item (``spead2.recv.RawItem``).

        Parameters
        ----------
        raw_item
            Has ``is_immediate`` and exposes the value bytes through the buffer protocol
        new_order : str
            Byte order for numpy results (see :meth:`numpy.dtype.newbyteorder`);
            ``'|'`` keeps the byte order of the heap

        Raises
        ------
        ValueError
            If the raw item holds too few elements for the shape
        """
        self.value = _values.decode_raw_item(self, raw_item, new_order)

    def to_buffer(self):
        """Returns an object that implements the buffer protocol for the value.

        It can be either the original value (on the numpy fast path), or a new
        temporary object.
        """
        return _values.to_buffer(self, self._value)
