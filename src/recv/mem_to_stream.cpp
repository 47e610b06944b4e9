// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Decoding a buffer of back-to-back packets into a stream.
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/mem_to_stream.h>

namespace spead2::recv
{

std::size_t mem_to_stream(stream_base::add_packet_state &state, const std::uint8_t *ptr, std::size_t length)
{
    std::size_t offset = 0;
    while (offset < length && !state.is_stopped())
    {
        packet_header packet;
        const std::size_t size = decode_packet(packet, ptr + offset, length - offset);
        if (size == 0)
            break;
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
