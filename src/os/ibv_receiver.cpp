// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The receive half of the ibverbs transport (see ibv_receiver.h).
#include <spead2/features.h>
#if SPEAD2_USE_IBV

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include "os/ibv_receiver.h"

namespace spead2::detail
{

ibv_receiver::ibv_receiver(std::uint32_t interface_address, std::size_t buffer_size, std::size_t slot_size,
                           int comp_vector, bool timestamps)
    : slot_size_(slot_size)
    , device_(interface_address)
{
    const ibv_device_attr &attr = device_.attributes();
    wanted_slots_ = std::max<std::size_t>(1, buffer_size / slot_size_);
    slots_ = std::min(wanted_slots_, std::size_t(std::min(attr.max_qp_wr, attr.max_cqe)));
    pd_ = ibv::alloc_pd(device_);
    const std::size_t mapped_size = slots_ * slot_size_;
    void *buffer = ::mmap(nullptr, mapped_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buffer == MAP_FAILED)
        ibv::fail("mmap of the receive buffer", errno);
    buffer_ =
        std::unique_ptr<std::uint8_t, unmapper>(static_cast<std::uint8_t *>(buffer), unmapper{mapped_size});
    mr_ = ibv::reg_mr(pd_.get(), buffer_.get(), mapped_size, true);
    if (comp_vector >= 0)
        channel_ = ibv::create_comp_channel(device_);
    send_cq_ = ibv::create_cq(device_, 1, nullptr, 0);
    if (timestamps)
    {
        timestamped_cq_ = ibv::create_timestamped_cq(device_, int(slots_), channel_.get(), comp_vector);
        if (timestamped_cq_)
            recv_cq_.reset(ibv_cq_ex_to_cq(timestamped_cq_));
    }
    if (!recv_cq_)
        recv_cq_ = ibv::create_cq(device_, int(slots_), channel_.get(), comp_vector);
    qp_ = ibv::create_raw_qp(device_, pd_.get(), send_cq_.get(), recv_cq_.get(), 1, std::uint32_t(slots_), 1);
    wrs_.resize(slots_);
    sges_.resize(slots_);
    for (std::size_t i = 0; i < slots_; i++)
    {
        sges_[i].addr = reinterpret_cast<std::uintptr_t>(buffer_.get() + i * slot_size_);
        sges_[i].length = std::uint32_t(slot_size_);
        sges_[i].lkey = mr_->lkey;
        wrs_[i].wr_id = i;
        wrs_[i].sg_list = &sges_[i];
        wrs_[i].num_sge = 1;
        wrs_[i].next = (i + 1 < slots_) ? &wrs_[i + 1] : nullptr;
    }
    post(wrs_.data());
    ibv::modify_qp(qp_.get(), IBV_QPS_RTR);
}

void ibv_receiver::unmapper::operator()(std::uint8_t *data) const
{
    ::munmap(data, size);
}

void ibv_receiver::post(ibv_recv_wr *first)
{
    ibv_recv_wr *bad = nullptr;
    if (const int error = ::ibv_post_recv(qp_.get(), first, &bad); error != 0)
        ibv::fail("ibv_post_recv", error);
}

int ibv_receiver::poll(completion *out)
{
    if (!timestamped_cq_)
    {
        ibv_wc wc[max_batch];
        const int n = ::ibv_poll_cq(recv_cq_.get(), max_batch, wc);
        if (n < 0)
            poll_failed(n);
        for (int i = 0; i < n; i++)
            out[i] = {wc[i].wr_id, wc[i].status, wc[i].byte_len, 0};
        return n;
    }
    ibv_poll_cq_attr attr{};
    int error = ::ibv_start_poll(timestamped_cq_, &attr);
    if (error == ENOENT)
        return 0;
    if (error != 0)
        poll_failed(-error);
    int n = 0;
    do
    {
        ibv_cq_ex *cq = timestamped_cq_;
        out[n++] = {cq->wr_id, cq->status, ::ibv_wc_read_byte_len(cq),
                    ::ibv_wc_read_completion_wallclock_ns(cq)};
    } while (n < max_batch && (error = ::ibv_next_poll(timestamped_cq_)) == 0);
    ::ibv_end_poll(timestamped_cq_);
    if (error != 0 && error != ENOENT)
        poll_failed(-error);
    return n;
}

void ibv_receiver::poll_failed(int n)
{
    ibv::fail("ibv_poll_cq", -n);
}

void ibv_receiver::completion_failed(ibv_wc_status status)
{
    throw std::runtime_error("a receive completion failed (status " + std::to_string(int(status)) +
                             "): the queue pair is in error");
}

void ibv_receiver::add_flow(const frame::mac_address &mac, std::uint32_t address, std::uint16_t port)
{
    flows_.push_back(ibv::create_udp_flow(device_, qp_.get(), mac, address, port));
}

void ibv_receiver::arm()
{
    if (const int error = ::ibv_req_notify_cq(recv_cq_.get(), 0); error != 0)
        ibv::fail("ibv_req_notify_cq", error);
}

void ibv_receiver::take_events()
{
    while (ibv::take_cq_event(channel_.get()))
    {
    }
}

} // namespace spead2::detail

#endif // SPEAD2_USE_IBV
