// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Whole frames from a raw-packet queue pair: the receive half of the ibverbs transport, shared
/// by recv::udp_ibv_reader and mcdump. Private; only with SPEAD2_USE_IBV.
#ifndef SPEAD2_OS_IBV_RECEIVER_H
#define SPEAD2_OS_IBV_RECEIVER_H

#include <spead2/features.h>
#if SPEAD2_USE_IBV

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>
#include "os/ibverbs.h"

namespace spead2::detail
{

/**
 * A raw-packet queue pair whose receive queue holds every slot of one registered buffer. Flow
 * rules steer frames to it; receive() hands completed slots to a function and posts them again.
 * With a completion channel (comp_vector ≥ 0) the caller can sleep on channel_fd() after arm().
 */
class ibv_receiver
{
private:
    /// Unmaps the slots' anonymous mapping.
    struct unmapper
    {
        std::size_t size;
        void operator()(std::uint8_t *data) const;
    };

    std::size_t slot_size_;
    std::size_t slots_;
    std::size_t wanted_slots_;
    /// Declared in the order of making, so that each goes before what it uses (also when a
    /// constructor step fails): rules, queue pair, queues, channel, memory, PD, device.
    ibv::device device_;
    ibv::pd_t pd_;
    std::unique_ptr<std::uint8_t, unmapper> buffer_;
    ibv::mr_t mr_;
    ibv::comp_channel_t channel_;
    ibv::cq_t send_cq_; ///< unused, but a queue pair needs one
    ibv::cq_t recv_cq_;
    ibv::qp_t qp_;
    std::vector<ibv::flow_t> flows_;
    std::vector<ibv_recv_wr> wrs_; ///< one per slot, wr_id = slot
    std::vector<ibv_sge> sges_;
    /// The receive CQ as an extended CQ, when it reports completion timestamps; else null.
    ibv_cq_ex *timestamped_cq_ = nullptr;

    /// One completion, whichever kind of CQ it came from.
    struct completion
    {
        std::uint64_t slot;
        ibv_wc_status status;
        std::uint32_t byte_len;
        std::uint64_t timestamp_ns;
    };
    /// Up to max_batch completions into @a out; returns how many.
    int poll(completion *out);

    void post(ibv_recv_wr *first);
    [[noreturn]] static void poll_failed(int n);
    [[noreturn]] static void completion_failed(ibv_wc_status status);

public:
    static constexpr int max_batch = 64;

    /**
     * @param interface_address IPv4 address (host order) of the interface whose device to use
     * @param buffer_size bytes to split into slots of @a slot_size (at least one slot; as many as
     *                    the device takes: see wanted_slots())
     * @param comp_vector completion vector, or negative for no completion channel
     * @param timestamps ask the device for completion timestamps (wall clock); without them
     *                   (see has_timestamps()) frames get timestamp 0
     * @throws std::runtime_error naming the call that failed
     */
    ibv_receiver(std::uint32_t interface_address, std::size_t buffer_size, std::size_t slot_size,
                 int comp_vector, bool timestamps = false);
    ibv_receiver(const ibv_receiver &) = delete;
    ibv_receiver &operator=(const ibv_receiver &) = delete;

    std::size_t slots() const { return slots_; }
    /// The slots the buffer size asked for (more than slots() if the device has fewer).
    std::size_t wanted_slots() const { return wanted_slots_; }
    std::size_t slot_size() const { return slot_size_; }
    /// Whether frames come with the device's completion timestamps.
    bool has_timestamps() const { return timestamped_cq_ != nullptr; }

    /// Steers IPv4 UDP to @a mac, @a address (host order, 0 = any), @a port here.
    void add_flow(const frame::mac_address &mac, std::uint32_t address, std::uint16_t port);

    /// The completion channel's descriptor (non-blocking), or -1 without one.
    int channel_fd() const { return channel_ ? channel_->fd : -1; }
    /// Asks for an event on the channel at the next completion.
    void arm();
    /// Takes (and acknowledges) the events the channel has.
    void take_events();

    /**
     * Polls once: calls @a f(data, size, timestamp_ns) for each frame received (timestamp 0
     * without has_timestamps()), or @a f(nullptr, 0, 0) for a frame longer than a slot, then
     * posts the slots again (unless @a repost is false: the queue pair is going away). Returns
     * the completions handled.
     * @throws std::runtime_error for any other failed completion (the queue pair is in error)
     */
    template<typename F>
    int receive(F &&f, bool repost = true)
    {
        completion done[max_batch];
        const int n = poll(done);
        std::uint8_t *buffer = buffer_.get();
        ibv_recv_wr *first = nullptr;
        ibv_recv_wr *last = nullptr;
        for (int i = 0; i < n; i++)
        {
            const std::size_t slot = done[i].slot;
            if (done[i].status == IBV_WC_SUCCESS)
                f(buffer + slot * slot_size_, std::size_t(done[i].byte_len), done[i].timestamp_ns);
            else if (done[i].status == IBV_WC_LOC_LEN_ERR)
                f(nullptr, 0, 0);
            else
                completion_failed(done[i].status);
            ibv_recv_wr *wr = &wrs_[slot];
            wr->next = nullptr;
            if (last)
                last->next = wr;
            else
                first = wr;
            last = wr;
        }
        if (first && repost)
            post(first);
        return n;
    }
};

} // namespace spead2::detail

#endif // SPEAD2_USE_IBV
#endif // SPEAD2_OS_IBV_RECEIVER_H
