// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A received heap whose payload is contiguous.
#ifndef SPEAD2_RECV_HEAP_H
#define SPEAD2_RECV_HEAP_H

#include <vector>
#include <spead2/protocol/descriptor.h>
#include <spead2/recv/heap_base.h>

namespace spead2::recv
{

/**
 * A frozen heap whose received bytes cover every item (complete, or contiguous without a
 * length). Same threading and lifetime rules as heap_base.
 */
class heap : public heap_base
{
public:
    /// @throws std::invalid_argument if @a h is not contiguous
    explicit heap(live_heap &&h);

    /// Decodes every DESCRIPTOR item; malformed ones are dropped (and logged), never thrown.
    std::vector<descriptor> get_descriptors() const;

    /**
     * Reads this heap as a descriptor heap (its items are a descriptor's fields), as spead2's
     * heap::to_descriptor does; fields that do not decode are left empty. A heap without
     * DESCRIPTOR_ID_ID gives a default descriptor (id 0), with the reason logged.
     */
    descriptor to_descriptor() const;
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_HEAP_H
