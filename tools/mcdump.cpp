// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// mcdump: captures UDP multicast (or local unicast) traffic to a pcap file (API.md §6.4).
///
/// By default it receives with plain sockets (recvmmsg, one socket per endpoint) and synthesises the
/// Ethernet/IPv4/UDP headers that sockets strip (MAC addresses: multicast mapping for the destination, zero
/// otherwise; IPv4 without options, ID incrementing, TTL 64; UDP checksum 0). The file is in nanosecond pcap
/// format (magic 0xa1b23c4d, DLT_EN10MB); timestamps come from the kernel (SO_TIMESTAMPNS), or the clock when
/// it gives none. Frames longer than --snaplen are truncated, keeping their original length.
///
/// Threads: a network thread receives and formats records (it also does the work of spead2's
/// separate collector thread, so -C/--collect-cpu is accepted and ignored), and disk threads write
/// them (each -D starts one on that core; one unpinned thread without -D), each chunk at its own
/// offset in the file (mcdump/pcap_file_writer.h).
/// --net-buffer is split over the sockets' SO_RCVBUF (capped by net.core.rmem_max);
/// --disk-buffer bounds the formatted data waiting for the disk threads (the network thread waits
/// when it is full, and the kernel then drops, which the summary reports).
///
/// With --xdp (builds with AF_XDP) the network thread captures whole frames through an AF_XDP
/// socket on one queue of the interface (--xdp-queue), behind spead2's XDP program, which
/// redirects only UDP for the given endpoints and leaves the rest to the kernel: frames are
/// written as they were on the wire, timestamped from the clock when they are read, and the
/// kernel's AF_XDP drops (ring full, no free frame) are reported. Needs CAP_NET_ADMIN, CAP_BPF
/// and CAP_NET_RAW.
///
/// With --ibv (builds with ibverbs; rdma-core loaded at run time) the network thread captures
/// whole frames through a raw-packet queue pair fed by one flow rule per endpoint, as spead2's
/// mcdump does: --net-buffer is split into 9230-byte slots (as many as the device takes),
/// --ibv-vector and --ibv-max-poll choose interrupts or busy polling, frames carry the NIC's
/// completion timestamps (wall clock) where the device gives them and the clock's otherwise, and frames
/// longer than a slot are reported as drops. Needs CAP_NET_RAW.
///
/// Runs until SIGINT/SIGTERM or --count packets; unless --quiet a progress line goes to stderr
/// every second. The summary "Captured N packets (B bytes), D dropped by the kernel" goes to
/// stdout. Exit status: 0, 1 on a runtime error, 2 on a bad command line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>
#include <spead2/common/thread_pool.h>
#include <spead2/features.h>
#if SPEAD2_USE_XDP
#include "os/xdp.h"
#endif
#if SPEAD2_USE_IBV
#include "os/ibv_receiver.h"
#include "os/ibverbs_library.h"
#include "os/neighbour.h"
#endif
#include "cmdline/app.h"
#include "cmdline/endpoint.h"
#include "cmdline/interrupt_watcher.h"
#include "cmdline/xdp_modes.h"
#include "mcdump/pcap_file_writer.h"

