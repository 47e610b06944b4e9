// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Verbs objects and the calls that make them (see ibverbs.h).
#include <spead2/features.h>
#if SPEAD2_USE_IBV

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <asio/ip/address_v4.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include "os/ibverbs.h"

namespace spead2::detail::ibv
{

namespace
{

const ibverbs_api &api()
{
    return ibverbs();
}

std::string dotted(std::uint32_t address)
{
    return asio::ip::address_v4(address).to_string();
}

} // namespace

void fail(const char *call, int error)
{
    std::string message = std::string(call) + " failed: " + std::strerror(error);
    if (error == EPERM || error == EACCES)
        message += " (raw-packet queue pairs need CAP_NET_RAW)";
    throw std::runtime_error(message);
}

void cm_id_deleter::operator()(rdma_cm_id *id) const
{
    api().rdma_destroy_id(id);
}

void event_channel_deleter::operator()(rdma_event_channel *channel) const
{
    api().rdma_destroy_event_channel(channel);
}

void pd_deleter::operator()(ibv_pd *pd) const
{
    api().ibv_dealloc_pd(pd);
}

void mr_deleter::operator()(ibv_mr *mr) const
{
    api().ibv_dereg_mr(mr);
}

void comp_channel_deleter::operator()(ibv_comp_channel *channel) const
{
    api().ibv_destroy_comp_channel(channel);
}

void cq_deleter::operator()(ibv_cq *cq) const
{
    api().ibv_destroy_cq(cq);
}

void qp_deleter::operator()(ibv_qp *qp) const
{
    api().ibv_destroy_qp(qp);
}

void flow_deleter::operator()(ibv_flow *flow) const
{
    ::ibv_destroy_flow(flow);
}

device::device(std::uint32_t address)
{
    const ibverbs_api &a = api();
    events_.reset(a.rdma_create_event_channel());
    if (!events_)
    {
        const int error = errno;
        if (error == ENODEV) // no RDMA devices at all (no /dev/infiniband/rdma_cm)
            throw std::runtime_error("no RDMA device has interface address " + dotted(address) +
                                     " (rdma_create_event_channel: " + std::strerror(error) + ")");
        fail("rdma_create_event_channel", error);
    }
    rdma_cm_id *id = nullptr;
    if (a.rdma_create_id(events_.get(), &id, nullptr, RDMA_PS_UDP) != 0)
        fail("rdma_create_id", errno);
    id_.reset(id);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(address);
    if (a.rdma_bind_addr(id_.get(), reinterpret_cast<sockaddr *>(&addr)) != 0 || !id_->verbs)
    {
        const int error = errno;
        throw std::runtime_error("no RDMA device has interface address " + dotted(address) +
                                 " (rdma_bind_addr: " + std::strerror(error) + ")");
    }
    if (const int error = a.ibv_query_device(id_->verbs, &attr_); error != 0)
        fail("ibv_query_device", error);
}

pd_t alloc_pd(const device &dev)
{
    pd_t pd(api().ibv_alloc_pd(dev.context()));
    if (!pd)
        fail("ibv_alloc_pd", errno);
    return pd;
}

mr_t reg_mr(ibv_pd *pd, const void *addr, std::size_t size, bool writable)
{
    // Verbs take a non-const pointer even for memory that is only read.
    mr_t mr((api().ibv_reg_mr)(pd, const_cast<void *>(addr), size, writable ? IBV_ACCESS_LOCAL_WRITE : 0));
    if (!mr)
        fail("ibv_reg_mr", errno);
    return mr;
}

comp_channel_t create_comp_channel(const device &dev)
{
    comp_channel_t channel(api().ibv_create_comp_channel(dev.context()));
    if (!channel)
        fail("ibv_create_comp_channel", errno);
    const int flags = ::fcntl(channel->fd, F_GETFL);
    if (flags < 0 || ::fcntl(channel->fd, F_SETFL, flags | O_NONBLOCK) < 0)
        fail("fcntl(O_NONBLOCK) on the completion channel", errno);
    return channel;
}

cq_t create_cq(const device &dev, int entries, ibv_comp_channel *channel, int comp_vector)
{
    // As in spead2, the vector wraps around the device's vectors.
    const int vectors = std::max(1, dev.context()->num_comp_vectors);
    const int vector = channel ? comp_vector % vectors : 0;
    cq_t cq(api().ibv_create_cq(dev.context(), entries, nullptr, channel, vector));
    if (!cq)
        fail("ibv_create_cq", errno);
    return cq;
}

ibv_cq_ex *create_timestamped_cq(const device &dev, int entries, ibv_comp_channel *channel, int comp_vector)
{
    const int vectors = std::max(1, dev.context()->num_comp_vectors);
    ibv_cq_init_attr_ex attr{};
    attr.cqe = std::uint32_t(entries);
    attr.channel = channel;
    attr.comp_vector = std::uint32_t(channel ? comp_vector % vectors : 0);
    attr.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK;
    return ::ibv_create_cq_ex(dev.context(), &attr);
}

qp_t create_raw_qp(const device &dev, ibv_pd *pd, ibv_cq *send_cq, ibv_cq *recv_cq, std::uint32_t max_send_wr,
                   std::uint32_t max_recv_wr, std::uint32_t max_send_sge)
{
    ibv_qp_init_attr init{};
    init.send_cq = send_cq;
    init.recv_cq = recv_cq;
    init.qp_type = IBV_QPT_RAW_PACKET;
    init.cap.max_send_wr = max_send_wr;
    init.cap.max_recv_wr = max_recv_wr;
    init.cap.max_send_sge = max_send_sge;
    init.cap.max_recv_sge = 1;
    init.sq_sig_all = 0;
    qp_t qp(api().ibv_create_qp(pd, &init));
    if (!qp)
        fail("ibv_create_qp", errno);
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_INIT;
    attr.port_num = dev.port();
    if (const int error = api().ibv_modify_qp(qp.get(), &attr, IBV_QP_STATE | IBV_QP_PORT); error != 0)
        fail("ibv_modify_qp (INIT)", error);
    return qp;
}

void modify_qp(ibv_qp *qp, ibv_qp_state state)
{
    ibv_qp_attr attr{};
    attr.qp_state = state;
    if (const int error = api().ibv_modify_qp(qp, &attr, IBV_QP_STATE); error != 0)
        fail(state == IBV_QPS_RTR ? "ibv_modify_qp (RTR)" : "ibv_modify_qp (RTS)", error);
}

flow_t create_udp_flow(const device &dev, ibv_qp *qp, const frame::mac_address &mac, std::uint32_t address,
                       std::uint16_t port)
{
    // The rule is a header followed directly by its specifications, as the verbs API lays it out
    // (each specification's size field says where the next begins).
    struct rule
    {
        ibv_flow_attr attr;
        ibv_flow_spec_eth eth;
        ibv_flow_spec_ipv4 ip;
        ibv_flow_spec_tcp_udp udp;
    } r{};
    static_assert(offsetof(rule, eth) == sizeof(ibv_flow_attr) &&
                  offsetof(rule, ip) == offsetof(rule, eth) + sizeof(ibv_flow_spec_eth) &&
                  offsetof(rule, udp) == offsetof(rule, ip) + sizeof(ibv_flow_spec_ipv4));
    r.attr.type = IBV_FLOW_ATTR_NORMAL;
    r.attr.size = sizeof(r);
    r.attr.num_of_specs = 3;
    r.attr.port = dev.port();
    r.eth.type = IBV_FLOW_SPEC_ETH;
    r.eth.size = sizeof(r.eth);
    std::memcpy(r.eth.val.dst_mac, mac.data(), 6);
    std::memset(r.eth.mask.dst_mac, 0xff, 6);
    r.ip.type = IBV_FLOW_SPEC_IPV4;
    r.ip.size = sizeof(r.ip);
    if (address != 0)
    {
        r.ip.val.dst_ip = htonl(address);
        r.ip.mask.dst_ip = 0xffffffff;
    }
    r.udp.type = IBV_FLOW_SPEC_UDP;
    r.udp.size = sizeof(r.udp);
    r.udp.val.dst_port = htons(port);
    r.udp.mask.dst_port = 0xffff;
    flow_t flow(::ibv_create_flow(qp, &r.attr));
    if (!flow)
        fail("ibv_create_flow", errno);
    return flow;
}

std::string set_rate_limit(const device &dev, ibv_qp *qp, double bytes_per_second, std::size_t packet_size)
{
    // ibv_query_device_ex's inline wrapper falls back to a linked ibv_query_device; call the
    // provider's entry point directly instead (checked as verbs_get_ctx_op does, which is a GNU
    // statement expression that -Wpedantic refuses).
    verbs_context *vctx = verbs_get_ctx(dev.context());
    if (!vctx || vctx->sz < sizeof(*vctx) - offsetof(verbs_context, query_device_ex) ||
        !vctx->query_device_ex)
        return "the device does not report packet pacing";
    ibv_device_attr_ex attr{};
    if (const int error = vctx->query_device_ex(dev.context(), nullptr, &attr, sizeof(attr)); error != 0)
        return std::string("ibv_query_device_ex failed: ") + std::strerror(error);
    const ibv_packet_pacing_caps &caps = attr.packet_pacing_caps;
    if (!(caps.supported_qpts & (1U << IBV_QPT_RAW_PACKET)))
        return "the device cannot pace raw-packet queue pairs";
    const double kbps = bytes_per_second * 8 / 1000;
    if (kbps < caps.qp_rate_limit_min || kbps > caps.qp_rate_limit_max)
        return "the rate is outside the device's pacing range (" + std::to_string(caps.qp_rate_limit_min) +
               " to " + std::to_string(caps.qp_rate_limit_max) + " kb/s)";
    ibv_qp_rate_limit_attr limit{};
    limit.rate_limit = std::uint32_t(kbps + 0.5);
    // The NIC paces whole frames: headers count too.
    limit.typical_pkt_sz = std::uint16_t(std::min<std::size_t>(packet_size + 42, 0xffff));
    if (const int error = ::ibv_modify_qp_rate_limit(qp, &limit); error != 0)
        return std::string("ibv_modify_qp_rate_limit failed: ") + std::strerror(error);
    return {};
}

bool take_cq_event(ibv_comp_channel *channel)
{
    ibv_cq *cq = nullptr;
    void *context = nullptr;
    if (api().ibv_get_cq_event(channel, &cq, &context) != 0)
    {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return false;
        fail("ibv_get_cq_event", errno);
    }
    api().ibv_ack_cq_events(cq, 1);
    return true;
}

} // namespace spead2::detail::ibv

#endif // SPEAD2_USE_IBV
