// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A reader that replays the UDP packets of a pcap capture file (only with libpcap).
#ifndef SPEAD2_RECV_UDP_PCAP_FILE_READER_H
#define SPEAD2_RECV_UDP_PCAP_FILE_READER_H

#include <spead2/features.h>
#if SPEAD2_USE_PCAP

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <spead2/protocol/udp_frame.h>
#include <spead2/recv/reader.h>

namespace spead2::recv
{

/**
 * Reads a capture file and feeds the UDP payloads it holds to the stream, 64
 * records per batch, as fast as the stream takes them (lossless). End of file stops the stream
 * (a network stop, which flushes live heaps).
 *
 * Link types: Ethernet (DLT_EN10MB), Linux cooked capture v1 and v2 (DLT_LINUX_SLL,
 * DLT_LINUX_SLL2). Only unfragmented UDP over IPv4 is considered: a fixed BPF filter selects it,
 * AND-ed with the user's @a filter. Records captured shorter than they were on the wire
 * (caplen < len) are skipped and counted; frames the raw-frame layer (udp_frame.h) refuses are
 * counted by reason. Checksums are not verified: captures taken on a sending host hold the
 * unfinished checksums of NIC offload.
 *
 * Classic pcap files are mapped into memory and walked here, so that each payload byte is copied
 * once (into its heap); other formats (pcapng) are read through libpcap.
 *
 * A UDP payload must hold whole SPEAD packets: normally one, decoding to exactly the payload's
 * size. A payload holding several consecutive packets (a UDP GSO sender's super-datagram, which
 * loopback captures record unsplit) is split when every packet in it decodes and they fill it
 * exactly; such payloads are counted. Anything else is dropped and counted. Every record
 * skipped is also counted in the optional udp_dropped statistic (see udp_dropped_stat_name).
 *
 * Threads: constructed, started and stopped by the stream, as for reader; the counters may
 * be read from any thread. Lifetime: owned by the stream (see reader); the file is closed when
 * the reader is destroyed.
 */
class udp_pcap_file_reader : public reader
{
private:
    struct impl;
    std::unique_ptr<impl> impl_;

    std::atomic<std::uint64_t> truncated_records_{0};
    std::atomic<std::uint64_t> split_datagrams_{0};
    std::atomic<std::uint64_t> rejected_datagrams_{0};
    std::array<std::atomic<std::uint64_t>, frame::drop_reason_count> dropped_frames_{};

    void enqueue();
    void run(stream_base::add_packet_state &state);
    /// Read one batch of records; false at the end of the file (or an error, logged).
    bool read_mapped(stream_base::add_packet_state &state);
    bool read_libpcap(stream_base::add_packet_state &state);
    void add_record(stream_base::add_packet_state &state, const std::uint8_t *data, std::size_t captured,
                    std::size_t length);
    void add_udp_payload(stream_base::add_packet_state &state, const std::uint8_t *data, std::size_t length);

public:
    /**
     * Opens @a filename and compiles the filter; reading starts when the reader starts.
     * @throws std::runtime_error (message starting with the file name) if the file cannot be
     *         opened or is not a capture file, or its link type is not supported
     * @throws std::invalid_argument with libpcap's message if @a filter does not compile
     */
    udp_pcap_file_reader(stream &owner, const std::string &filename, const std::string &filter = "");
    ~udp_pcap_file_reader() override;

    void start() override;
    void stop() override {}
    bool lossy() const override { return false; }

    /// Records skipped because they were truncated by the capture (caplen < len).
    std::uint64_t get_truncated_records() const { return truncated_records_.load(std::memory_order_relaxed); }
    /// UDP payloads that held several SPEAD packets and were split.
    std::uint64_t get_split_datagrams() const { return split_datagrams_.load(std::memory_order_relaxed); }
    /// Records dropped because their UDP payload was malformed or did not decode as whole packets.
    std::uint64_t get_rejected_datagrams() const
    {
        return rejected_datagrams_.load(std::memory_order_relaxed);
    }
    /// Records whose frame the raw-frame layer refused for @a reason.
    std::uint64_t get_dropped_frames(frame::drop_reason reason) const
    {
        return dropped_frames_[std::size_t(reason)].load(std::memory_order_relaxed);
    }
};

} // namespace spead2::recv

#endif // SPEAD2_USE_PCAP
#endif // SPEAD2_RECV_UDP_PCAP_FILE_READER_H
