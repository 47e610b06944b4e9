// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A kernel-bypass reader: AF_XDP on any Linux NIC (only when built with SPEAD2_USE_XDP).
#ifndef SPEAD2_RECV_UDP_XDP_READER_H
#define SPEAD2_RECV_UDP_XDP_READER_H

#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/udp_xdp_config_base.h>
#include <spead2/protocol/udp_frame.h>
#include <spead2/recv/raw_frame_reader.h>

namespace spead2::recv
{

/**
 * What a udp_xdp_reader listens to and how, in the shape of spead2's udp_ibv_config: endpoints
 * (a unicast address of the interface, 0.0.0.0 for any, or a multicast group: groups are joined
 * through a kernel socket so that IGMP works), the interface, the UMEM size and the copy mode (see
 * the base), the queues, busy polling and the attach mode. Setters validate and return *this.
 */
class udp_xdp_config : public spead2::detail::udp_xdp_config_base<udp_xdp_config, 16 * 1024 * 1024>
{
public:
    using attach_mode = spead2::xdp_attach_mode;
    static constexpr int default_max_poll = 0;

private:
    std::vector<std::uint32_t> queue_ids{0};
    int max_poll = default_max_poll;
    int busy_poll = 0;
    attach_mode attach = attach_mode::automatic;

public:
    /// The first (usually the only) queue of get_queue_ids().
    std::uint32_t get_queue_id() const { return queue_ids.front(); }
    /// The receive queue of the interface to take frames from (steer the traffic there).
    udp_xdp_config &set_queue_id(std::uint32_t queue);
    const std::vector<std::uint32_t> &get_queue_ids() const { return queue_ids; }
    /**
     * Several receive queues (for a NIC that spreads the stream over them): one AF_XDP socket
     * each, the buffer split evenly between them. @throws std::invalid_argument if empty or
     * with a queue twice
     */
    udp_xdp_config &set_queue_ids(const std::vector<std::uint32_t> &queues);

    int get_max_poll() const { return max_poll; }
    /// Empty polls of the RX ring before sleeping until the socket is readable (0: sleep at once).
    /// @throws std::invalid_argument if negative
    udp_xdp_config &set_max_poll(int max_poll);

    int get_busy_poll() const { return busy_poll; }
    /**
     * Preferred busy polling, in microseconds (0: off, the default): after an empty look at the
     * RX ring the kernel polls the NIC queue for up to this long before the next look (at least
     * one before sleeping, whatever max_poll says). Sets SO_PREFER_BUSY_POLL and SO_BUSY_POLL on
     * the sockets: Linux 5.11, and CAP_NET_ADMIN beyond net.core.busy_poll. It pays in native
     * mode on a NIC whose napi_defer_hard_irqs and gro_flush_timeout are set, so that interrupts
     * stay off while the reader polls. @throws std::invalid_argument if negative
     */
    udp_xdp_config &set_busy_poll(int usec);

    attach_mode get_attach_mode() const { return attach; }
    udp_xdp_config &set_attach_mode(attach_mode mode);
};

/**
 * Receives SPEAD packets through AF_XDP sockets on one or more queues of one interface (one
 * socket and UMEM per queue). An XDP program
 * of ours is attached to the interface (through a BPF link, so the kernel detaches it if the
 * process dies, and released as soon as the stream stops): it redirects IPv4 UDP frames for the configured
 * endpoints to the socket and passes everything else (ARP, ssh, other ports) to the kernel. Only one such
 * program can be attached to an interface at a time.
 *
 * Frames are checked and counted as raw_frame_reader says.
 *
 * Needs CAP_NET_ADMIN and CAP_BPF (program) and CAP_NET_RAW (socket), or root: without them the
 * constructor says which. Multicast groups are joined through a kernel socket on the interface.
 *
 * Threads and lifetime: as for reader. The constructor loads and attaches everything (so errors
 * come from emplace_reader); start() begins reading.
 */
class udp_xdp_reader : public raw_frame_reader
{
private:
    struct impl;
    std::unique_ptr<impl> impl_;

    void enqueue_wait(std::size_t queue);
    void enqueue_receive(std::size_t queue);
    void receive_batch(stream_base::add_packet_state &state, std::size_t queue);

public:
    /// @throws std::invalid_argument for a bad config; std::runtime_error if AF_XDP cannot be set up
    udp_xdp_reader(stream &owner, const udp_xdp_config &config);
    ~udp_xdp_reader() override;

    void start() override;
    void stop() override;

    /// Whether the program runs in the driver (native XDP) rather than on socket buffers.
    bool is_native() const;
    /// Whether the socket is in zero-copy mode.
    bool is_zero_copy() const;
    /// The interface the reader is attached to.
    const std::string &get_interface_name() const;
    /// Frames the kernel dropped before the reader saw them (RX ring full, no free frame).
    std::uint64_t get_kernel_drops() const;
};

} // namespace spead2::recv

#endif // SPEAD2_USE_XDP
#endif // SPEAD2_RECV_UDP_XDP_READER_H
