// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Settings of a ring_stream's heap ringbuffer (API.md §2.3).
#ifndef SPEAD2_RECV_RING_STREAM_CONFIG_H
#define SPEAD2_RECV_RING_STREAM_CONFIG_H

#include <cstddef>

namespace spead2::recv
{

/// Plain value type with fluent, validating setters (@throws std::invalid_argument).
class ring_stream_config
{
public:
    static constexpr std::size_t default_heaps = 4;

private:
    std::size_t heaps_ = default_heaps;
    bool contiguous_only_ = true;
    bool incomplete_keep_payload_ranges_ = false;

public:
    /// Capacity of the ring in heaps. @throws std::invalid_argument if 0
    ring_stream_config &set_heaps(std::size_t heaps);
    std::size_t get_heaps() const { return heaps_; }

    /// Drop heaps that are not contiguous (with a warning) instead of queueing them.
    ring_stream_config &set_contiguous_only(bool contiguous_only);
    bool get_contiguous_only() const { return contiguous_only_; }

    /// Record the received byte ranges of incomplete heaps.
    ring_stream_config &set_incomplete_keep_payload_ranges(bool keep);
    bool get_incomplete_keep_payload_ranges() const { return incomplete_keep_payload_ranges_; }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_RING_STREAM_CONFIG_H
