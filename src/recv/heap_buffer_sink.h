// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The default payload sink: each heap's payload in its own buffer from the stream's allocator.
#ifndef SPEAD2_SRC_RECV_HEAP_BUFFER_SINK_H
#define SPEAD2_SRC_RECV_HEAP_BUFFER_SINK_H

#include <cstddef>
#include <spead2/recv/detail/payload_sink.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/stream_config.h>

namespace spead2::recv::detail
{

/**
 * Gives each heap a buffer from the stream's allocator on its first packet with payload or with a
 * HEAP_LENGTH (exactly HEAP_LENGTH bytes; a heap without one grows by at least doubling, up to
 * max_heap_size) and copies payload into it. The buffer travels on with the heap, so there is
 * nothing to do when a heap is done, and every copy is complete (fenced) when it returns.
 */
class heap_buffer_sink final : public payload_sink
{
private:
    memory_allocator &allocator_;
    const std::size_t max_heap_size_;
    const payload_copier copier_;

    /// Gives @a heap a buffer of at least @a size bytes (more than it has), keeping its contents.
    bool grow(live_heap &heap, std::size_t size, const packet_header &packet);

public:
    /// @a config must outlive the sink (it holds the allocator and the copy function).
    explicit heap_buffer_sink(const stream_config &config);

    bool write(std::size_t slot, live_heap &heap, const packet_header &packet, bool first) override;
    void heap_done(std::size_t, const live_heap &) override {}
    void publish() override {}
};

} // namespace spead2::recv::detail

#endif // SPEAD2_SRC_RECV_HEAP_BUFFER_SINK_H
