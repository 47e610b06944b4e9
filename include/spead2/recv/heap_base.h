// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// What complete and incomplete received heaps have in common.
#ifndef SPEAD2_RECV_HEAP_BASE_H
#define SPEAD2_RECV_HEAP_BASE_H

#include <cstdint>
#include <memory>
#include <vector>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/flavour.h>
#include <spead2/recv/item.h>

namespace spead2::recv
{

class live_heap;

/**
 * A frozen received heap: its cnt, flavour, items and payload. Items point into memory the heap
 * owns, so they stay valid as long as the heap does (also across moves). Immutable after
 * construction; any thread may read it. Movable, not copyable.
 */
class heap_base
{
private:
    s_item_pointer_t cnt_ = 0;
    flavour flavour_;
    std::vector<item> items_;
    memory_allocator::pointer payload_;
    /// Immediate values as 8 big-endian bytes each; items point at their low HAB/8 bytes.
    std::unique_ptr<std::uint8_t[]> immediate_payload_;

protected:
    /**
     * Takes over @a h. Addressed items get their length from the next address in a stable sort
     * of the pointers by (mode flag, address), or the heap end for the last; NULL and zero-length
     * items are dropped. With @a keep_addressed false only immediates are kept; with
     * @a keep_payload false the payload is freed.
     */
    void load(live_heap &&h, bool keep_addressed, bool keep_payload);

public:
    heap_base() = default;
    heap_base(heap_base &&) noexcept = default;
    heap_base &operator=(heap_base &&) noexcept = default;
    virtual ~heap_base() = default;

    s_item_pointer_t get_cnt() const { return cnt_; }
    const flavour &get_flavour() const { return flavour_; }
    const std::vector<item> &get_items() const { return items_; }
    /// The payload buffer (may be null).
    const memory_allocator::pointer &get_payload() const { return payload_; }

    /// There is an immediate STREAM_CTRL item equal to CTRL_STREAM_START.
    bool is_start_of_stream() const;
    /// There is an immediate STREAM_CTRL item equal to CTRL_STREAM_STOP.
    bool is_end_of_stream() const;
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_HEAP_BASE_H
