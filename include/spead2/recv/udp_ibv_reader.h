// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// ibverbs receive (API.md §2.1): a raw-packet queue pair on a ConnectX (or any verbs) NIC, fed by
/// flow-steering rules, with rdma-core loaded at run time.
#ifndef SPEAD2_RECV_UDP_IBV_READER_H
#define SPEAD2_RECV_UDP_IBV_READER_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/udp_ibv_config_base.h>
#include <spead2/recv/raw_frame_reader.h>

namespace spead2::recv
{

/**
 * What an ibverbs reader listens to: endpoints (IPv4 multicast groups or unicast addresses of the
 * interface), the interface, the receive buffer, the completion vector and the polls before
 * sleeping (see the base), and the largest packet.
 */
class udp_ibv_config : public spead2::detail::udp_ibv_config_base<udp_ibv_config, 16 * 1024 * 1024>
{
public:
    static constexpr std::size_t default_max_size = 9200;

private:
    std::size_t max_size = default_max_size;

public:
    std::size_t get_max_size() const { return max_size; }
    /// @throws std::invalid_argument "max_size must be positive" for 0
    udp_ibv_config &set_max_size(std::size_t size);
};

/**
 * Receives SPEAD packets through ibverbs: a raw-packet queue pair on the device behind the
 * interface address (found through the RDMA connection manager, as spead2 does), one flow rule
 * per endpoint (destination MAC, address and port), multicast groups joined through a kernel
 * socket so that IGMP works. The buffer is split into max_size slots (whole frames), as many as
 * the device allows: fewer than asked is a warning. Completions are polled in batches, max_poll
 * times before sleeping on the completion channel; a negative comp_vector never sleeps (busy
 * polling). Frames are checked and counted as raw_frame_reader says.
 *
 * Needs CAP_NET_RAW (the queue pair and flow rules). rdma-core (libibverbs.so.1,
 * librdmacm.so.1) is loaded at first use; without it the constructor says which library is
 * missing. The constructor sets everything up (errors come from emplace_reader); start() begins
 * reading; the device is let go as soon as the stream stops.
 */
class udp_ibv_reader : public raw_frame_reader
{
private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::atomic<std::uint64_t> completion_errors_{0};

    void enqueue_wait();
    void enqueue_receive();
    /// Receives what has arrived (after taking the channel's events if @a woken by them); a
    /// verbs failure stops the stream.
    void receive_batch(stream_base::add_packet_state &state, bool woken);
    void receive_some(stream_base::add_packet_state &state);

public:
    /**
     * @throws std::invalid_argument for a bad config ("endpoints is empty", "interface address
     * has not been specified", an endpoint that is not IPv4); std::runtime_error naming the
     * library or verbs call that failed
     */
    udp_ibv_reader(stream &owner, const udp_ibv_config &config);
    ~udp_ibv_reader() override;

    void start() override;
    void stop() override;

    /// Receive slots in use (the buffer divided into max_size slots, capped by the device).
    std::size_t get_slots() const;
    /// Completions with an error status (a frame longer than a slot, for example).
    std::uint64_t get_completion_errors() const { return completion_errors_.load(std::memory_order_relaxed); }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_UDP_IBV_READER_H
