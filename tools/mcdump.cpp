// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// mcdump: captures UDP multicast (or local unicast) traffic to a pcap file (spec §6.4).
///
/// By default it receives with plain sockets (recvmmsg, one socket per endpoint) and synthesises the
/// Ethernet/IPv4/UDP headers that sockets strip (MAC addresses: multicast mapping for the destination, zero
/// otherwise; IPv4 without options, ID incrementing, TTL 64; UDP checksum 0). The file is in nanosecond pcap
/// format (magic 0xa1b23c4d, DLT_EN10MB); timestamps come from the kernel (SO_TIMESTAMPNS), or the clock when
/// it gives none. Frames longer than --snaplen are truncated, keeping their original length.
///
/// Threads: a network thread receives and formats records (it also does the work of spead2's
/// separate collector thread, so -C/--collect-cpu is accepted and ignored), and a disk thread
/// writes them (-D gives its core; only the first -D is used, as there is one disk thread).
/// --net-buffer is split over the sockets' SO_RCVBUF (capped by net.core.rmem_max);
/// --disk-buffer bounds the formatted data waiting for the disk thread (the network thread waits
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
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
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

namespace
{

using namespace spead2;
using namespace spead2::tools;

constexpr std::size_t frame_header_size = 14 + 20 + 8; // Ethernet + IPv4 + UDP
constexpr std::size_t chunk_size = 1024 * 1024;
constexpr std::size_t batch_size = 64;
constexpr std::size_t direct_align = 4096;

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

/// Formatted pcap data waiting to be written, bounded by --disk-buffer.
class chunk_queue
{
private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::vector<std::uint8_t>> chunks_;
    std::size_t max_chunks_;
    bool done_ = false;

public:
    explicit chunk_queue(std::size_t max_chunks)
        : max_chunks_(std::max<std::size_t>(1, max_chunks))
    {
    }

    void push(std::vector<std::uint8_t> &&chunk)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return chunks_.size() < max_chunks_; });
        chunks_.push_back(std::move(chunk));
        cv_.notify_all();
    }

    /// Next chunk; false once finished and drained.
    bool pop(std::vector<std::uint8_t> &chunk)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return !chunks_.empty() || done_; });
        if (chunks_.empty())
            return false;
        chunk = std::move(chunks_.front());
        chunks_.pop_front();
        cv_.notify_all();
        return true;
    }

    void finish()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
        cv_.notify_all();
    }
};

/// Writes chunks to the file, in multiples of the O_DIRECT alignment while --direct-io is on.
class disk_writer
{
private:
    int fd_;
    bool direct_;
    std::size_t capacity_ = 4 * chunk_size;
    std::unique_ptr<std::uint8_t, decltype(&std::free)> staging_;
    std::size_t used_ = 0;

    void write_all(const std::uint8_t *data, std::size_t size)
    {
        while (size > 0)
        {
            ssize_t n = ::write(fd_, data, size);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                fail("write");
            data += n;
            size -= std::size_t(n);
        }
    }

public:
    disk_writer(int fd, bool direct)
        : fd_(fd)
        , direct_(direct)
        , staging_(static_cast<std::uint8_t *>(std::aligned_alloc(direct_align, 4 * chunk_size)), &std::free)
    {
        if (!staging_)
            throw std::bad_alloc();
    }

    void add(const std::uint8_t *data, std::size_t size)
    {
        while (size > 0)
        {
            std::size_t n = std::min(size, capacity_ - used_);
            std::memcpy(staging_.get() + used_, data, n);
            used_ += n;
            data += n;
            size -= n;
            if (used_ == capacity_)
            {
                write_all(staging_.get(), used_);
                used_ = 0;
            }
        }
    }

    /// Writes what is left (switching O_DIRECT off for an unaligned tail).
    void finish()
    {
        if (used_ == 0)
            return;
        if (direct_)
        {
            std::size_t aligned = used_ / direct_align * direct_align;
            write_all(staging_.get(), aligned);
            int flags = fcntl(fd_, F_GETFL);
            if (flags < 0 || fcntl(fd_, F_SETFL, flags & ~O_DIRECT) < 0)
                fail("fcntl");
            write_all(staging_.get() + aligned, used_ - aligned);
        }
        else
            write_all(staging_.get(), used_);
        used_ = 0;
    }
};

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

void append_u32(std::vector<std::uint8_t> &out, std::uint32_t v)
{
    const auto *p = reinterpret_cast<const std::uint8_t *>(&v); // pcap uses the writer's byte order
    out.insert(out.end(), p, p + 4);
}

std::vector<std::uint8_t> pcap_file_header(std::size_t snaplen)
{
    std::vector<std::uint8_t> out;
    append_u32(out, 0xa1b23c4d);
    const std::uint16_t version[2] = {2, 4};
    const auto *p = reinterpret_cast<const std::uint8_t *>(version);
    out.insert(out.end(), p, p + 4);
    append_u32(out, 0); // thiszone
    append_u32(out, 0); // sigfigs
    append_u32(out, std::uint32_t(snaplen));
    append_u32(out, 1); // DLT_EN10MB
    return out;
}

