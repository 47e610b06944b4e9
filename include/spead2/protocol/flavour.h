// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A SPEAD flavour: the heap-address width and the bug-compatibility flags.
#ifndef SPEAD2_PROTOCOL_FLAVOUR_H
#define SPEAD2_PROTOCOL_FLAVOUR_H

#include <spead2/protocol/constants.h>

namespace spead2
{

/**
 * A protocol variant: SPEAD-64-N (N = heap_address_bits, a multiple of 8 in 8..56) plus bug
 * compatibility flags. Immutable value type; any thread.
 */
class flavour
{
private:
    int heap_address_bits_ = 40;
    bug_compat_mask bug_compat_ = 0;

public:
    /// SPEAD-64-40 without bug compatibility.
    flavour() = default;

    /**
     * @throws std::invalid_argument if version != 4, item_pointer_bits != 64, or
     * heap_address_bits is not a multiple of 8 strictly between 0 and 64.
     */
    flavour(int version, int item_pointer_bits, int heap_address_bits, bug_compat_mask bug_compat = 0);

    /// As above with version 4 and 64-bit item pointers.
    explicit flavour(int heap_address_bits, bug_compat_mask bug_compat = 0)
        : flavour(4, 64, heap_address_bits, bug_compat)
    {
    }

    int get_version() const { return 4; }
    int get_item_pointer_bits() const { return 64; }
    int get_heap_address_bits() const { return heap_address_bits_; }
    bug_compat_mask get_bug_compat() const { return bug_compat_; }

    /// Equal when heap_address_bits and bug_compat are equal.
    bool operator==(const flavour &other) const = default;
};

} // namespace spead2

#endif // SPEAD2_PROTOCOL_FLAVOUR_H
