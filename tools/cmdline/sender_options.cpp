// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The sender option group.
#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>
#include <spead2/send/tcp_stream.h>
#include <spead2/features.h>
#include <spead2/send/udp_ibv_stream.h>
#include <spead2/send/udp_stream.h>
#if SPEAD2_USE_XDP
#include <spead2/send/udp_xdp_stream.h>
#endif
#include "sender_options.h"
#include "xdp_modes.h"

namespace spead2::tools
{

void sender_options::add_options(CLI::App &app, const option_namer &names)
{
    auto add = [&](const std::string &name, auto &var, const std::string &help) -> CLI::Option *
    {
        auto n = names.flag(name);
        return n.empty() ? nullptr : app.add_option(n, var, help);
    };
    add("addr-bits", addr_bits, "Heap address bits");
    add("packet", packet, "Maximum packet size to send");
    add("bind", bind, "Local address to bind sockets to");
    buffer_opt_ = add("buffer", buffer, "Socket buffer size [UDP: 524288, TCP: 212992]");
    if (buffer_opt_)
        buffer_opt_->default_str("");
    add("burst", burst, "Burst size");
    add("burst-rate-ratio", burst_rate_ratio, "Hard rate limit, relative to --rate");
    add("max-heaps", max_heaps, "Maximum heaps in flight");
    if (auto *opt = add("rate-method", rate_method, "Rate limiting method (SW/HW/AUTO)"))
        opt->check(CLI::IsMember({"SW", "HW", "AUTO"}, CLI::ignore_case));
    add("rate", rate, "Transmission rate bound (Gb/s)");
    add("ttl", ttl, "TTL for multicast target");
    if (auto n = names.flag("ibv"); !n.empty())
        app.add_flag(n, ibv, SPEAD2_USE_IBV ? "Use ibverbs" : "Use ibverbs (not available in this build)");
    add("ibv-vector", ibv_comp_vector, "Interrupt vector (-1 for polled)");
    add("ibv-max-poll", ibv_max_poll, "Maximum number of times to poll in a row");
    if (auto n = names.flag("xdp"); !n.empty())
        app.add_flag(n, xdp, "Use AF_XDP kernel bypass out of the interface of --bind");
    add("xdp-queue", xdp_queue, "AF_XDP: transmit queue of the interface");
    check_xdp_mode(add("xdp-copy", xdp_copy, "AF_XDP: frame copying (auto/zero-copy/copy)"), xdp_copy_names);
}

void sender_options::finalize(const protocol_options &protocol)
{
    protocol.check_kernel_bypass(ibv, xdp, bind);
    std::transform(rate_method.begin(), rate_method.end(), rate_method.begin(),
                   [](unsigned char c) { return char(std::toupper(c)); });
    if (rate_method != "SW" && rate_method != "HW" && rate_method != "AUTO")
        throw std::invalid_argument("Invalid rate method '" + rate_method + "'");
    if (!buffer_opt_ || buffer_opt_->count() == 0)
        buffer = protocol.tcp ? send::tcp_stream::default_buffer_size : send::udp_stream::default_buffer_size;
#if SPEAD2_USE_XDP
    if (xdp && (!buffer_opt_ || buffer_opt_->count() == 0))
        buffer = send::udp_xdp_config::default_buffer_size;
#endif
    if (ibv && (!buffer_opt_ || buffer_opt_->count() == 0))
        buffer = send::udp_ibv_config::default_buffer_size;
}

flavour sender_options::make_flavour(const protocol_options &protocol) const
{
    return flavour(4, 64, addr_bits, protocol.get_bug_compat());
}

send::stream_config sender_options::make_stream_config() const
{
    send::stream_config config;
    config.set_max_packet_size(packet);
    config.set_rate(rate * (1e9 / 8));
    config.set_burst_size(burst);
    config.set_max_heaps(max_heaps);
    config.set_burst_rate_ratio(burst_rate_ratio);
    if (rate_method == "SW")
        config.set_rate_method(send::rate_method::SW);
    else if (rate_method == "HW")
        config.set_rate_method(send::rate_method::HW);
    else
        config.set_rate_method(send::rate_method::AUTO);
    return config;
}

std::unique_ptr<send::stream> sender_options::make_stream(io_context_ref io_context,
                                                          const protocol_options &protocol,
                                                          const std::vector<endpoint> &endpoints) const
{
    std::vector<std::pair<std::string, std::uint16_t>> eps;
    for (const auto &ep : endpoints)
        eps.emplace_back(ep.host, ep.port);
    send::stream_config config = make_stream_config();
    if (protocol.tcp)
    {
        if (eps.size() != 1)
            throw std::invalid_argument("Only one destination may be given with --tcp");
        return std::make_unique<send::tcp_stream>(std::move(io_context), eps, config, buffer, bind);
    }
    if (eps.empty())
        throw std::invalid_argument("No destination given");
    if (ibv)
    {
        send::udp_ibv_config ibv_config;
        ibv_config.set_endpoints(eps).set_interface_address(bind).set_buffer_size(buffer);
        ibv_config.set_ttl(std::uint8_t(ttl)).set_comp_vector(ibv_comp_vector).set_max_poll(ibv_max_poll);
        return std::make_unique<send::udp_ibv_stream>(std::move(io_context), config, ibv_config);
    }
#if SPEAD2_USE_XDP
    if (xdp)
    {
        send::udp_xdp_config xdp_config;
        xdp_config.set_endpoints(eps).set_interface_address(bind).set_buffer_size(buffer);
        xdp_config.set_ttl(std::uint8_t(ttl)).set_queue_id(xdp_queue);
        xdp_config.set_copy_mode(xdp_mode(xdp_copy_names, xdp_copy));
        return std::make_unique<send::udp_xdp_stream>(std::move(io_context), config, xdp_config);
    }
#endif
    address_info info = classify_host(endpoints[0].host);
    if (info.multicast)
    {
        if (!info.ipv6 && !bind.empty())
            return std::make_unique<send::udp_stream>(std::move(io_context), eps, config, buffer, ttl, bind);
        return std::make_unique<send::udp_stream>(std::move(io_context), eps, config, buffer, ttl);
    }
    return std::make_unique<send::udp_stream>(std::move(io_context), eps, config, buffer, bind);
}

} // namespace spead2::tools
