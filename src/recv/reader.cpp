// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// What every reader shares: its stream, its drop statistic, and the one way bytes become packets.
#include <spead2/common/logging.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/reader.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

reader::reader(stream &owner)
    : owner_(owner)
    , shared_(owner.get_shared())
{
}

reader::reader(stream &owner, std::string_view dropped_stat_name)
    : reader(owner)
{
    dropped_stat_ = owner.get_config().find_stat_index(dropped_stat_name);
}

asio::io_context &reader::get_io_context() const
{
    return owner_.get_io_context();
}

std::size_t reader::add_datagram(stream_base::add_packet_state &state, const std::uint8_t *data,
                                 std::size_t length, datagram_packets packets)
{
    packet_header packet;
    const std::size_t size = decode_packet(packet, data, length);
    if (size == length && size != 0) // an empty datagram "decodes" to its size 0
    {
        state.add_packet(packet);
        return 1;
    }
    if (size == 0)
        return 0; // decode_packet said why
    // Logged at debug: at line rate a stream of bad datagrams would flood an info log, and the
    // drop statistic counts them.
    if (packets == datagram_packets::one)
    {
        SPEAD2_LOG_DEBUG("discarding datagram of %zu bytes: its packet is %zu bytes", length, size);
        return 0;
    }
    std::size_t offset = size, n = 1;
    for (; offset < length; n++)
    {
        const std::size_t next = decode_packet(packet, data + offset, length - offset);
        if (next == 0)
        {
            SPEAD2_LOG_DEBUG("discarding datagram of %zu bytes: only %zu bytes decode as packets", length,
                             offset);
            return 0;
        }
        offset += next;
    }
    for (offset = 0; offset < length && !state.is_stopped();)
    {
        offset += decode_packet(packet, data + offset, length - offset);
        state.add_packet(packet);
    }
    return n;
}

} // namespace spead2::recv
