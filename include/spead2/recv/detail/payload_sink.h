// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Internal: the seam between the receive core and the memory that takes payload.
#ifndef SPEAD2_RECV_DETAIL_PAYLOAD_SINK_H
#define SPEAD2_RECV_DETAIL_PAYLOAD_SINK_H

#include <cstddef>
#include <cstdint>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/memcpy_choice.h>

namespace spead2::recv
{

class live_heap;

namespace detail
{

/**
 * Where the stream core sends payload (docs/dev/payload-seam.md). The core decides which packets
 * each heap accepts (order, lengths, limits) and which heaps are passed on; the sink decides where
 * accepted payload goes, copies it there and publishes it. Implementations: heap_buffer_sink (the
 * default: a buffer per heap from the stream's allocator, handed on with the heap) and
 * chunk_stream_state (regions of large chunks).
 *
 * The core names each heap by its slot (below max_heaps * substreams), fixed for the heap's life;
 * a sink that keeps per-heap state indexes it by slot. For one heap the core calls write(first =
 * true) on its first accepted packet, write() on each later one, and heap_done() just before the
 * heap is passed on (complete, evicted or flushed). A heap that is dropped instead (the stop heap,
 * or one whose first write failed) gets no heap_done(). publish() ends every batch.
 *
 * Every call runs with the stream lock held, on the thread that runs the batch.
 */
class payload_sink
{
public:
    virtual ~payload_sink() = default;

    /**
     * Stores the payload of @a packet (possibly empty) for the heap in @a slot. The heap has
     * recorded the packet's HEAP_LENGTH already but not yet its payload. Returns false to reject
     * the packet (no memory); the core then undoes the heap's bookkeeping.
     */
    virtual bool write(std::size_t slot, live_heap &heap, const packet_header &packet, bool first) = 0;

    /// The heap in @a slot is about to be passed on.
    virtual void heap_done(std::size_t slot, const live_heap &heap) = 0;

    /// The batch ends: copies made during it must become visible to other threads.
    virtual void publish() = 0;
};

/**
 * A memcpy_choice flattened for the hot path. Holds a pointer to the choice's per-packet
 * function, so the choice must outlive it.
 */
class payload_copier
{
private:
    memcpy_function_t plain_ = nullptr;
    memcpy_context_function_t with_context_ = nullptr;
    void *context_ = nullptr;
    const packet_memcpy_function *per_packet_ = nullptr;

public:
    payload_copier() = default;
    explicit payload_copier(const memcpy_choice &choice);
    explicit payload_copier(memcpy_function_t plain)
        : plain_(plain)
    {
    }

    /// The plain function, or null if the copier calls a function with a context or per packet.
    memcpy_function_t get_plain() const { return plain_; }

    /**
     * Copies @a packet's payload to @a heap_base + its payload offset. @a allocation is the
     * buffer that starts at @a heap_base, or null where there is none (a chunk).
     */
    void copy(std::uint8_t *heap_base, const memory_allocator::pointer *allocation,
              const packet_header &packet) const
    {
        const std::size_t n = std::size_t(packet.payload_length);
        std::uint8_t *dest = heap_base + packet.payload_offset;
        if (plain_)
            plain_(dest, packet.payload, n);
        else if (with_context_)
            with_context_(context_, dest, packet.payload, n);
        else
            copy_per_packet(heap_base, allocation, packet);
    }

private:
    void copy_per_packet(std::uint8_t *heap_base, const memory_allocator::pointer *allocation,
                         const packet_header &packet) const;
};

} // namespace detail
} // namespace spead2::recv

#endif // SPEAD2_RECV_DETAIL_PAYLOAD_SINK_H
