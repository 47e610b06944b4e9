// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunks (large buffers that collect the payload of many heaps) and the callback types of the
/// chunking receiver (API.md §2.10).
#ifndef SPEAD2_RECV_CHUNK_H
#define SPEAD2_RECV_CHUNK_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/constants.h>

namespace spead2::recv
{

/**
 * A block of memory that receives the payload of many heaps, plus one presence flag per heap
 * (or per packet, see chunk_stream_config::enable_packet_presence) and optional per-heap extra
 * data. Subclass it to carry your own fields: the same object travels through the allocate and
 * ready callbacks (and rings).
 *
 * While a chunk is in a stream's window the stream writes to it from its worker thread; the
 * user may touch it only before allocate returns it and after ready receives it.
 */
class chunk
{
public:
    /// Set by the stream when the chunk is given out.
    std::int64_t chunk_id = -1;
    /// The stream_id of the stream that gives the chunk out (in a group, the last member to take
    /// it into its window).
    std::uintptr_t stream_id = 0;
    /// One flag per heap (or per packet): 1 once it has arrived.
    memory_allocator::pointer present;
    /// Number of entries in @a present.
    std::size_t present_size = 0;
    /// Where heap payloads are placed (at the place callback's heap_offset).
    memory_allocator::pointer data;
    /**
     * Bytes in @a data, or 0 if unknown (the spead2 behaviour: the place callback is trusted).
     * When set, a heap that would not fit is dropped and counted as rejected (an extension).
     */
    std::size_t data_size = 0;
    /// Where the place callback's extra bytes are copied (at its extra_offset); may be null.
    memory_allocator::pointer extra;
    /// Bytes in @a extra, or 0 if unknown (as for @a data_size).
    std::size_t extra_size = 0;
    /**
     * @a data is memory the CPU must not write (device memory, e.g. from cuda_device_allocator):
     * only a stream with a copy engine fills it; any other stream rejects heaps placed into it
     * (counted in rejected_heaps).
     */
    bool data_on_device = false;

    chunk() = default;
    chunk(chunk &&) noexcept = default;
    chunk &operator=(chunk &&) noexcept = default;
    virtual ~chunk() = default;
};

/**
 * What the place callback sees and fills in, once per heap, on the heap's first accepted packet.
 * The field order is part of the ABI (a numba record and C callbacks use it): do not reorder.
 */
struct chunk_place_data
{
    /// Input: the whole first accepted packet of the heap.
    const std::uint8_t *packet;
    /// Input: header + pointers + payload of @a packet.
    std::size_t packet_size;
    /// Input: the immediate values of chunk_stream_config::get_items(), -1 where absent.
    const s_item_pointer_t *items;
    /// Output (starts at -1): the chunk; negative rejects the heap.
    std::int64_t chunk_id;
    /// Output (starts at 0): index into the chunk's presence array.
    std::size_t heap_index;
    /// Output (starts at 0): byte offset of the heap's payload in the chunk's data.
    std::size_t heap_offset;
    /// Input: the current batch's statistics, indexed like the stream's statistics.
    std::uint64_t *batch_stats;
    /// Input: scratch of max_heap_extra bytes for extra data.
    std::uint8_t *extra;
    /// Output (starts at 0): where the extra bytes go in the chunk's extra buffer.
    std::size_t extra_offset;
    /// Output (starts at 0): how many bytes of @a extra to copy (0: none).
    std::size_t extra_size;
};

/// Decides where a heap goes: fills in the outputs of @a data (@a size is sizeof(chunk_place_data)).
typedef std::function<void(chunk_place_data *data, std::size_t size)> chunk_place_function;

/**
 * Supplies the chunk with ID @a chunk_id (IDs passed in strictly increase), or null to skip
 * it (its heaps are then dropped silently). Called from the worker thread with the stream lock held.
 */
typedef std::function<std::unique_ptr<chunk>(std::int64_t chunk_id, std::uint64_t *batch_stats)>
    chunk_allocate_function;

/// Receives a finished chunk (in chunk ID order; null chunks are not passed). Worker thread, lock held.
typedef std::function<void(std::unique_ptr<chunk> &&c, std::uint64_t *batch_stats)> chunk_ready_function;

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_H
