// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Validation of SPEAD flavours.
#include <stdexcept>
#include <string>
#include <spead2/protocol/flavour.h>

namespace spead2
{

flavour::flavour(int version, int item_pointer_bits, int heap_address_bits, bug_compat_mask bug_compat)
{
    // The messages keep the reference's wording (Python tests match on it) and add the value.
    if (version != 4)
        throw std::invalid_argument("Version is not supported: " + std::to_string(version));
    if (item_pointer_bits != 64)
        throw std::invalid_argument("item_pointer_bits not supported: " + std::to_string(item_pointer_bits));
    if (heap_address_bits <= 0 || heap_address_bits >= 64)
        throw std::invalid_argument("heap_address_bits out of range: " + std::to_string(heap_address_bits));
    if (heap_address_bits % 8 != 0)
        throw std::invalid_argument("heap_address_bits not a multiple of 8: " +
                                    std::to_string(heap_address_bits));
    heap_address_bits_ = heap_address_bits;
    // Unknown bug_compat bits are accepted here, as in the reference; recv::stream_config rejects them.
    bug_compat_ = bug_compat;
}

} // namespace spead2
