// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Decoding a buffer of back-to-back packets into a stream.
#include <algorithm>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/mem_to_stream.h>
#include "common/prefetch.h"

namespace spead2::recv
{

/// Packets smaller than this get the next packet prefetched (see mem_to_stream).
static constexpr std::size_t max_prefetched_packet = 8192;

std::size_t mem_to_stream(stream_base::add_packet_state &state, const std::uint8_t *ptr, std::size_t length)
{
    std::size_t offset = 0;
    while (offset < length && !state.is_stopped())
    {
        packet_header packet;
        const std::size_t size = decode_packet(packet, ptr + offset, length - offset);
        if (size == 0)
            break;
        // Packets run back to back across pages, and the hardware prefetcher starts afresh at
        // each page: load the next packet (taken to be as long as this one) while this one is
        // handled. 1.1-1.2x for 1472-byte packets; none for 9000-byte ones, which it slowed.
        if (size < max_prefetched_packet)
            spead2::detail::prefetch_range(ptr + offset + size, std::min(size, length - offset - size));
        state.add_packet(packet);
        offset += size;
    }
    return offset;
}

std::size_t mem_to_stream(stream_base &s, const std::uint8_t *ptr, std::size_t length)
{
    stream_base::add_packet_state state(s);
    const std::size_t consumed = mem_to_stream(state, ptr, length);
    state.stop();
    return consumed;
}

} // namespace spead2::recv
