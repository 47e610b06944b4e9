// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A heap being reassembled from packets (API.md §2.5).
#ifndef SPEAD2_RECV_LIVE_HEAP_H
#define SPEAD2_RECV_LIVE_HEAP_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/detail/small_vector.h>
#include <spead2/recv/stream_config.h>

namespace spead2::recv
{

namespace detail
{

class payload_sink;
class heap_buffer_sink;

/// What live_heap::add_packet needs from the stream, flattened for the hot path.
struct live_heap_config
{
    bool allow_out_of_order = false;
    std::size_t max_heap_size = stream_config::default_max_heap_size;
    /// Takes every accepted packet's payload (never null in a stream).
    payload_sink *sink = nullptr;
};

} // namespace detail

/**
 * A heap under construction. It collects the item pointers of every accepted packet (NULL ones
 * included, repeated identical pointers once, the 4 packet specials never) and the received byte
 * ranges, and hands each accepted packet's payload to the stream's payload sink. The default sink
 * keeps the payload in the heap's own buffer (get_payload()): exactly HEAP_LENGTH bytes when the
 * length is known, otherwise a buffer that at least doubles as data arrives.
 *
 * Owned by one stream and touched only under that stream's lock; afterwards it is moved into a
 * heap or incomplete_heap (or a ring of live heaps). Movable, not copyable.
 */
class live_heap
{
public:
    typedef std::pair<s_item_pointer_t, s_item_pointer_t> payload_range;

private:
    static constexpr std::size_t inline_pointers = 16;

    s_item_pointer_t cnt_;
    /// -1 until a packet carries HEAP_LENGTH.
    s_item_pointer_t heap_length_ = -1;
    s_item_pointer_t received_length_ = 0;
    /// Largest payload end or item address seen: the heap must be at least this long.
    s_item_pointer_t min_length_ = 0;
    int heap_address_bits_;
    bug_compat_mask bug_compat_;
    bool end_of_stream_ = false;
    memory_allocator::pointer payload_;
    std::size_t payload_reserved_ = 0;
    /// Item pointers in host byte order, in arrival order.
    detail::small_vector<item_pointer_t, inline_pointers> pointers_;
    /// Only for heaps with many pointers, where a linear duplicate check would be quadratic.
    std::unique_ptr<std::unordered_set<item_pointer_t>> seen_pointers_;
    /// Received byte ranges (sorted, disjoint, not adjacent); only in out-of-order mode.
    detail::small_vector<payload_range, 4> ranges_;
    bool out_of_order_ = false;

    // The heap buffer sink owns payload_ and payload_reserved_.
    friend class detail::heap_buffer_sink;

    bool add_payload_range(s_item_pointer_t first, s_item_pointer_t last);
    void remove_payload_range(s_item_pointer_t first, s_item_pointer_t last);
    void add_pointers(const packet_header &packet);

public:
    /// Starts an empty heap for @a initial_packet's cnt and flavour (the packet is not added).
    live_heap(const packet_header &initial_packet, bug_compat_mask bug_compat);
    live_heap(live_heap &&) noexcept = default;
    live_heap &operator=(live_heap &&) noexcept = default;

    /**
     * Adds a packet with the same heap cnt (@a first_packet: the heap's first) to the heap in
     * @a slot of the stream (see detail::payload_sink). Returns false, without changing the heap, when the
     * packet is rejected (inconsistent HEAP_LENGTH or flavour, out of order, duplicate, overlap, over the
     * size limit, or refused by the sink); the reason is logged.
     */
    bool add_packet(const packet_header &packet, const detail::live_heap_config &config, std::size_t slot,
                    bool first_packet);

    /// HEAP_LENGTH is known, every byte of it has arrived, and no item points beyond it.
    bool is_complete() const { return received_length_ == heap_length_ && min_length_ <= heap_length_; }
    /**
     * The received bytes form one block from 0 that covers every item address and HEAP_LENGTH
     * (so a heap with a length is contiguous exactly when it is complete).
     */
    bool is_contiguous() const { return received_length_ == std::max(min_length_, heap_length_); }
    /// A STREAM_CTRL = CTRL_STREAM_STOP immediate has been seen.
    bool is_end_of_stream() const { return end_of_stream_; }

    s_item_pointer_t get_cnt() const { return cnt_; }
    s_item_pointer_t get_heap_length() const { return heap_length_; }
    s_item_pointer_t get_received_length() const { return received_length_; }
    s_item_pointer_t get_min_length() const { return min_length_; }
    int get_heap_address_bits() const { return heap_address_bits_; }
    bug_compat_mask get_bug_compat() const { return bug_compat_; }

    /**
     * The payload buffer of the heap buffer sink (null for a heap without payload, or when
     * another sink takes the payload). Bytes outside received ranges are undefined.
     */
    const memory_allocator::pointer &get_payload() const { return payload_; }
    /// Takes the payload buffer out of the heap.
    memory_allocator::pointer release_payload() { return std::move(payload_); }

    /// Number of distinct item pointers collected.
    std::size_t get_num_pointers() const { return pointers_.size(); }
    /// Item pointer @a i (host byte order).
    item_pointer_t get_pointer(std::size_t i) const { return pointers_[i]; }
    const item_pointer_t *pointers_begin() const { return pointers_.begin(); }
    const item_pointer_t *pointers_end() const { return pointers_.end(); }

    /// Received byte ranges [first, last); in in-order mode this is [(0, received)] (or empty).
    std::vector<payload_range> get_payload_ranges() const;
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_LIVE_HEAP_H
