// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// recv::udp_reader on loopback (127.0.0.1 and ::1): exact-size datagrams, drops, batches, GRO,
/// caller's sockets, argument checks and the buffer-size warning.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <asio.hpp>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/udp_reader.h>
#include "common/expect_invalid.h"
#include "common/log_capture.h"
#include "os/udp_socket.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

/// A plain socket bound to an ephemeral loopback port, closed on destruction.
class raw_socket
{
public:
    int fd = -1;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;

    explicit raw_socket(bool v6 = false, bool bind_it = true)
    {
        fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw std::system_error(errno, std::system_category(), "socket");
        if (v6)
        {
            auto *a = reinterpret_cast<sockaddr_in6 *>(&addr);
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            addr_len = sizeof(*a);
        }
        else
        {
            auto *a = reinterpret_cast<sockaddr_in *>(&addr);
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            addr_len = sizeof(*a);
        }
        if (bind_it)
        {
            if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), addr_len) != 0)
                throw std::system_error(errno, std::system_category(), "bind");
            if (::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &addr_len) != 0)
                throw std::system_error(errno, std::system_category(), "getsockname");
        }
    }
    ~raw_socket() { ::close(fd); }
    raw_socket(const raw_socket &) = delete;
    raw_socket &operator=(const raw_socket &) = delete;

    std::uint16_t port() const
    {
        if (addr.ss_family == AF_INET6)
            return ntohs(reinterpret_cast<const sockaddr_in6 *>(&addr)->sin6_port);
        return ntohs(reinterpret_cast<const sockaddr_in *>(&addr)->sin_port);
    }

    void send_to(const raw_socket &dest, const bytes &data) const
    {
        ssize_t r = ::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<const sockaddr *>(&dest.addr),
                             dest.addr_len);
        ASSERT_EQ(r, ssize_t(data.size())) << std::strerror(errno);
    }
};

/// A free loopback port (bound briefly, then released).
std::uint16_t free_port(bool v6 = false)
{
    raw_socket s(v6);
    return s.port();
}

void send_to_port(std::uint16_t port, const bytes &data, bool v6 = false)
{
    raw_socket tx(v6, false);
    raw_socket dest(v6, false);
    if (v6)
        reinterpret_cast<sockaddr_in6 *>(&dest.addr)->sin6_port = htons(port);
    else
        reinterpret_cast<sockaddr_in *>(&dest.addr)->sin_port = htons(port);
    tx.send_to(dest, data);
}

bytes heap_packet(int cnt, const std::string &payload)
{
    return make_packet(cnt, 0, payload, s_item_pointer_t(payload.size()), {addr(0x1000, 0)});
}

bytes stop_packet(int cnt)
{
    return make_packet(cnt, 0, "", 0, {imm(STREAM_CTRL_ID, CTRL_STREAM_STOP)});
}

std::string item_text(const heap &h, s_item_pointer_t id)
{
    for (const item &it : h.get_items())
        if (it.id == id && !it.is_immediate)
            return std::string(reinterpret_cast<const char *>(it.ptr), it.length);
    return "<missing>";
}

/// Pops every heap until the stream stops (stop packet), as "cnt:payload".
std::vector<std::string> drain(ring_stream<> &s)
{
    std::vector<std::string> out;
    while (true)
    {
        try
        {
            heap h = s.pop();
            out.push_back(std::to_string(h.get_cnt()) + ":" + item_text(h, 0x1000));
        }
        catch (ringbuffer_stopped &)
        {
            return out;
        }
    }
}

stream_config config_with_drops()
{
    stream_config config;
    config.add_stat(udp_reader::dropped_stat_name);
    return config;
}

TEST(udp_reader, constants)
{
    EXPECT_EQ(udp_reader::default_max_size, 9200u);
    EXPECT_EQ(udp_reader::default_buffer_size, 8388608u);
    EXPECT_STREQ(udp_reader::dropped_stat_name, "udp_dropped");
}

TEST(udp_reader, receives_heaps_ipv4_and_ipv6)
{
    for (bool v6 : {false, true})
    {
        SCOPED_TRACE(v6 ? "ipv6" : "ipv4");
        thread_pool tp(1);
        raw_socket rx(v6);
        const std::uint16_t port = rx.port();
        ::close(rx.fd);
        rx.fd = -1;
        ring_stream<> s(tp, stream_config().set_max_heaps(4));
        s.emplace_reader<udp_reader>(v6 ? "::1" : "127.0.0.1", port, 9200, 0);
        send_to_port(port, heap_packet(1, "hello"), v6);
        send_to_port(port, heap_packet(2, "world!!!"), v6);
        send_to_port(port, stop_packet(3), v6);
        EXPECT_EQ(drain(s), (std::vector<std::string>{"1:hello", "2:world!!!"}));
        auto stats = s.get_stats();
        EXPECT_EQ(stats["packets"], 3u);
    }
}

