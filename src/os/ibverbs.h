// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The verbs objects that the ibverbs transports use, each owned by a handle that frees it
/// through the run-time-loaded rdma-core (ibverbs_library.h), and the calls that make them,
/// reporting failures as exceptions that name the call. Private; only with SPEAD2_USE_IBV.
#ifndef SPEAD2_OS_IBVERBS_H
#define SPEAD2_OS_IBVERBS_H

#include <spead2/features.h>
#if SPEAD2_USE_IBV

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <spead2/protocol/udp_frame.h>
#include "os/ibverbs_library.h"

namespace spead2::detail::ibv
{

/**
 * @throws std::runtime_error "<call> failed: <strerror>", adding the capability that raw-packet
 * queue pairs and flow rules need for EPERM
 */
[[noreturn]] void fail(const char *call, int error);

struct cm_id_deleter
{
    void operator()(rdma_cm_id *id) const;
};
struct event_channel_deleter
{
    void operator()(rdma_event_channel *channel) const;
};
struct pd_deleter
{
    void operator()(ibv_pd *pd) const;
};
struct mr_deleter
{
    void operator()(ibv_mr *mr) const;
};
struct comp_channel_deleter
{
    void operator()(ibv_comp_channel *channel) const;
};
struct cq_deleter
{
    void operator()(ibv_cq *cq) const;
};
struct qp_deleter
{
    void operator()(ibv_qp *qp) const;
};
struct flow_deleter
{
    void operator()(ibv_flow *flow) const;
};

using pd_t = std::unique_ptr<ibv_pd, pd_deleter>;
using mr_t = std::unique_ptr<ibv_mr, mr_deleter>;
using comp_channel_t = std::unique_ptr<ibv_comp_channel, comp_channel_deleter>;
using cq_t = std::unique_ptr<ibv_cq, cq_deleter>;
using qp_t = std::unique_ptr<ibv_qp, qp_deleter>;
using flow_t = std::unique_ptr<ibv_flow, flow_deleter>;

/// The RDMA device behind an interface, found (as spead2 does) by binding an RDMA CM id to one
/// of the interface's IPv4 addresses; the device context lives as long as this object.
class device
{
private:
    std::unique_ptr<rdma_event_channel, event_channel_deleter> events_;
    std::unique_ptr<rdma_cm_id, cm_id_deleter> id_;
    ibv_device_attr attr_{};

public:
    /**
     * @param address IPv4 address of the interface, host order
     * @throws std::runtime_error naming the address when no RDMA device has it
     */
    explicit device(std::uint32_t address);
    ibv_context *context() const { return id_->verbs; }
    std::uint8_t port() const { return id_->port_num ? id_->port_num : 1; }
    const ibv_device_attr &attributes() const { return attr_; }
};

pd_t alloc_pd(const device &dev);
/// Registers [@a addr, @a addr + @a size) for local access (IBV_ACCESS_LOCAL_WRITE when @a writable).
mr_t reg_mr(ibv_pd *pd, const void *addr, std::size_t size, bool writable);
/// A completion channel whose descriptor is non-blocking (for the reactor).
comp_channel_t create_comp_channel(const device &dev);
/// A completion queue of @a entries; @a channel may be null (no events: busy polling).
cq_t create_cq(const device &dev, int entries, ibv_comp_channel *channel, int comp_vector);
/**
 * An extended completion queue that reports byte counts and wall-clock completion timestamps, or
 * null if the device cannot (the caller falls back to create_cq). Destroy it through its
 * ibv_cq_ex_to_cq() in a cq_t.
 */
ibv_cq_ex *create_timestamped_cq(const device &dev, int entries, ibv_comp_channel *channel, int comp_vector);
/// A raw-packet queue pair, moved to INIT.
qp_t create_raw_qp(const device &dev, ibv_pd *pd, ibv_cq *send_cq, ibv_cq *recv_cq, std::uint32_t max_send_wr,
                   std::uint32_t max_recv_wr, std::uint32_t max_send_sge);
/// Moves @a qp to @a state (IBV_QPS_RTR, IBV_QPS_RTS).
void modify_qp(ibv_qp *qp, ibv_qp_state state);
/**
 * A flow rule steering IPv4 UDP frames to @a qp: destination MAC @a mac, destination address
 * @a address (host order; 0 = any) and port @a port.
 */
flow_t create_udp_flow(const device &dev, ibv_qp *qp, const frame::mac_address &mac, std::uint32_t address,
                       std::uint16_t port);

/**
 * Paces @a qp in hardware at @a bytes_per_second (typical packets of @a packet_size bytes) if the
 * device can pace raw-packet queue pairs at that rate. Returns why not otherwise (empty: done).
 */
std::string set_rate_limit(const device &dev, ibv_qp *qp, double bytes_per_second, std::size_t packet_size);

/**
 * Waits for nothing: takes the event a completion channel reported (the channel is
 * non-blocking) and acknowledges it. Returns false if there was none.
 */
bool take_cq_event(ibv_comp_channel *channel);

} // namespace spead2::detail::ibv

#endif // SPEAD2_USE_IBV
#endif // SPEAD2_OS_IBVERBS_H
