// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The AF_XDP transport (see udp_xdp_stream.h).
#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>
#include <asio.hpp>
#include <spead2/protocol/udp_frame.h>
#include <spead2/send/udp_xdp_stream.h>
#include <spead2/send/writer.h>
#include "os/neighbour.h"
#include "os/udp_resolve.h"
#include "os/xdp.h"

namespace spead2::send
{

udp_xdp_config &udp_xdp_config::set_ttl(std::uint8_t value)
{
    ttl = value;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_queue_id(std::uint32_t queue)
{
    queue_id = queue;
    return *this;
}

namespace
{

class udp_xdp_writer final : public writer
{
private:
    /// Holds the source port, so that the kernel gives it to nobody else.
    asio::ip::udp::socket port_socket_;
    spead2::detail::xsk_sender sender_;
    std::vector<frame::frame_headers> headers_; ///< per substream
    std::size_t max_frame_size_;                ///< Ethernet header + MTU, at most a UMEM frame
    std::uint16_t ip_id_ = 0;

    packet_batch *batch_ = nullptr;
    std::size_t next_packet_ = 0;

    /// Queues what is left of the batch; false if it ran out of frames and will go on later.
    bool send_some()
    {
        packet_batch &batch = *batch_;
        while (next_packet_ < batch.packets.size())
        {
            transmit_packet &p = batch.packets[next_packet_];
            const frame::frame_headers &h = headers_[p.substream_index];
            if (h.size() + p.size > max_frame_size_)
            {
                p.result = std::error_code(EMSGSIZE, std::system_category());
                next_packet_++;
                continue;
            }
            std::uint64_t addr;
            if (!sender_.acquire(addr))
            {
                // Every frame is in flight (zero-copy NICs complete asynchronously): try again
                // after other handlers have had a turn.
                asio::post(get_io_context(),
                           [this]
                           {
                               if (send_some())
                                   batch_done();
                           });
                return false;
            }
            std::uint8_t *out = sender_.frame(addr);
            h.write(out, p.size, ip_id_++);
            out += h.size();
            const packet_piece *pieces = batch.get_pieces(p);
            for (std::size_t j = 0; j < p.num_pieces; j++)
            {
                std::memcpy(out, pieces[j].data, pieces[j].size);
                out += pieces[j].size;
            }
            sender_.push(addr, h.size() + p.size);
            next_packet_++;
        }
        sender_.flush();
        return true;
    }

    void send_batch(packet_batch &batch) override
    {
        batch_ = &batch;
        next_packet_ = 0;
        if (send_some())
            batch_done();
    }

public:
    udp_xdp_writer(io_context_ref io_context, const stream_config &config, const udp_xdp_config &xdp_config,
                   const spead2::detail::network_interface &iface, const asio::ip::address_v4 &source)
        : writer(std::move(io_context), config)
        , port_socket_(get_io_context(), asio::ip::udp::endpoint(source, 0))
        , sender_(iface, xdp_config.get_queue_id(),
                  xdp_config.get_buffer_size() / spead2::detail::xsk_endpoint::frame_size,
                  xdp_config.get_copy_mode())
        , max_frame_size_(std::min(spead2::detail::xsk_endpoint::frame_size,
                                   frame::ethernet_header_size + spead2::detail::interface_mtu(iface.name)))
    {
        frame::frame_headers h;
        h.src_mac = spead2::detail::interface_mac(iface.name);
        h.src_address = source.to_uint();
        h.src_port = port_socket_.local_endpoint().port();
        h.ttl = xdp_config.get_ttl();
        for (const auto &[address, port] : xdp_config.get_endpoints())
        {
            h.dst_address = spead2::detail::resolve_ipv4(address, "endpoint").to_uint();
            h.dst_port = port;
            h.dst_mac = spead2::detail::next_hop_mac(iface.name, h.src_address, h.dst_address);
            headers_.push_back(h);
        }
    }

    std::size_t get_num_substreams() const override { return headers_.size(); }
};

std::unique_ptr<writer> make_writer(io_context_ref io_context, const stream_config &config,
                                    const udp_xdp_config &xdp_config)
{
    if (xdp_config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    if (xdp_config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been set");
    const asio::ip::address_v4 source =
        spead2::detail::resolve_ipv4(xdp_config.get_interface_address(), "interface address");
    const auto iface = spead2::detail::interface_by_ipv4(source.to_uint());
    return std::make_unique<udp_xdp_writer>(std::move(io_context), config, xdp_config, iface, source);
}

} // namespace

udp_xdp_stream::udp_xdp_stream(io_context_ref io_context, const stream_config &config,
                               const udp_xdp_config &xdp_config)
    : stream(make_writer(std::move(io_context), config, xdp_config))
{
}

} // namespace spead2::send

#endif // SPEAD2_USE_XDP
