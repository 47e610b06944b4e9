// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// What the kernel-bypass readers (AF_XDP, ibverbs) share: whole Ethernet frames go through the
/// raw-frame layer (udp_frame.h) before the SPEAD decoder, and whatever either refuses is counted.
#ifndef SPEAD2_RECV_RAW_FRAME_READER_H
#define SPEAD2_RECV_RAW_FRAME_READER_H

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <spead2/protocol/udp_frame.h>
#include <spead2/recv/reader.h>
#include <spead2/recv/stream_base.h>

namespace spead2::recv
{

/**
 * A reader of raw Ethernet frames. Frames must be untagged IPv4/UDP without IP options and with a
 * valid IPv4 header checksum (the UDP checksum is left to the NIC: a sender on the same host
 * leaves it to offload, so it is not final); each UDP payload must decode to exactly one SPEAD
 * packet. Refused frames are counted by reason (and in the optional udp_dropped statistic) and the
 * stream carries on. Lossy.
 */
class raw_frame_reader : public reader
{
private:
    std::array<std::atomic<std::uint64_t>, frame::drop_reason_count> dropped_frames_{};
    std::atomic<std::uint64_t> rejected_datagrams_{0};

protected:
    explicit raw_frame_reader(stream &owner)
        : reader(owner, udp_dropped_stat_name)
    {
    }

    /// Parses one frame and hands its packet to the stream, or counts why not.
    void add_frame(stream_base::add_packet_state &state, const std::uint8_t *data, std::size_t size);

public:
    bool lossy() const override { return true; }

    /// Frames refused by the raw-frame layer for @a reason.
    std::uint64_t get_dropped_frames(frame::drop_reason reason) const
    {
        return dropped_frames_[std::size_t(reason)].load(std::memory_order_relaxed);
    }
    /// UDP payloads that did not decode to exactly one SPEAD packet.
    std::uint64_t get_rejected_datagrams() const
    {
        return rejected_datagrams_.load(std::memory_order_relaxed);
    }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_RAW_FRAME_READER_H