class udp_reader_gro : public ::testing::TestWithParam<bool>
{
protected:
    void SetUp() override { spead2::detail::udp_offload().gro = GetParam(); }
    void TearDown() override { spead2::detail::udp_offload().gro = true; }
};

INSTANTIATE_TEST_SUITE_P(gro, udp_reader_gro, ::testing::Bool());

// Without GRO the kernel truncates (MSG_TRUNC); with it the reader sees the whole datagram.
TEST_P(udp_reader_gro, drops_truncated_garbage_and_mismatched_datagrams)
{
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    spead2::test::log_capture logs;
    ring_stream<> s(tp, config_with_drops());
    s.emplace_reader<udp_reader>("127.0.0.1", port, 100, 0);
    bytes big = heap_packet(1, std::string(200, 'x')); // 256 bytes > max_size
    bytes exact = heap_packet(2, std::string(100 - 48, 'y'));
    ASSERT_EQ(exact.size(), 100u);
    bytes trailing = heap_packet(3, "abc");
    trailing.push_back(0);
    bytes garbage{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    send_to_port(port, big);
    send_to_port(port, exact);
    send_to_port(port, trailing);
    send_to_port(port, garbage);
    send_to_port(port, heap_packet(4, "ok"));
    send_to_port(port, stop_packet(5));
    EXPECT_EQ(drain(s), (std::vector<std::string>{"2:" + std::string(52, 'y'), "4:ok"}));
    auto stats = s.get_stats();
    EXPECT_EQ(stats["udp_dropped"], 3u);
    EXPECT_EQ(stats["packets"], 3u);
    bool logged = false;
    for (const auto &[level, msg] : logs.messages())
        if (msg.find("udp_reader: dropped") != std::string::npos && level == log_level::info)
            logged = true;
    EXPECT_TRUE(logged);
}

TEST(udp_reader, user_socket_batches)
{
    thread_pool tp(1);
    raw_socket rx;
    int rcvbuf = 4 << 20;
    ::setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    raw_socket tx;
    // Queue 100 datagrams before the reader exists: the first recvmmsg must take 64 of them.
    for (int i = 1; i <= 100; i++)
        tx.send_to(rx, heap_packet(i, "p" + std::to_string(i)));
    tx.send_to(rx, stop_packet(101));
    ring_stream<> s(tp, stream_config().set_max_heaps(4), ring_stream_config().set_heaps(200));
    s.emplace_reader<udp_reader>(udp_reader::socket_fd{rx.fd});
    ::close(rx.fd); // the reader has its own duplicate
    rx.fd = -1;
    auto heaps = drain(s);
    ASSERT_EQ(heaps.size(), 100u);
    for (int i = 1; i <= 100; i++)
        EXPECT_EQ(heaps[i - 1], std::to_string(i) + ":p" + std::to_string(i));
    auto stats = s.get_stats();
    EXPECT_EQ(stats["max_batch"], 64u);
    EXPECT_EQ(stats["packets"], 101u);
    EXPECT_EQ(stats["batches"], 2u);
}

TEST(udp_reader, without_recvmmsg)
{
    auto &offload = spead2::detail::udp_offload();
    offload.mmsg = false;
    thread_pool tp(1);
    raw_socket rx;
    raw_socket tx;
    for (int i = 1; i <= 70; i++)
        tx.send_to(rx, heap_packet(i, "q"));
    tx.send_to(rx, stop_packet(71));
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(100));
    s.emplace_reader<udp_reader>(udp_reader::socket_fd{rx.fd});
    auto heaps = drain(s);
    offload.mmsg = true;
    EXPECT_EQ(heaps.size(), 70u);
    EXPECT_EQ(s.get_stats()["max_batch"], 64u);
}

/// Sends @a packets (equal sizes except maybe the last) as one GSO message to @a port on
/// 127.0.0.1.
void send_gso(std::uint16_t port, const std::vector<bytes> &packets)
{
    raw_socket tx;
    raw_socket dest(false, false);
    reinterpret_cast<sockaddr_in *>(&dest.addr)->sin_port = htons(port);
    bytes all;
    for (const auto &p : packets)
        all.insert(all.end(), p.begin(), p.end());
    iovec iov{all.data(), all.size()};
    mmsghdr msg{};
    msg.msg_hdr.msg_name = const_cast<sockaddr_storage *>(&dest.addr);
    msg.msg_hdr.msg_namelen = dest.addr_len;
    msg.msg_hdr.msg_iov = &iov;
    msg.msg_hdr.msg_iovlen = 1;
    alignas(cmsghdr) unsigned char control[spead2::detail::udp_control_space];
    spead2::detail::udp_set_segment_size(msg.msg_hdr, control, std::uint16_t(packets[0].size()));
    ASSERT_EQ(spead2::detail::udp_send_batch(tx.fd, &msg, 1), 1) << std::strerror(errno);
}

