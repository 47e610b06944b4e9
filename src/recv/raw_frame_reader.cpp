// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Frames to packets for the kernel-bypass readers (see raw_frame_reader.h).
#include <spead2/recv/raw_frame_reader.h>

namespace spead2::recv
{

namespace
{

// Tagged frames belong to a VLAN interface, not this one. The IP header checksum is cheap and
// catches corruption the NIC let through, but the UDP checksum of a frame from this host is left
// to offload and is not final.
constexpr frame::parse_options raw_parse_options{
    .allow_vlan = false, .allow_ip_options = false, .verify_ip_checksum = true, .verify_udp_checksum = false};

} // namespace

void raw_frame_reader::add_frame(stream_base::add_packet_state &state, const std::uint8_t *data,
                                 std::size_t size)
{
    if (state.is_stopped())
        return; // the frame is recycled unread, as a socket would drop it
    frame::udp_frame f;
    const frame::drop_reason reason =
        frame::parse_udp_frame(data, size, f, frame::link_type::ethernet, raw_parse_options);
    if (reason != frame::drop_reason::accepted)
    {
        dropped_frames_[std::size_t(reason)].fetch_add(1, std::memory_order_relaxed);
        count_drop(state);
        return;
    }
    if (!add_datagram(state, f.payload, f.payload_size))
    {
        rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
        count_drop(state);
    }
}

} // namespace spead2::recv
