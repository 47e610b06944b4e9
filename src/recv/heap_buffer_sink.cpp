// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Heap buffers: allocation, growth of heaps without HEAP_LENGTH, the payload copy.
#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <new>
#include <spead2/common/logging.h>
#include "recv/heap_buffer_sink.h"

namespace spead2::recv::detail
{

heap_buffer_sink::heap_buffer_sink(const stream_config &config)
    : allocator_(*config.get_memory_allocator())
    , max_heap_size_(config.get_max_heap_size())
    , copier_(config.get_memcpy_choice())
{
}

bool heap_buffer_sink::grow(live_heap &heap, std::size_t size, const packet_header &packet)
{
    std::size_t new_size = size;
    if (heap.heap_length_ < 0)
    {
        // Unknown final size: at least double, so that copying stays linear overall.
        new_size = std::max(size, std::min(2 * heap.payload_reserved_, max_heap_size_));
    }
    memory_allocator::pointer new_payload;
    try
    {
        new_payload = allocator_.allocate(new_size, const_cast<std::uint8_t *>(packet.packet));
    }
    catch (std::bad_alloc &)
    {
        SPEAD2_LOG_WARNING("packet rejected because allocating %zu bytes for heap %" PRId64 " failed",
                           new_size, std::int64_t(heap.cnt_));
        return false;
    }
    if (!new_payload)
    {
        SPEAD2_LOG_WARNING("packet rejected because the allocator returned null for heap %" PRId64,
                           std::int64_t(heap.cnt_));
        return false;
    }
    if (heap.payload_ && heap.payload_reserved_ > 0)
    {
        // Only reached for heaps that started without HEAP_LENGTH: move what we already have,
        // and only that. Copying the whole old buffer would write every page of the new one, so
        // that a few packets at far-apart offsets (out of order) would make gigabytes resident.
        auto keep = [&](s_item_pointer_t first, s_item_pointer_t last)
        {
            const std::size_t end = std::min({std::size_t(last), heap.payload_reserved_, new_size});
            if (std::size_t(first) < end)
                std::memcpy(new_payload.get() + first, heap.payload_.get() + first, end - std::size_t(first));
        };
        if (heap.out_of_order_)
            for (const auto &[first, last] : heap.ranges_)
                keep(first, last);
        else
            keep(0, heap.received_length_);
    }
    heap.payload_ = std::move(new_payload);
    heap.payload_reserved_ = new_size;
    return true;
}

bool heap_buffer_sink::write(std::size_t, live_heap &heap, const packet_header &packet, bool)
{
    const s_item_pointer_t end = packet.payload_offset + packet.payload_length;
    const std::size_t needed = heap.heap_length_ >= 0 ? std::size_t(heap.heap_length_) : std::size_t(end);
    // A heap with a length gets its whole buffer on its first packet, even one without payload.
    if (needed > heap.payload_reserved_ && (packet.payload_length > 0 || heap.heap_length_ >= 0) &&
        !grow(heap, needed, packet))
        return false;
    if (packet.payload_length > 0)
        copier_.copy(heap.payload_.get(), &heap.payload_, packet);
    return true;
}

} // namespace spead2::recv::detail
