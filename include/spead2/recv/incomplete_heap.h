// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A received heap that lacks some payload.
#ifndef SPEAD2_RECV_INCOMPLETE_HEAP_H
#define SPEAD2_RECV_INCOMPLETE_HEAP_H

#include <cstdint>
#include <utility>
#include <vector>
#include <spead2/recv/heap_base.h>

namespace spead2::recv
{

/**
 * A heap delivered without all of its payload. Only immediate items are kept (addressed ones
 * cannot be trusted); the payload is kept only on request. Same threading rules as heap_base.
 */
class incomplete_heap : public heap_base
{
private:
    s_item_pointer_t heap_length_ = -1;
    s_item_pointer_t received_length_ = 0;
    std::vector<std::pair<s_item_pointer_t, s_item_pointer_t>> payload_ranges_;

public:
    /**
     * @param keep_payload          keep the payload buffer (get_payload())
     * @param keep_payload_ranges   record which byte ranges arrived
     */
    incomplete_heap(live_heap &&h, bool keep_payload, bool keep_payload_ranges);

    /// -1 if no packet carried HEAP_LENGTH.
    s_item_pointer_t get_heap_length() const { return heap_length_; }
    s_item_pointer_t get_received_length() const { return received_length_; }
    /// [first, last) ranges received; empty unless requested.
    const std::vector<std::pair<s_item_pointer_t, s_item_pointer_t>> &get_payload_ranges() const
    {
        return payload_ranges_;
    }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_INCOMPLETE_HEAP_H
