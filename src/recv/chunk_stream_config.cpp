// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Validation for chunk_stream_config.
#include <stdexcept>
#include <utility>
#include <spead2/recv/chunk_stream_config.h>

namespace spead2::recv
{

chunk_stream_config &chunk_stream_config::set_items(const std::vector<item_pointer_t> &items)
{
    items_ = items;
    return *this;
}

chunk_stream_config &chunk_stream_config::set_max_chunks(std::size_t max_chunks)
{
    if (max_chunks == 0)
        throw std::invalid_argument("max_chunks cannot be 0");
    max_chunks_ = max_chunks;
    return *this;
}

chunk_stream_config &chunk_stream_config::set_place(chunk_place_function place)
{
    place_ = std::move(place);
    return *this;
}

chunk_stream_config &chunk_stream_config::set_allocate(chunk_allocate_function allocate)
{
    allocate_ = std::move(allocate);
    return *this;
}

chunk_stream_config &chunk_stream_config::set_ready(chunk_ready_function ready)
{
    ready_ = std::move(ready);
    return *this;
}

chunk_stream_config &chunk_stream_config::enable_packet_presence(std::size_t payload_size)
{
    if (payload_size == 0)
        throw std::invalid_argument("payload_size must not be zero");
    packet_presence_payload_size_ = payload_size;
    return *this;
}

chunk_stream_config &chunk_stream_config::disable_packet_presence()
{
    packet_presence_payload_size_ = 0;
    return *this;
}

chunk_stream_config &chunk_stream_config::set_max_heap_extra(std::size_t max_heap_extra)
{
    max_heap_extra_ = max_heap_extra;
    return *this;
}

chunk_stream_config &chunk_stream_config::set_copy_engine(chunk_copy_engine_factory factory)
{
    copy_engine_ = std::move(factory);
    return *this;
}

} // namespace spead2::recv
