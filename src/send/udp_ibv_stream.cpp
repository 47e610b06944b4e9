// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The ibverbs transport (see udp_ibv_stream.h).
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/udp_frame.h>
#include <spead2/send/udp_ibv_stream.h>
#include <spead2/send/writer.h>
#include "os/ibverbs.h"
#include "os/ibverbs_library.h"
#include "os/neighbour.h"
#include "os/udp_resolve.h"

namespace spead2::send
{

udp_ibv_config &udp_ibv_config::set_ttl(std::uint8_t value)
{
    ttl = value;
    return *this;
}

udp_ibv_config &udp_ibv_config::set_memory_regions(const std::vector<memory_region> &regions)
{
    memory_regions = regions;
    return *this;
}

udp_ibv_config &udp_ibv_config::add_memory_region(const void *ptr, std::size_t size)
{
    memory_regions.emplace_back(ptr, size);
    return *this;
}

namespace
{

void check_config(const udp_ibv_config &config)
{
    if (config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    for (const auto &[host, port] : config.get_endpoints())
    {
        // A name is resolved (an unknown one throws "resolve: Host not found"), as spead2 does.
        const asio::ip::address address = spead2::detail::resolve_address(host);
        if (!address.is_v4() || !address.is_multicast())
            throw std::invalid_argument("endpoint is not an IPv4 multicast address");
    }
    if (config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been specified");
    // Before any device is opened, so that these errors do not depend on the machine.
    std::vector<udp_ibv_config::memory_region> regions = config.get_memory_regions();
    std::sort(regions.begin(), regions.end(),
              [](const auto &a, const auto &b) { return std::less<>()(a.first, b.first); });
    for (std::size_t i = 0; i < regions.size(); i++)
    {
        if (regions[i].second == 0)
            throw std::invalid_argument("memory region must have non-zero size");
        const auto *end = static_cast<const std::uint8_t *>(regions[i].first) + regions[i].second;
        if (i + 1 < regions.size() && std::less<>()(regions[i + 1].first, end))
            throw std::invalid_argument("memory regions overlap");
    }
}

#if SPEAD2_USE_IBV

namespace ibv = spead2::detail::ibv;

class udp_ibv_writer final : public writer
{
private:
    /// Scatter-gather entries per frame at most: the headers with the copied pieces, then pairs
    /// of (registered piece, copied pieces after it), as many as the device's limit allows.
    static constexpr std::size_t max_sge = 8;

    /// A registered user region, for zero-copy pieces.
    struct region
    {
        const std::uint8_t *start;
        std::size_t size;
        ibv::mr_t mr;
    };

    /// One frame in flight: its request, where its pieces are, and whose packet it is.
    struct slot
    {
        ibv_send_wr wr{};
        std::array<ibv_sge, max_sge> sge{};
        std::uint8_t *data = nullptr;
        transmit_packet *packet = nullptr; ///< the packet, while its batch is being sent
        bool zero_copy = false;            ///< reads user memory: the batch waits for it
    };

    /// Holds the source port, so that the kernel gives it to nobody else.
    asio::ip::udp::socket port_socket_;
    int max_poll_;
    std::size_t slot_size_; ///< Ethernet header + MTU
    std::size_t sge_limit_; ///< scatter-gather entries per frame (device limit, at most max_sge)
    ibv::device device_;
    ibv::pd_t pd_;
    memory_allocator::pointer buffer_;
    ibv::mr_t mr_;
    std::vector<region> regions_;
    ibv::comp_channel_t channel_;
    ibv::cq_t cq_;
    ibv::cq_t recv_cq_; ///< unused, but a queue pair needs one
    ibv::qp_t qp_;
    std::unique_ptr<asio::posix::stream_descriptor> descriptor_; ///< the channel's; not owned
    std::vector<frame::frame_headers> headers_;                  ///< per substream
    std::vector<slot> slots_;
    std::vector<std::size_t> free_;
    std::vector<std::size_t> batch_slots_; ///< slots used by the batch being sent
    std::uint16_t ip_id_ = 0;

    packet_batch *batch_ = nullptr;
    std::size_t next_packet_ = 0;
    std::size_t waiting_ = 0; ///< frames of this batch from user memory, not yet completed

    const region *find_region(const std::uint8_t *data, std::size_t size) const
    {
        for (const region &r : regions_)
            if (data >= r.start && size <= r.size && std::size_t(data - r.start) <= r.size - size)
                return &r;
        return nullptr;
    }

    /// Fills @a s with packet @a p: headers and copied pieces in the slot, registered pieces in place.
    void build(slot &s, transmit_packet &p)
    {
        const frame::frame_headers &h = headers_[p.substream_index];
        h.write(s.data, p.size, ip_id_++);
        std::uint8_t *out = s.data + h.size();
        std::size_t n = 0;
        s.sge[0] = {reinterpret_cast<std::uintptr_t>(s.data), std::uint32_t(h.size()), mr_->lkey};
        bool user = false;
        const packet_piece *pieces = batch_->get_pieces(p);
        for (std::size_t j = 0; j < p.num_pieces; j++)
        {
            const auto *data = static_cast<const std::uint8_t *>(pieces[j].data);
            // Room for the registered piece and a copy run after it.
            const region *r = (n + 2 < sge_limit_) ? find_region(data, pieces[j].size) : nullptr;
            if (r)
            {
                s.sge[++n] = {reinterpret_cast<std::uintptr_t>(data), std::uint32_t(pieces[j].size),
                              r->mr->lkey};
                s.sge[++n] = {reinterpret_cast<std::uintptr_t>(out), 0, mr_->lkey};
                user = true;
            }
            else
            {
                std::memcpy(out, data, pieces[j].size);
                out += pieces[j].size;
                s.sge[n].length += std::uint32_t(pieces[j].size);
            }
        }
        if (s.sge[n].length == 0 && n > 0)
            n--; // nothing was copied after the last registered piece
        s.wr.num_sge = int(n + 1);
        s.packet = &p;
        s.zero_copy = user;
        waiting_ += user;
    }

    /// Copied frames of the batch may still be in flight when it ends: they no longer belong to it.
    void forget_batch_slots()
    {
        for (std::size_t index : batch_slots_)
            slots_[index].packet = nullptr;
        batch_slots_.clear();
    }

    /// Gives @a s back; the batch stops waiting for it.
    void release_slot(slot &s)
    {
        if (s.zero_copy)
            waiting_--;
        s.zero_copy = false;
        s.packet = nullptr;
        free_.push_back(s.wr.wr_id);
    }

    /// Takes what the device has finished. A failed frame fails its packet while its batch is
    /// still being sent; after that (a copied frame: the batch did not wait) it is only logged.
    void reap()
    {
        ibv_wc wc[16];
        int n;
        while ((n = ::ibv_poll_cq(cq_.get(), 16, wc)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                slot &s = slots_[wc[i].wr_id];
                if (wc[i].status != IBV_WC_SUCCESS)
                {
                    if (s.packet)
                        s.packet->result = std::error_code(EIO, std::system_category());
                    else
                        log_warning("udp_ibv_stream: a frame failed to send: %s (status %d)",
                                    wc[i].status == IBV_WC_LOC_LEN_ERR ? "too long" : "device error",
                                    int(wc[i].status));
                }
                release_slot(s);
            }
        }
        if (n < 0)
            ibv::fail("ibv_poll_cq", -n);
    }

    /// Ends the batch after the device failed under us: what is not sent fails with the error.
    void abandon_batch(const std::exception &e)
    {
        log_warning("udp_ibv_stream: %s", e.what());
        const std::error_code error(EIO, std::system_category());
        for (std::size_t i = 0; i < batch_->packets.size(); i++)
            if (i >= next_packet_ || !batch_->packets[i].result)
                batch_->packets[i].result = error;
        // The device will not report these frames any more: forget them.
        forget_batch_slots();
        waiting_ = 0;
        next_packet_ = batch_->packets.size();
        batch_done();
    }

    /// Runs @a step (part of sending the batch) so that a verbs failure ends the batch, never
    /// leaving it unfinished (the stream would wait for it for ever).
    template<typename F>
    void guarded(F &&step)
    {
        try
        {
            step();
        }
        catch (std::exception &e)
        {
            abandon_batch(e);
        }
    }

    /// Polls up to max_poll times, then sleeps on the channel (or, without one, yields the
    /// io_context) until something completes; then carries on with the batch.
    void wait_then_continue()
    {
        for (int i = 0; i < max_poll_; i++)
        {
            const std::size_t before = free_.size();
            reap();
            if (free_.size() != before)
            {
                asio::post(get_io_context(), [this] { guarded([this] { send_some(); }); });
                return;
            }
        }
        if (channel_)
        {
            if (const int error = ::ibv_req_notify_cq(cq_.get(), 0); error != 0)
                ibv::fail("ibv_req_notify_cq", error);
            const std::size_t before = free_.size();
            reap();
            if (free_.size() == before)
            {
                descriptor_->async_wait(asio::posix::descriptor_base::wait_read,
                                        [this](const std::error_code &)
                                        {
                                            guarded(
                                                [this]
                                                {
                                                    while (ibv::take_cq_event(channel_.get()))
                                                    {
                                                    }
                                                    reap();
                                                    send_some();
                                                });
                                        });
                return;
            }
        }
        asio::post(get_io_context(), [this] { guarded([this] { send_some(); }); });
    }

    /// Posts what is left of the batch, then finishes it once its user memory is no longer read.
    void send_some()
    {
        packet_batch &batch = *batch_;
        ibv_send_wr *first = nullptr;
        ibv_send_wr *last = nullptr;
        bool stalled = false;
        while (next_packet_ < batch.packets.size())
        {
            transmit_packet &p = batch.packets[next_packet_];
            if (headers_[p.substream_index].size() + p.size > slot_size_)
            {
                p.result = std::error_code(EMSGSIZE, std::system_category());
                next_packet_++;
                continue;
            }
            if (free_.empty())
                reap();
            if (free_.empty())
            {
                stalled = true;
                break;
            }
            const std::size_t index = free_.back();
            free_.pop_back();
            slot &s = slots_[index];
            build(s, p);
            batch_slots_.push_back(index);
            s.wr.next = nullptr;
            if (last)
                last->next = &s.wr;
            else
                first = &s.wr;
            last = &s.wr;
            next_packet_++;
        }
        if (first)
        {
            ibv_send_wr *bad = nullptr;
            if (const int error = ::ibv_post_send(qp_.get(), first, &bad); error != 0)
            {
                // Nothing from bad onwards was queued: those packets fail, their slots come back.
                log_warning("udp_ibv_stream: ibv_post_send failed: %s", std::strerror(error));
                for (ibv_send_wr *wr = bad; wr; wr = wr->next)
                {
                    slot &s = slots_[wr->wr_id];
                    s.packet->result = std::error_code(error, std::system_category());
                    release_slot(s);
                }
            }
        }
        if (stalled || waiting_ > 0)
            wait_then_continue();
        else
        {
            forget_batch_slots();
            batch_done();
        }
    }

    void send_batch(packet_batch &batch) override
    {
        batch_ = &batch;
        next_packet_ = 0;
        batch_slots_.clear();
        guarded([this] { send_some(); });
    }

public:
    udp_ibv_writer(io_context_ref io_context, const stream_config &config, const udp_ibv_config &ibv_config,
                   const asio::ip::address_v4 &source)
        : writer(std::move(io_context), config)
        , port_socket_(get_io_context(), asio::ip::udp::endpoint(source, 0))
        , max_poll_(ibv_config.get_max_poll())
        , device_(source.to_uint())
    {
        const auto iface = spead2::detail::interface_by_ipv4(source.to_uint());
        slot_size_ = frame::ethernet_header_size + spead2::detail::interface_mtu(iface.name);
        const ibv_device_attr &attr = device_.attributes();
        const std::size_t wanted = std::max<std::size_t>(1, ibv_config.get_buffer_size() / slot_size_);
        const std::size_t limit = std::size_t(std::min(attr.max_qp_wr, attr.max_cqe));
        const std::size_t count = std::min(wanted, limit);
        if (count < wanted)
            log_warning("udp_ibv_stream: the device takes at most %zu send slots; buffer reduced from %zu to "
                        "%zu bytes",
                        limit, wanted * slot_size_, count * slot_size_);
        pd_ = ibv::alloc_pd(device_);
        buffer_ = std::make_shared<mmap_allocator>()->allocate(count * slot_size_, nullptr);
        mr_ = ibv::reg_mr(pd_.get(), buffer_.get(), count * slot_size_, false);
        for (const auto &[ptr, size] : ibv_config.get_memory_regions())
            regions_.push_back(
                {static_cast<const std::uint8_t *>(ptr), size, ibv::reg_mr(pd_.get(), ptr, size, false)});
        if (ibv_config.get_comp_vector() >= 0)
            channel_ = ibv::create_comp_channel(device_);
        cq_ = ibv::create_cq(device_, int(count), channel_.get(), ibv_config.get_comp_vector());
        recv_cq_ = ibv::create_cq(device_, 1, nullptr, 0);
        sge_limit_ = std::min<std::size_t>(max_sge, std::size_t(std::max(attr.max_sge, 1)));
        qp_ = ibv::create_raw_qp(device_, pd_.get(), cq_.get(), recv_cq_.get(), std::uint32_t(count), 1,
                                 std::uint32_t(sge_limit_));
        ibv::modify_qp(qp_.get(), IBV_QPS_RTR);
        ibv::modify_qp(qp_.get(), IBV_QPS_RTS);
        if (config.get_rate_method() == rate_method::HW && config.get_rate() > 0)
        {
            const std::string why_not =
                ibv::set_rate_limit(device_, qp_.get(), config.get_rate(), config.get_max_packet_size());
            if (why_not.empty())
                set_hardware_rate();
            else
                log_info("udp_ibv_stream: rate limited in software: %s", why_not.c_str());
        }
        slots_.resize(count);
        for (std::size_t i = 0; i < count; i++)
        {
            slot &s = slots_[i];
            s.data = buffer_.get() + i * slot_size_;
            s.wr.wr_id = i;
            s.wr.sg_list = s.sge.data();
            s.wr.opcode = IBV_WR_SEND;
            s.wr.send_flags = IBV_SEND_SIGNALED;
            free_.push_back(count - 1 - i);
        }
        frame::frame_headers h;
        h.src_mac = spead2::detail::interface_mac(iface.name);
        h.src_address = source.to_uint();
        h.src_port = port_socket_.local_endpoint().port();
        h.ttl = ibv_config.get_ttl();
        for (const auto &[address, port] : ibv_config.get_endpoints())
        {
            h.dst_address = spead2::detail::resolve_ipv4(address, "endpoint").to_uint();
            h.dst_port = port;
            h.dst_mac = frame::multicast_mac(h.dst_address);
            headers_.push_back(h);
        }
        batch_slots_.reserve(max_batch);
        // Last: until the constructor has finished, nothing would release the descriptor, which
        // the channel owns.
        if (channel_)
            descriptor_ = std::make_unique<asio::posix::stream_descriptor>(get_io_context(), channel_->fd);
    }

    ~udp_ibv_writer() override
    {
        if (descriptor_)
            descriptor_->release();
    }

    std::size_t get_num_substreams() const override { return headers_.size(); }
};

#endif // SPEAD2_USE_IBV

std::unique_ptr<writer> make_ibv_writer(io_context_ref io_context, const stream_config &config,
                                        const udp_ibv_config &ibv_config)
{
    check_config(ibv_config);
#if SPEAD2_USE_IBV
    const asio::ip::address_v4 source =
        spead2::detail::resolve_ipv4(ibv_config.get_interface_address(), "interface address");
    spead2::detail::require_ibverbs();
    return std::make_unique<udp_ibv_writer>(std::move(io_context), config, ibv_config, source);
#else
    (void)io_context;
    (void)config;
    throw std::runtime_error("this build of spead2 has no ibverbs support (build it with libibverbs-dev and "
                             "librdmacm-dev installed)");
#endif
}

} // namespace

udp_ibv_stream::udp_ibv_stream(io_context_ref io_context, const stream_config &config,
                               const udp_ibv_config &ibv_config)
    : stream(make_ibv_writer(std::move(io_context), config, ibv_config))
{
}

} // namespace spead2::send