namespace
{

using namespace spead2;
using namespace spead2::tools;

constexpr std::size_t frame_header_size = 14 + 20 + 8; // Ethernet + IPv4 + UDP
constexpr std::size_t batch_size = 64;

struct options
{
    std::string interface;
    std::size_t snaplen = 9230;
    std::size_t net_buffer = 128 * 1024 * 1024;
    std::size_t disk_buffer = 64 * 1024 * 1024;
    int network_cpu = -1;
    int collect_cpu = -1;
    std::vector<int> disk_cpus;
    bool quiet = false;
    std::uint64_t count = std::numeric_limits<std::uint64_t>::max();
    bool direct_io = false;
    std::string filename;
    std::vector<std::string> endpoints;
    bool ibv = false;
    int ibv_comp_vector = 0;
    int ibv_max_poll = 10;
    bool xdp = false;
    std::uint32_t xdp_queue = 0;
    std::string xdp_attach = "auto";
    std::string xdp_copy = "auto";
};

[[noreturn]] void fail(const std::string &what)
{
    throw std::system_error(errno, std::system_category(), what);
}

struct capture_socket
{
    int fd = -1;
    in_addr dst{};
    std::uint16_t port = 0;
    std::uint32_t drops = 0; ///< cumulative count from SO_RXQ_OVFL
};

capture_socket open_socket(const endpoint &ep, const in_addr &interface, std::size_t buffer)
{
    capture_socket s;
    s.port = ep.port;
    if (inet_pton(AF_INET, ep.host.c_str(), &s.dst) != 1)
        throw std::invalid_argument("'" + ep.host + "' is not an IPv4 address");
    s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0)
        fail("socket");
    int one = 1;
    int size = int(std::min<std::size_t>(buffer, std::numeric_limits<int>::max()));
    setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(s.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    setsockopt(s.fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    const bool multicast = (ntohl(s.dst.s_addr) >> 28) == 0xe;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr = s.dst;
    addr.sin_port = htons(ep.port);
    if (bind(s.fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) < 0)
        fail("bind to " + ep.host + ":" + std::to_string(ep.port));
    if (multicast)
    {
        ip_mreq mreq{};
        mreq.imr_multiaddr = s.dst;
        mreq.imr_interface = interface;
        if (setsockopt(s.fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
            fail("join " + ep.host);
    }
    return s;
}

void put16(std::uint8_t *p, std::uint16_t v)
{
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}

/// Builds the Ethernet, IPv4 and UDP headers of a datagram of @a payload bytes.
void make_headers(std::uint8_t *h, const sockaddr_in &src, const capture_socket &s, std::size_t payload,
                  std::uint16_t ip_id)
{
    std::memset(h, 0, frame_header_size);
    const std::uint32_t dst = ntohl(s.dst.s_addr);
    if ((dst >> 28) == 0xe)
    {
        h[0] = 0x01;
        h[1] = 0x00;
        h[2] = 0x5e;
        h[3] = std::uint8_t((dst >> 16) & 0x7f);
        h[4] = std::uint8_t(dst >> 8);
        h[5] = std::uint8_t(dst);
    }
    put16(h + 12, 0x0800);
    std::uint8_t *ip = h + 14;
    ip[0] = 0x45;
    put16(ip + 2, std::uint16_t(std::min<std::size_t>(20 + 8 + payload, 0xffff)));
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000); // don't fragment
    ip[8] = 64;
    ip[9] = 17;
    std::memcpy(ip + 12, &src.sin_addr, 4);
    std::memcpy(ip + 16, &s.dst, 4);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += std::uint32_t(ip[i]) << 8 | ip[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, std::uint16_t(~sum));
    std::uint8_t *udp = ip + 20;
    std::memcpy(udp, &src.sin_port, 2);
    put16(udp + 2, s.port);
    put16(udp + 4, std::uint16_t(std::min<std::size_t>(8 + payload, 0xffff)));
}

struct totals
{
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> drops{0};
};

/// Records a whole frame of @a length bytes as captured (up to the snap length); nothing without a
/// file (counting only).
void capture_frame(pcap_file_writer *file, std::size_t snaplen, const timespec &ts, const std::uint8_t *data,
                   std::size_t length)
{
    if (!file)
        return;
    const std::size_t incl = std::min(length, snaplen);
    file->begin_record(ts, incl, length);
    file->append(data, incl);
}

#if SPEAD2_USE_XDP || SPEAD2_USE_IBV
/// A socket that holds multicast memberships (for IGMP) while it is open.
struct join_socket
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ~join_socket() { close(fd); }
};

/// Calls @a each(address, port) (network order address) for every endpoint, and joins the IPv4
/// multicast groups among them through @a join.
template<typename F>
void join_groups(const join_socket &join, const options &opts, const in_addr &interface, F &&each)
{
    for (const auto &text : opts.endpoints)
    {
        endpoint ep = parse_endpoint(text, false);
        in_addr dst{};
        if (inet_pton(AF_INET, ep.host.c_str(), &dst) != 1)
            throw std::invalid_argument("'" + ep.host + "' is not an IPv4 address");
        each(dst, ep.port);
        if ((ntohl(dst.s_addr) >> 28) == 0xe)
        {
            ip_mreq mreq{};
            mreq.imr_multiaddr = dst;
            mreq.imr_interface = interface;
            if (setsockopt(join.fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
                fail("join " + ep.host);
        }
    }
}

#endif

#if SPEAD2_USE_XDP
/// Captures whole frames through AF_XDP until stopped or --count packets.
void xdp_network_loop(const options &opts, const in_addr &interface, pcap_file_writer *file,
                      std::atomic<bool> &stop, totals &tot)
{
    if (opts.network_cpu >= 0)
        thread_pool::set_affinity(opts.network_cpu);
    const auto iface = spead2::detail::interface_by_ipv4(ntohl(interface.s_addr));
    const xdp_copy_mode copy = xdp_mode(xdp_copy_names, opts.xdp_copy);
    const xdp_attach_mode attach = xdp_mode(xdp_attach_names, opts.xdp_attach);
    spead2::detail::xsk_receiver receiver(iface, opts.xdp_queue,
                                          opts.net_buffer / spead2::detail::xsk_endpoint::frame_size, copy);
    spead2::detail::xdp_program program;
    join_socket join;
    join_groups(join, opts, interface,
                [&](const in_addr &dst, std::uint16_t port)
                { program.add_endpoint(ntohl(dst.s_addr), port); });
    program.set_socket(opts.xdp_queue, receiver.fd());
    program.attach(iface, attach);
    if (!opts.quiet)
        std::cerr << "AF_XDP on " << iface.name << " queue " << opts.xdp_queue << ": "
                  << (program.native() ? "native" : "generic") << " XDP, "
                  << (receiver.zero_copy() ? "zero-copy" : "copy mode") << '\n';

    pollfd fds{receiver.fd(), POLLIN, 0};
    std::uint64_t packets = 0;
    std::uint64_t batches = 0;
    while (!stop && packets < opts.count)
    {
        const std::size_t want = std::size_t(std::min<std::uint64_t>(batch_size, opts.count - packets));
        const std::size_t n = receiver.receive(want,
                                               [&](const std::uint8_t *data, std::size_t length)
                                               {
                                                   timespec ts{};
                                                   clock_gettime(CLOCK_REALTIME, &ts);
                                                   packets++;
                                                   tot.bytes.fetch_add(length, std::memory_order_relaxed);
                                                   capture_frame(file, opts.snaplen, ts, data, length);
                                               });
        tot.packets.store(packets, std::memory_order_relaxed);
        // The drop count is a system call: read it when idle and every 1024 batches, not per batch.
        if (n == 0 || ++batches % 1024 == 0)
            tot.drops.store(receiver.kernel_drops(), std::memory_order_relaxed);
        if (n == 0)
        {
            int ready = poll(&fds, 1, 100);
            if (ready < 0 && errno != EINTR)
                fail("poll");
        }
    }
    tot.drops.store(receiver.kernel_drops(), std::memory_order_relaxed);
}
#endif

#if SPEAD2_USE_IBV
/// Captures whole frames through an ibverbs raw-packet queue pair until stopped or --count packets.
void ibv_network_loop(const options &opts, const in_addr &interface, pcap_file_writer *file,
                      std::atomic<bool> &stop, totals &tot)
{
    if (opts.network_cpu >= 0)
        thread_pool::set_affinity(opts.network_cpu);
    spead2::detail::require_ibverbs();
    // Slots take any frame up to a jumbo one; --snaplen only truncates what is written.
    constexpr std::size_t slot_size = 9230;
    spead2::detail::ibv_receiver receiver(ntohl(interface.s_addr), opts.net_buffer, slot_size,
                                          opts.ibv_comp_vector, true);
    const auto iface = spead2::detail::interface_by_ipv4(ntohl(interface.s_addr));
    const frame::mac_address own_mac = spead2::detail::interface_mac(iface.name);
    join_socket join;
    join_groups(join, opts, interface,
                [&](const in_addr &dst, std::uint16_t port)
                {
                    const std::uint32_t a = ntohl(dst.s_addr);
                    const bool multicast = (a >> 28) == 0xe;
                    receiver.add_flow(multicast ? frame::multicast_mac(a) : own_mac, a, port);
                });
    if (!opts.quiet)
        std::cerr << "ibverbs on " << iface.name << ": " << receiver.slots() << " slots, "
                  << (receiver.channel_fd() >= 0 ? "interrupts" : "busy polling") << ", "
                  << (receiver.has_timestamps() ? "NIC timestamps" : "clock timestamps") << '\n';

    pollfd fds{receiver.channel_fd(), POLLIN, 0};
    std::uint64_t packets = 0;
    std::uint64_t errors = 0;
    auto handle = [&](const std::uint8_t *data, std::size_t length, std::uint64_t nic_ns)
    {
        if (!data)
        {
            errors++; // a frame longer than a slot
            return;
        }
        if (packets >= opts.count)
            return;
        timespec ts{};
        if (nic_ns != 0)
        {
            ts.tv_sec = time_t(nic_ns / 1000000000);
            ts.tv_nsec = long(nic_ns % 1000000000);
        }
        else
            clock_gettime(CLOCK_REALTIME, &ts);
        packets++;
        tot.bytes.fetch_add(length, std::memory_order_relaxed);
        capture_frame(file, opts.snaplen, ts, data, length);
    };
    int idle_polls = 0;
    while (!stop && packets < opts.count)
    {
        int n = receiver.receive(handle);
        tot.packets.store(packets, std::memory_order_relaxed);
        tot.drops.store(errors, std::memory_order_relaxed);
        if (n > 0 || receiver.channel_fd() < 0 || ++idle_polls < opts.ibv_max_poll)
        {
            if (n > 0)
                idle_polls = 0;
            continue;
        }
        idle_polls = 0;
        receiver.arm();
        if (receiver.receive(handle) > 0)
            continue;
        // Sleep until the NIC interrupts (or a timeout, to notice a stop).
        const int ready = poll(&fds, 1, 100);
        if (ready < 0 && errno != EINTR)
            fail("poll");
        receiver.take_events();
    }
    tot.packets.store(packets, std::memory_order_relaxed);
    tot.drops.store(errors, std::memory_order_relaxed);
}
#endif

/// Receives from every socket until stopped or --count packets; formats records into chunks.
void network_loop(const options &opts, std::vector<capture_socket> &sockets, pcap_file_writer *file,
                  std::atomic<bool> &stop, totals &tot)
{
    if (opts.network_cpu >= 0)
        thread_pool::set_affinity(opts.network_cpu);
    const std::size_t max_payload =
        opts.snaplen > frame_header_size ? opts.snaplen - frame_header_size : std::size_t(1);
    std::vector<std::uint8_t> buffers(batch_size * max_payload);
    std::vector<iovec> iov(batch_size);
    std::vector<mmsghdr> msgs(batch_size);
    std::vector<sockaddr_in> addrs(batch_size);
    constexpr std::size_t control_size = 256;
    std::vector<std::uint8_t> control(batch_size * control_size);
    std::vector<pollfd> fds;
    for (const auto &s : sockets)
        fds.push_back({s.fd, POLLIN, 0});

    std::uint16_t ip_id = 0;
    std::uint64_t packets = 0;
    while (!stop && packets < opts.count)
    {
        int ready = poll(fds.data(), fds.size(), 100);
        if (ready < 0 && errno != EINTR)
            fail("poll");
        if (ready <= 0)
            continue;
        for (std::size_t k = 0; k < fds.size() && packets < opts.count; k++)
        {
            if (!(fds[k].revents & POLLIN))
                continue;
            capture_socket &s = sockets[k];
            for (std::size_t i = 0; i < batch_size; i++)
            {
                iov[i] = {buffers.data() + i * max_payload, max_payload};
                std::memset(&msgs[i], 0, sizeof(msgs[i]));
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
                msgs[i].msg_hdr.msg_name = &addrs[i];
                msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
                msgs[i].msg_hdr.msg_control = control.data() + i * control_size;
                msgs[i].msg_hdr.msg_controllen = control_size;
            }
            std::size_t want = std::size_t(std::min<std::uint64_t>(batch_size, opts.count - packets));
            int n = recvmmsg(s.fd, msgs.data(), unsigned(want), MSG_DONTWAIT | MSG_TRUNC, nullptr);
            if (n < 0)
            {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    continue;
                fail("recvmmsg");
            }
            for (int i = 0; i < n; i++)
            {
                const std::size_t length = msgs[i].msg_len;
                timespec ts{};
                bool have_ts = false;
                for (cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
                {
                    if (c->cmsg_level != SOL_SOCKET)
                        continue;
                    if (c->cmsg_type == SCM_TIMESTAMPNS)
                    {
                        std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                        have_ts = true;
                    }
                    else if (c->cmsg_type == SO_RXQ_OVFL)
                    {
                        std::uint32_t drops;
                        std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
                        if (drops > s.drops)
                        {
                            tot.drops += drops - s.drops;
                            s.drops = drops;
                        }
                    }
                }
                if (!have_ts)
                    clock_gettime(CLOCK_REALTIME, &ts);
                const std::size_t frame = frame_header_size + length;
                const std::size_t incl = std::min(frame, opts.snaplen);
                packets++;
                tot.packets.store(packets, std::memory_order_relaxed);
                tot.bytes.fetch_add(frame, std::memory_order_relaxed);
                if (!file)
                    continue;
                file->begin_record(ts, incl, frame);
                std::uint8_t headers[frame_header_size];
                make_headers(headers, addrs[i], s, length, ip_id++);
                file->append(headers, std::min(incl, frame_header_size));
                if (incl > frame_header_size)
                    file->append(buffers.data() + std::size_t(i) * max_payload, incl - frame_header_size);
            }
        }
    }
}

options parse_args(int argc, char **argv)
{
    options opts;
    CLI::App app("Capture UDP multicast or unicast traffic to a pcap file", "mcdump");
    setup_app(app);
    app.add_option("-i,--interface", opts.interface, "IPv4 address of the capture interface")->required();
    app.add_option("-s,--snaplen", opts.snaplen, "Maximum frame size to capture")
        ->check(CLI::Range(std::size_t(1), std::size_t(1) << 20));
    app.add_option("--net-buffer", opts.net_buffer, "Network buffer memory (socket buffers)");
    app.add_option("--disk-buffer", opts.disk_buffer, "Disk buffer memory");
    app.add_option("-N,--network-cpu", opts.network_cpu, "CPU core for the network thread");
    app.add_option("-C,--collect-cpu", opts.collect_cpu,
                   "CPU core for the collector thread (accepted; the network thread collects)");
    app.add_option("-D,--disk-cpu", opts.disk_cpus, "CPU core for a disk thread (repeat for more threads)");
    app.add_flag("-q,--quiet", opts.quiet, "Do not print progress reports");
    app.add_option("-c,--count", opts.count, "Stop after this many packets")->default_str("unlimited");
    app.add_flag("--direct-io", opts.direct_io, "Open the file with O_DIRECT");
    app.add_option("filename", opts.filename, "Output file, or - to only count packets")->required();
    app.add_option("endpoint", opts.endpoints, "group:port to capture")->required();
    app.add_flag("--ibv", opts.ibv, "Capture whole frames through ibverbs (kernel bypass)");
    app.add_option("--ibv-vector", opts.ibv_comp_vector, "ibverbs: interrupt vector (-1 for polled)");
    app.add_option("--ibv-max-poll", opts.ibv_max_poll, "ibverbs: maximum number of times to poll in a row");
    app.add_flag("--xdp", opts.xdp, "Capture whole frames through AF_XDP (kernel bypass)");
    app.add_option("--xdp-queue", opts.xdp_queue, "AF_XDP: receive queue of the interface");
    check_xdp_mode(app.add_option("--xdp-attach", opts.xdp_attach,
                                  "AF_XDP: where the XDP program runs (auto/native/generic)"),
                   xdp_attach_names);
    check_xdp_mode(app.add_option("--xdp-copy", opts.xdp_copy, "AF_XDP: frame copying (auto/zero-copy/copy)"),
                   xdp_copy_names);
    parse_or_exit(app, argc, argv);
    return opts;
}

int run(const options &opts)
{
    std::atomic<bool> stop{false};
    interrupt_watcher watcher([&] { stop = true; });

    in_addr interface {
    };
    if (inet_pton(AF_INET, opts.interface.c_str(), &interface) != 1)
        throw std::invalid_argument("interface address '" + opts.interface + "' is not an IPv4 address");
    std::vector<capture_socket> sockets;
    struct closer
    {
        std::vector<capture_socket> &s;
        ~closer()
        {
            for (auto &x : s)
                close(x.fd);
        }
    } close_sockets{sockets};
#if !SPEAD2_USE_XDP
    if (opts.xdp)
        throw std::invalid_argument("--xdp: this build of spead2 has no AF_XDP support");
#endif
#if !SPEAD2_USE_IBV
    if (opts.ibv)
        throw std::invalid_argument("--ibv: this build of spead2 has no ibverbs support");
#endif
    if (opts.ibv && opts.xdp)
        throw std::invalid_argument("--ibv and --xdp are incompatible");
    for (const auto &text : opts.endpoints)
    {
        endpoint ep = parse_endpoint(text, false);
        if (!opts.xdp && !opts.ibv)
            sockets.push_back(open_socket(ep, interface, opts.net_buffer / opts.endpoints.size()));
    }

    std::unique_ptr<pcap_file_writer> file;
    if (opts.filename != "-")
        file = std::make_unique<pcap_file_writer>(opts.filename, opts.snaplen, opts.disk_buffer,
                                                  opts.disk_cpus, opts.direct_io, [&] { stop = true; });

    totals tot;
    std::exception_ptr net_error;
    std::atomic<bool> net_done{false};
    std::thread net_thread(
        [&]
        {
            try
            {
#if SPEAD2_USE_XDP
                if (opts.xdp)
                    xdp_network_loop(opts, interface, file.get(), stop, tot);
                else
#endif
#if SPEAD2_USE_IBV
                    if (opts.ibv)
                    ibv_network_loop(opts, interface, file.get(), stop, tot);
                else
#endif
                    network_loop(opts, sockets, file.get(), stop, tot);
            }
            catch (...)
            {
                net_error = std::current_exception();
            }
            net_done = true;
        });

    const auto start = std::chrono::steady_clock::now();
    std::uint64_t last_packets = 0;
    auto last = start;
    // The main thread reports progress until the network thread ends.
    while (true)
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const bool finished = net_done.load();
        auto now = std::chrono::steady_clock::now();
        if (!opts.quiet && now - last >= std::chrono::seconds(1))
        {
            std::uint64_t p = tot.packets.load();
            double dt = std::chrono::duration<double>(now - last).count();
            std::cerr << p << " packets, " << tot.bytes.load() << " bytes, " << tot.drops.load()
                      << " dropped (" << double(p - last_packets) / dt << " packets/s)\n"
                      << std::flush;
            last_packets = p;
            last = now;
        }
        if (finished)
            break;
    }
    net_thread.join();
    std::exception_ptr disk_error;
    if (file)
    {
        try
        {
            file->finish();
        }
        catch (...)
        {
            disk_error = std::current_exception();
        }
    }
    std::cout << "Captured " << tot.packets.load() << " packets (" << tot.bytes.load() << " bytes), "
              << tot.drops.load() << " dropped by the kernel\n"
              << std::flush;
    if (net_error)
        std::rethrow_exception(net_error);
    if (disk_error)
        std::rethrow_exception(disk_error);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    options opts = parse_args(argc, argv);
    try
    {
        return run(opts);
    }
    catch (const std::exception &e)
    {
        std::cerr << "mcdump: " << e.what() << '\n';
        return 1;
    }
}
