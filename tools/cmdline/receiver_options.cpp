// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The receiver option group.
#include <memory>
#include <stdexcept>
#include <spead2/common/memory_pool.h>
#include <spead2/features.h>
#include <spead2/recv/tcp_reader.h>
#include <spead2/recv/udp_ibv_reader.h>
#include <spead2/recv/udp_reader.h>
#if SPEAD2_USE_PCAP
#include <spead2/recv/udp_pcap_file_reader.h>
#endif
#if SPEAD2_USE_XDP
#include <spead2/recv/udp_xdp_reader.h>
#endif
#include "endpoint.h"
#include "receiver_options.h"
#include "xdp_modes.h"

namespace spead2::tools
{

void receiver_options::add_options(CLI::App &app, const option_namer &names)
{
    auto add = [&](const std::string &name, auto &var, const std::string &help) -> CLI::Option *
    {
        auto n = names.flag(name);
        return n.empty() ? nullptr : app.add_option(n, var, help);
    };
    auto flag = [&](const std::string &name, bool &var, const std::string &help)
    {
        if (auto n = names.flag(name); !n.empty())
            app.add_flag(n, var, help);
    };
    add("bind", bind, "Interface address (for multicast subscriptions)");
    packet_opt_ = add("packet", packet, "Maximum packet size to accept [UDP: 9200, TCP: 65536]");
    if (packet_opt_)
        packet_opt_->default_str("");
    buffer_opt_ = add("buffer", buffer, "Socket buffer size [UDP: 8 MiB, TCP: 212992]");
    if (buffer_opt_)
        buffer_opt_->default_str("");
    add("concurrent-heaps", max_heaps, "Maximum number of in-flight heaps, per substream");
    add("substreams", substreams, "Number of parallel substreams");
    add("ring-heaps", ring_heaps, "Ring buffer capacity in heaps");
    flag("mem-pool", mem_pool, "Use a memory pool");
    add("mem-lower", mem_lower, "Minimum allocation which will use the memory pool");
    add("mem-upper", mem_upper, "Maximum allocation which will use the memory pool");
    add("mem-max-free", mem_max_free, "Maximum free memory buffers");
    add("mem-initial", mem_initial, "Initial free memory buffers");
    flag("memcpy-nt", memcpy_nt, "Use non-temporal memcpy");
    flag("ibv", ibv, SPEAD2_USE_IBV ? "Use ibverbs" : "Use ibverbs (not available in this build)");
    add("ibv-vector", ibv_comp_vector, "Interrupt vector (-1 for polled)");
    add("ibv-max-poll", ibv_max_poll, "Maximum number of times to poll in a row");
    flag("xdp", xdp, "Use AF_XDP kernel bypass on the interface of --bind");
    if (auto *opt =
            add("xdp-queue", xdp_queues, "AF_XDP: receive queue(s) of the interface (repeat for several)"))
        opt->delimiter(',');
    check_xdp_mode(add("xdp-attach", xdp_attach, "AF_XDP: where the XDP program runs (auto/native/generic)"),
                   xdp_attach_names);
    check_xdp_mode(add("xdp-copy", xdp_copy, "AF_XDP: frame copying (auto/zero-copy/copy)"), xdp_copy_names);
    add("xdp-max-poll", xdp_max_poll, "AF_XDP: empty polls before sleeping");
    add("xdp-busy-poll", xdp_busy_poll,
        "AF_XDP: microseconds of kernel busy polling after an empty poll (0: off)");
}

void receiver_options::finalize(const protocol_options &protocol)
{
    protocol.check_kernel_bypass(ibv, xdp, bind);
    if (!packet_opt_ || packet_opt_->count() == 0)
        packet = protocol.tcp ? recv::tcp_reader::default_max_size : recv::udp_reader::default_max_size;
    if (!buffer_opt_ || buffer_opt_->count() == 0)
        buffer = protocol.tcp ? recv::tcp_reader::default_buffer_size : recv::udp_reader::default_buffer_size;
#if SPEAD2_USE_XDP
    if (xdp && (!buffer_opt_ || buffer_opt_->count() == 0))
        buffer = recv::udp_xdp_config::default_buffer_size;
#endif
    if (ibv && (!buffer_opt_ || buffer_opt_->count() == 0))
        buffer = recv::udp_ibv_config::default_buffer_size;
}

recv::stream_config receiver_options::make_stream_config(const protocol_options &protocol) const
{
    recv::stream_config config;
    config.set_max_heaps(max_heaps);
    config.set_substreams(substreams);
    config.set_bug_compat(protocol.get_bug_compat());
    if (memcpy_nt)
        config.set_memcpy(MEMCPY_NONTEMPORAL);
    if (mem_pool)
        config.set_memory_allocator(
            std::make_shared<memory_pool>(mem_lower, mem_upper, mem_max_free, mem_initial));
    return config;
}

recv::ring_stream_config receiver_options::make_ring_config() const
{
    recv::ring_stream_config config;
    config.set_heaps(ring_heaps);
    return config;
}

void receiver_options::add_readers(recv::stream &stream, const std::vector<std::string> &sources,
                                   const protocol_options &protocol) const
{
#if SPEAD2_USE_XDP
    recv::udp_xdp_config xdp_config;
    if (xdp)
    {
        xdp_config.set_interface_address(bind).set_buffer_size(buffer).set_queue_ids(xdp_queues);
        xdp_config.set_max_poll(xdp_max_poll).set_busy_poll(xdp_busy_poll);
        xdp_config.set_attach_mode(xdp_mode(xdp_attach_names, xdp_attach));
        xdp_config.set_copy_mode(xdp_mode(xdp_copy_names, xdp_copy));
    }
#endif
    recv::udp_ibv_config ibv_config;
    if (ibv)
    {
        ibv_config.set_interface_address(bind).set_buffer_size(buffer).set_max_size(packet);
        ibv_config.set_comp_vector(ibv_comp_vector).set_max_poll(ibv_max_poll);
    }
    for (const std::string &source : sources)
    {
        if (is_pcap_source(source))
        {
#if SPEAD2_USE_PCAP
            stream.emplace_reader<recv::udp_pcap_file_reader>(source);
            continue;
#else
            throw std::invalid_argument("Cannot read '" + source + "': this build has no pcap support");
#endif
        }
        endpoint ep = parse_endpoint(source, true);
        if (ibv)
        {
            ibv_config.add_endpoint(ep.host.empty() ? std::string("0.0.0.0") : ep.host, ep.port);
            continue;
        }
#if SPEAD2_USE_XDP
        if (xdp)
        {
            xdp_config.add_endpoint(ep.host.empty() ? std::string("0.0.0.0") : ep.host, ep.port);
            continue;
        }
#endif
        if (protocol.tcp)
            stream.emplace_reader<recv::tcp_reader>(ep.host, ep.port, packet, buffer);
        else
        {
            address_info info = classify_host(ep.host);
            if (!bind.empty() && !info.ipv6)
                stream.emplace_reader<recv::udp_reader>(ep.host.empty() ? std::string("0.0.0.0") : ep.host,
                                                        ep.port, packet, buffer, bind);
            else
                stream.emplace_reader<recv::udp_reader>(ep.host, ep.port, packet, buffer);
        }
    }
    if (ibv && !ibv_config.get_endpoints().empty())
        stream.emplace_reader<recv::udp_ibv_reader>(ibv_config);
#if SPEAD2_USE_XDP
    if (xdp && !xdp_config.get_endpoints().empty())
        stream.emplace_reader<recv::udp_xdp_reader>(xdp_config);
#endif
}

} // namespace spead2::tools
