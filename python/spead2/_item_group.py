# SPDX-License-Identifier: LGPL-3.0-or-later
"""ItemGroup: a set of items indexed by ID and by name, updated from received heaps."""

import logging
import numbers

from ._descriptor import _UNRESERVED_ID
from ._item import Item

_logger = logging.getLogger("spead2")

# Raw items with IDs up to STREAM_CTRL_ID are protocol items, never user values.
_STREAM_CTRL_ID = 0x06


def _same_descriptor(a, b):
    return (
        a.id == b.id
        and a.name == b.name
        and a.description == b.description
        and a.shape == b.shape
        and a.dtype == b.dtype
        and a.order == b.order
        and a.format == b.format
    )


class ItemGroup:
    """
    Items are collected into sets called *item groups*, which can be indexed by
    either item ID or item name.

    There are some subtleties with respect to re-issued item descriptors. There are
    two cases:

    1. The item descriptor is identical to a previous seen one. In this case, no
       action is taken (except that a new value, if any, is copied across).
    2. Otherwise, any existing items with the same name or ID (which could be two
       different items) are dropped, the new item is added, and its value
       becomes ``None``. The version is set to be higher than version on an item
       that was removed, so that consumers who only check the version will
       detect the change.
    """

    def __init__(self):
        self._by_id = {}
        self._by_name = {}

    def _remove_item(self, item):
        del self._by_id[item.id]
        del self._by_name[item.name]

    def _add_item(self, item):
        old = self._by_id.get(item.id)
        old_by_name = self._by_name.get(item.name)
        if old is not None and old is old_by_name and _same_descriptor(old, item):
            if item.value is not None:
                old.value = item.value
            return
        new_version = item.version
        if old is not None or old_by_name is not None:
            _logger.info("Descriptor replacement for ID %#x, name %s", item.id, item.name)
        if old is not None:
            self._remove_item(old)
            new_version = max(new_version, old.version + 1)
        if old_by_name is not None and old_by_name is not old:
            self._remove_item(old_by_name)
            new_version = max(new_version, old_by_name.version + 1)
        item.version = new_version
        self._by_id[item.id] = item
        self._by_name[item.name] = item

    def add_item(self, *args, **kwargs):
        """Add a new item to the group. The parameters are used to construct an
        :py:class:`Item`. If `id` is `None`, it will be automatically populated
        with an ID that is not already in use.

        See the class documentation for the behaviour when the name or ID
        collides with an existing one. In addition, if the item descriptor is
        identical to an existing one and a value, this value is assigned to
        the existing item.
        """
        item = Item(*args, **kwargs)
        if item.id is None:
            item.id = _UNRESERVED_ID
            while item.id in self._by_id:
                item.id += 1
        self._add_item(item)
        return item

    def __getitem__(self, key):
        """Dictionary-style lookup by either ID or name"""
        if isinstance(key, numbers.Integral):
            return self._by_id[key]
        return self._by_name[key]

    def __contains__(self, key):
        """Dictionary-style membership test by either ID or name"""
        if isinstance(key, numbers.Integral):
            return key in self._by_id
        return key in self._by_name

    def keys(self):
        """Item names"""
        return self._by_name.keys()

    def ids(self):
        """Item IDs"""
        return self._by_id.keys()

    def values(self):
        """Item values"""
        return self._by_name.values()

    def items(self):
        """Dictionary style (name, value) pairs"""
        return self._by_name.items()

    def __len__(self):
        """Number of items"""
        return len(self._by_name)

    def update(self, heap, new_order="="):
        """Update the item descriptors and items from an incoming heap.

        Parameters
        ----------
        heap : :class:`spead2.recv.Heap`
            Incoming heap
        new_order : str
            Byte ordering to coerce new byte arrays into. The default is to
            force arrays to native byte order. Use ``'|'`` to keep whatever
            byte order was in the heap. See :meth:`np.dtype.newbyteorder` for
            the full list of options.

        Returns
        -------
        dict
            Items that have been updated from this heap, indexed by name
        """
        for descriptor in heap.get_descriptors():
            self._add_item(Item.from_raw(descriptor, flavour=heap.flavour))
        updated_items = {}
        by_id = self._by_id
        for raw_item in heap.get_items():
            item_id = raw_item.id
            if item_id <= _STREAM_CTRL_ID:
                continue
            item = by_id.get(item_id)
            if item is None:
                _logger.warning("Item with ID %#x received but there is no descriptor", item_id)
                continue
            item.set_from_raw(raw_item, new_order)
            # A received value always counts as new, even when the bytes are unchanged.
            item.version += 1
            updated_items[item.name] = item
        return updated_items