TEST(udp_reader, gro_coalesced_datagrams_are_split)
{
    for (bool gro : {true, false})
    {
        SCOPED_TRACE(gro ? "gro" : "no gro");
        raw_socket probe;
        if (!spead2::detail::udp_gso_supported(probe.fd))
            GTEST_SKIP() << "kernel has no UDP GSO";
        auto &offload = spead2::detail::udp_offload();
        offload.gro = gro;
        const std::uint64_t before = offload.gro_messages.load();
        thread_pool tp(1);
        const std::uint16_t port = free_port();
        ring_stream<> s(tp, config_with_drops(), ring_stream_config().set_heaps(64));
        s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0);
        std::vector<bytes> packets;
        std::vector<std::string> expected;
        for (int i = 1; i <= 10; i++)
        {
            std::string payload(1000, char('a' + i));
            packets.push_back(heap_packet(i, payload));
            expected.push_back(std::to_string(i) + ":" + payload);
        }
        packets.push_back(heap_packet(11, "short")); // the shorter last segment
        expected.push_back("11:short");
        send_gso(port, packets);
        send_to_port(port, stop_packet(12));
        EXPECT_EQ(drain(s), expected);
        EXPECT_EQ(s.get_stats()["udp_dropped"], 0u);
        offload.gro = true;
        if (gro)
            EXPECT_GE(offload.gro_messages.load(), before + 1);
        else
            EXPECT_EQ(offload.gro_messages.load(), before);
    }
}

// A receive rewrites the control length of each header it fills (to 0 for a datagram without a
// GRO message), so the reader re-arms those headers: a plain datagram, then, in a later batch and
// the same header, coalesced ones that need the full control space to be split.
TEST(udp_reader, headers_are_rearmed_between_batches)
{
    raw_socket probe;
    if (!spead2::detail::udp_gso_supported(probe.fd))
        GTEST_SKIP() << "kernel has no UDP GSO";
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    ring_stream<> s(tp, config_with_drops(), ring_stream_config().set_heaps(64));
    s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0);
    send_to_port(port, heap_packet(1, "plain"));
    heap first = s.pop(); // its batch is over
    EXPECT_EQ(item_text(first, 0x1000), "plain");
    send_gso(port, {heap_packet(2, std::string(1000, 'b')), heap_packet(3, std::string(1000, 'c'))});
    send_to_port(port, stop_packet(4));
    EXPECT_EQ(drain(s),
              (std::vector<std::string>{"2:" + std::string(1000, 'b'), "3:" + std::string(1000, 'c')}));
    EXPECT_EQ(s.get_stats()["udp_dropped"], 0u);
}

TEST(udp_reader, gro_segment_larger_than_max_size_is_dropped)
{
    raw_socket probe;
    if (!spead2::detail::udp_gso_supported(probe.fd))
        GTEST_SKIP() << "kernel has no UDP GSO";
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    ring_stream<> s(tp, config_with_drops());
    s.emplace_reader<udp_reader>("127.0.0.1", port, 500, 0);
    send_gso(port, {heap_packet(1, std::string(900, 'z')), heap_packet(2, std::string(900, 'z'))});
    send_to_port(port, heap_packet(3, "fine"));
    send_to_port(port, stop_packet(4));
    EXPECT_EQ(drain(s), (std::vector<std::string>{"3:fine"}));
    EXPECT_EQ(s.get_stats()["udp_dropped"], 2u);
}

TEST(udp_reader, stop_releases_port)
{
    // As in spead2, stop() frees the port at once, not only when the stream is destroyed.
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    ring_stream<> s(tp);
    s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0);
    s.stop();
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0) << std::strerror(errno);
    ::close(fd);
}

TEST(udp_reader, explicit_start_delays_bind)
{
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    ring_stream<> s(tp, stream_config().set_explicit_start(true));
    s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0);
    auto try_bind = [port]
    {
        int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int r = ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
        int e = errno;
        ::close(fd);
        return r == 0 ? 0 : e;
    };
    EXPECT_EQ(try_bind(), 0);
    s.start();
    EXPECT_EQ(try_bind(), EADDRINUSE);
    send_to_port(port, heap_packet(1, "late"));
    send_to_port(port, stop_packet(2));
    EXPECT_EQ(drain(s), (std::vector<std::string>{"1:late"}));
}

