// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Configuration of a chunking receiver (API.md §2.10).
#ifndef SPEAD2_RECV_CHUNK_STREAM_CONFIG_H
#define SPEAD2_RECV_CHUNK_STREAM_CONFIG_H

#include <cstddef>
#include <vector>
#include <spead2/protocol/constants.h>
#include <spead2/recv/chunk.h>
#include <spead2/recv/chunk_copy_engine.h>

namespace spead2::recv
{

/**
 * Settings of a chunk_stream: which item values the place callback sees, the window size, the
 * callbacks and presence granularity. A plain value type with fluent setters that validate
 * their argument (@throws std::invalid_argument naming the bad value).
 */
class chunk_stream_config
{
public:
    static constexpr std::size_t default_max_chunks = 2;

private:
    std::vector<item_pointer_t> items_;
    std::size_t max_chunks_ = default_max_chunks;
    chunk_place_function place_;
    chunk_allocate_function allocate_;
    chunk_ready_function ready_;
    std::size_t packet_presence_payload_size_ = 0;
    std::size_t max_heap_extra_ = 0;
    chunk_copy_engine_factory copy_engine_;

public:
    /**
     * Item IDs whose immediate values are passed to place (-1 when a packet lacks one). Every
     * pointer of the packet is scanned, so HEAP_CNT_ID and the other specials work too.
     */
    chunk_stream_config &set_items(const std::vector<item_pointer_t> &items);
    const std::vector<item_pointer_t> &get_items() const { return items_; }

    /// Chunks held open at once (1: strictly in order). @throws std::invalid_argument if 0
    chunk_stream_config &set_max_chunks(std::size_t max_chunks);
    std::size_t get_max_chunks() const { return max_chunks_; }

    chunk_stream_config &set_place(chunk_place_function place);
    const chunk_place_function &get_place() const { return place_; }

    chunk_stream_config &set_allocate(chunk_allocate_function allocate);
    const chunk_allocate_function &get_allocate() const { return allocate_; }

    chunk_stream_config &set_ready(chunk_ready_function ready);
    const chunk_ready_function &get_ready() const { return ready_; }

    /**
     * Track presence per packet rather than per heap: a packet with payload offset o sets
     * present[heap_index + o / @a payload_size] as soon as it arrives (complete or not).
     * @throws std::invalid_argument if @a payload_size is 0
     */
    chunk_stream_config &enable_packet_presence(std::size_t payload_size);
    /// Back to one flag per complete heap.
    chunk_stream_config &disable_packet_presence();
    /// 0 when packet presence is disabled.
    std::size_t get_packet_presence_payload_size() const { return packet_presence_payload_size_; }

    /// Bytes the place callback may write through chunk_place_data::extra.
    chunk_stream_config &set_max_heap_extra(std::size_t max_heap_extra);
    std::size_t get_max_heap_extra() const { return max_heap_extra_; }

    /**
     * Chunk data is memory the CPU does not write (e.g. GPU memory): payload is staged in host
     * memory and moved by a copy engine that @a factory makes for each stream (see
     * chunk_copy_engine). Every chunk must then have its data_size set. An empty function turns
     * this off (the default).
     */
    chunk_stream_config &set_copy_engine(chunk_copy_engine_factory factory);
    const chunk_copy_engine_factory &get_copy_engine() const { return copy_engine_; }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_STREAM_CONFIG_H