struct totals
{
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> drops{0};
};

/// Formats pcap records into chunks of chunk_size bytes and hands full chunks to the queue.
class record_writer
{
private:
    chunk_queue *queue_;
    std::size_t snaplen_;
    std::vector<std::uint8_t> chunk_;

public:
    record_writer(chunk_queue *queue, std::size_t snaplen)
        : queue_(queue)
        , snaplen_(snaplen)
    {
        chunk_.reserve(chunk_size);
        if (queue_)
            chunk_ = pcap_file_header(snaplen);
    }

    /// Starts a record of @a incl captured bytes (of @a frame on the wire); the caller appends them.
    std::vector<std::uint8_t> &start(const timespec &ts, std::size_t incl, std::size_t frame)
    {
        if (chunk_.size() + 16 + incl > chunk_size && !chunk_.empty())
        {
            queue_->push(std::move(chunk_));
            chunk_ = std::vector<std::uint8_t>();
            chunk_.reserve(chunk_size);
        }
        append_u32(chunk_, std::uint32_t(ts.tv_sec));
        append_u32(chunk_, std::uint32_t(ts.tv_nsec));
        append_u32(chunk_, std::uint32_t(incl));
        append_u32(chunk_, std::uint32_t(frame));
        return chunk_;
    }

    /// Records a whole frame of @a length bytes as captured (up to the snap length); nothing
    /// without a queue (counting only).
    void capture(const timespec &ts, const std::uint8_t *data, std::size_t length)
    {
        if (!queue_)
            return;
        const std::size_t incl = std::min(length, snaplen_);
        auto &chunk = start(ts, incl, length);
        chunk.insert(chunk.end(), data, data + incl);
    }

    void finish()
    {
        if (queue_ && !chunk_.empty())
            queue_->push(std::move(chunk_));
    }
};

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
void xdp_network_loop(const options &opts, const in_addr &interface, chunk_queue *queue,
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

    record_writer records(queue, opts.snaplen);
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
                                                   records.capture(ts, data, length);
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
    records.finish();
}
#endif

#if SPEAD2_USE_IBV
/// Captures whole frames through an ibverbs raw-packet queue pair until stopped or --count packets.
void ibv_network_loop(const options &opts, const in_addr &interface, chunk_queue *queue,
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

    record_writer records(queue, opts.snaplen);
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
        records.capture(ts, data, length);
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
    records.finish();
}
#endif

/// Receives from every socket until stopped or --count packets; formats records into chunks.
void network_loop(const options &opts, std::vector<capture_socket> &sockets, chunk_queue *queue,
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

    record_writer records(queue, opts.snaplen);
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
                if (!queue)
                    continue;
                auto &chunk = records.start(ts, incl, frame);
                std::uint8_t headers[frame_header_size];
                make_headers(headers, addrs[i], s, length, ip_id++);
                chunk.insert(chunk.end(), headers, headers + std::min(incl, frame_header_size));
                if (incl > frame_header_size)
                {
                    const std::uint8_t *payload = buffers.data() + std::size_t(i) * max_payload;
                    chunk.insert(chunk.end(), payload, payload + (incl - frame_header_size));
                }
            }
        }
    }
    records.finish();
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
    app.add_option("-D,--disk-cpu", opts.disk_cpus, "CPU core for the disk thread (only the first is used)");
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

    int fd = -1;
    std::unique_ptr<chunk_queue> queue;
    std::thread disk_thread;
    std::exception_ptr disk_error;
    if (opts.filename != "-")
    {
        int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (opts.direct_io ? O_DIRECT : 0);
        fd = open(opts.filename.c_str(), flags, 0666);
        if (fd < 0)
            fail("cannot open " + opts.filename);
        queue = std::make_unique<chunk_queue>(opts.disk_buffer / chunk_size);
        disk_thread = std::thread(
            [&]
            {
                if (!opts.disk_cpus.empty())
                    thread_pool::set_affinity(opts.disk_cpus[0]);
                try
                {
                    disk_writer writer(fd, opts.direct_io);
                    std::vector<std::uint8_t> chunk;
                    while (queue->pop(chunk))
                        writer.add(chunk.data(), chunk.size());
                    writer.finish();
                }
                catch (...)
                {
                    disk_error = std::current_exception();
                    stop = true;
                    // Keep draining so that the network thread never blocks on a dead writer.
                    std::vector<std::uint8_t> chunk;
                    while (queue->pop(chunk))
                    {
                    }
                }
            });
    }

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
                    xdp_network_loop(opts, interface, queue.get(), stop, tot);
                else
#endif
#if SPEAD2_USE_IBV
                    if (opts.ibv)
                    ibv_network_loop(opts, interface, queue.get(), stop, tot);
                else
#endif
                    network_loop(opts, sockets, queue.get(), stop, tot);
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
    if (queue)
    {
        queue->finish();
        disk_thread.join();
    }
    if (fd >= 0 && close(fd) < 0 && !disk_error)
        fail("close " + opts.filename);
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