TEST(udp_reader, bind_error_from_emplace)
{
    thread_pool tp(1);
    raw_socket taken;
    ring_stream<> s(tp);
    try
    {
        s.emplace_reader<udp_reader>("127.0.0.1", taken.port(), 9200, 0);
        FAIL() << "expected std::system_error";
    }
    catch (const std::system_error &e)
    {
        EXPECT_EQ(e.code().value(), EADDRINUSE);
    }
}

using spead2::test::expect_invalid;

TEST(udp_reader, invalid_arguments)
{
    thread_pool tp(1);
    ring_stream<> s(tp, stream_config().set_explicit_start(true));
    const std::uint16_t port = free_port();
    expect_invalid([&] { s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0, "127.0.0.2"); },
                   "endpoint is not multicast and does not match interface address");
    expect_invalid([&] { s.emplace_reader<udp_reader>("::1", port, 9200, 0, "127.0.0.1"); },
                   "endpoint is not an IPv4 address");
    expect_invalid([&] { s.emplace_reader<udp_reader>("239.1.1.1", port, 9200, 0, "::1"); },
                   "interface address is not an IPv4 address");
    expect_invalid([&] { s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0, 0u); },
                   "endpoint is not an IPv6 multicast address");
    expect_invalid([&] { s.emplace_reader<udp_reader>("::", port, 9200, 0, 0u); },
                   "endpoint is not an IPv6 multicast address");
    EXPECT_THROW(s.emplace_reader<udp_reader>("nonexistent.invalid", port), std::system_error);
    int unix_fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    expect_invalid([&] { s.emplace_reader<udp_reader>(udp_reader::socket_fd{unix_fd}); },
                   "socket is not an IPv4 or IPv6 socket");
    ::close(unix_fd);
    // Accepted: the interface's own address, and the unspecified address (replaced by it).
    s.emplace_reader<udp_reader>("127.0.0.1", port, 9200, 0, "127.0.0.1");
    s.emplace_reader<udp_reader>("0.0.0.0", free_port(), 9200, 0, "127.0.0.1");
}

TEST(udp_reader, interface_address_unicast_receives)
{
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    ring_stream<> s(tp);
    s.emplace_reader<udp_reader>("0.0.0.0", port, 9200, 0, "127.0.0.1");
    send_to_port(port, heap_packet(7, "iface"));
    send_to_port(port, stop_packet(8));
    EXPECT_EQ(drain(s), (std::vector<std::string>{"7:iface"}));
}

TEST(udp_reader, asio_endpoint_overload)
{
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    ring_stream<> s(tp);
    s.emplace_reader<udp_reader>(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    send_to_port(port, heap_packet(9, "asio"));
    send_to_port(port, stop_packet(10));
    EXPECT_EQ(drain(s), (std::vector<std::string>{"9:asio"}));
    // With an interface address of Asio's address type, as spead2 takes it (IPv4 only).
    ring_stream<> s2(tp);
    const asio::ip::udp::endpoint any(asio::ip::make_address("0.0.0.0"), port);
    s2.emplace_reader<udp_reader>(any, 9200, 0, asio::ip::make_address("127.0.0.1"));
    send_to_port(port, heap_packet(11, "iface"));
    send_to_port(port, stop_packet(12));
    EXPECT_EQ(drain(s2), (std::vector<std::string>{"11:iface"}));
    ring_stream<> s3(tp);
    EXPECT_THROW(s3.emplace_reader<udp_reader>(any, 9200, 0, asio::ip::make_address("::1")),
                 std::invalid_argument);
}

TEST(udp_reader, buffer_size_warning_when_capped)
{
    const std::size_t rmem_max = spead2::detail::socket_buffer_max(true);
    if (rmem_max == 0 || rmem_max >= (std::size_t(1) << 30))
        GTEST_SKIP() << "cannot read net.core.rmem_max or it is huge";
    thread_pool tp(1);
    spead2::test::log_capture logs;
    ring_stream<> s(tp, stream_config().set_explicit_start(true));
    s.emplace_reader<udp_reader>("127.0.0.1", free_port(), 9200, std::size_t(1) << 30);
    const std::string expected = spead2::test::socket_buffer_warning(std::size_t(1) << 30, rmem_max, true);
    auto messages = logs.messages();
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].first, log_level::warning);
    EXPECT_EQ(messages[0].second, expected);
    // A request the kernel grants in full says nothing.
    spead2::test::log_capture quiet;
    s.emplace_reader<udp_reader>("127.0.0.1", free_port(), 9200, 65536);
    EXPECT_TRUE(quiet.messages().empty());
}

TEST(udp_reader, stop_while_waiting)
{
    thread_pool tp(1);
    ring_stream<> s(tp);
    s.emplace_reader<udp_reader>("127.0.0.1", free_port(), 9200, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.stop();
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
}

} // namespace
} // namespace spead2::recv::test
