// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// send::udp_stream on loopback: exact bytes on the wire, round trips through recv::udp_reader
/// with and without GSO/GRO, the GSO fallback states, EMSGSIZE, caller's sockets, argument checks.
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
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
#include <spead2/send/packet_generator.h>
#include <spead2/send/udp_stream.h>
#include "common/expect_invalid.h"
#include "common/log_capture.h"
#include "os/udp_socket.h"
#include "send/send_test_util.h"

namespace spead2::send
{
namespace
{

using test::completion_log;

/// A plain loopback UDP socket on an ephemeral port (receiver for byte checks).
struct raw_receiver
{
    int fd;
    std::uint16_t port;

    explicit raw_receiver(bool v6 = false)
    {
        fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_storage ss{};
        socklen_t len;
        if (v6)
        {
            auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            len = sizeof(*a);
        }
        else
        {
            auto *a = reinterpret_cast<sockaddr_in *>(&ss);
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof(*a);
        }
        if (::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0)
            throw std::system_error(errno, std::system_category(), "bind");
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len);
        port = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
                        : reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
        int rcvbuf = 4 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    ~raw_receiver() { ::close(fd); }

    /// Every datagram waiting now.
    std::vector<std::vector<std::uint8_t>> drain()
    {
        std::vector<std::vector<std::uint8_t>> out;
        std::vector<std::uint8_t> buf(70000);
        while (true)
        {
            ssize_t r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (r < 0)
                return out;
            out.emplace_back(buf.begin(), buf.begin() + r);
        }
    }
};

std::vector<std::uint8_t> pattern(std::size_t n, int seed)
{
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; i++)
        v[i] = std::uint8_t(i * 7 + seed);
    return v;
}

/// The number of packets @a h makes with @a max_packet_size.
std::size_t count_packets(const heap &h, std::size_t max_packet_size)
{
    packet_generator gen(h, 1, max_packet_size);
    std::size_t n = 0;
    while (gen.has_next_packet())
    {
        gen.next_packet();
        n++;
    }
    return n;
}

/// Sends @a h with cnt @a cnt and waits for its completion.
test::completion_log::entry send_and_wait(stream &s, const heap &h, s_item_pointer_t cnt = -1)
{
    completion_log log;
    EXPECT_TRUE(s.async_send_heap(h, log.handler(0), cnt));
    return log.wait(1)[0];
}

/// Restores the process-wide offload switches after a test.
class udp_stream_test : public ::testing::Test
{
protected:
    void TearDown() override
    {
        auto &o = spead2::detail::udp_offload();
        o.gso = true;
        o.gro = true;
        o.mmsg = true;
        o.gso_fault_errno = 0;
        o.send_fault_errno = 0;
    }
};

TEST_F(udp_stream_test, buffer_size_warning_when_capped)
{
    const std::size_t wmem_max = spead2::detail::socket_buffer_max(false);
    if (wmem_max == 0 || wmem_max >= (std::size_t(1) << 30))
        GTEST_SKIP() << "cannot read net.core.wmem_max or it is huge";
    thread_pool tp(1);
    spead2::test::log_capture logs;
    udp_stream s(tp, {{"127.0.0.1", 8888}}, stream_config(), std::size_t(1) << 30);
    const std::string expected = spead2::test::socket_buffer_warning(std::size_t(1) << 30, wmem_max, false);
    auto messages = logs.messages();
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].first, log_level::warning);
    EXPECT_EQ(messages[0].second, expected);
}

TEST_F(udp_stream_test, bytes_on_the_wire)
{
    for (bool gso : {true, false})
    {
        SCOPED_TRACE(gso ? "gso" : "no gso");
        spead2::detail::udp_offload().gso = gso;
        thread_pool tp(1);
        raw_receiver rx;
        udp_stream s(tp, {{"127.0.0.1", rx.port}}, stream_config().set_max_packet_size(1024));
        auto data = pattern(20000, 1);
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        auto e = send_and_wait(s, h, 5);
        EXPECT_FALSE(e.ec) << e.ec.message();
        auto got = rx.drain();
        packet_generator gen(h, 5, 1024);
        std::size_t i = 0, total = 0;
        while (gen.has_next_packet())
        {
            auto expected = gen.next_packet();
            ASSERT_LT(i, got.size());
            EXPECT_EQ(got[i], expected) << i;
            total += expected.size();
            i++;
        }
        EXPECT_EQ(got.size(), i);
        EXPECT_EQ(e.bytes, total);
    }
}

TEST_F(udp_stream_test, gso_used_when_supported)
{
    {
        thread_pool tp(1);
        raw_receiver rx;
        udp_stream s(tp, {{"127.0.0.1", rx.port}}, stream_config().set_max_packet_size(1024));
        if (!spead2::detail::udp_gso_supported(rx.fd))
            GTEST_SKIP() << "kernel has no UDP GSO";
        auto data = pattern(10000, 2);
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        const auto before = spead2::detail::udp_offload().gso_messages.load();
        EXPECT_FALSE(send_and_wait(s, h).ec);
        EXPECT_GE(spead2::detail::udp_offload().gso_messages.load(), before + 1);
        EXPECT_EQ(count_packets(h, 1024), 11u);
        EXPECT_EQ(rx.drain().size(), 11u); // split back into datagrams by the kernel
    }
    {
        spead2::detail::udp_offload().gso = false;
        thread_pool tp(1);
        raw_receiver rx;
        udp_stream s(tp, {{"127.0.0.1", rx.port}}, stream_config().set_max_packet_size(1024));
        auto data = pattern(10000, 2);
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        const auto before = spead2::detail::udp_offload().gso_messages.load();
        EXPECT_FALSE(send_and_wait(s, h).ec);
        EXPECT_EQ(spead2::detail::udp_offload().gso_messages.load(), before);
        EXPECT_EQ(rx.drain().size(), 11u);
    }
}

struct round_trip_param
{
    bool gso;
    bool gro;
    bool v6;
};

class udp_round_trip : public ::testing::TestWithParam<round_trip_param>
{
protected:
    void TearDown() override
    {
        spead2::detail::udp_offload().gso = true;
        spead2::detail::udp_offload().gro = true;
    }
};

TEST_P(udp_round_trip, heap_sizes)
{
    const auto param = GetParam();
    auto &offload = spead2::detail::udp_offload();
    offload.gso = param.gso;
    offload.gro = param.gro;
    const char *host = param.v6 ? "::1" : "127.0.0.1";
    thread_pool tp(2);
    // Find a free port by binding a receiver, then hand the port to the reader.
    std::uint16_t port;
    {
        raw_receiver probe(param.v6);
        port = probe.port;
    }
    recv::stream_config rconfig;
    rconfig.set_max_heaps(8);
    rconfig.add_stat(recv::udp_reader::dropped_stat_name);
    recv::ring_stream<> rs(tp, rconfig, recv::ring_stream_config().set_heaps(64));
    rs.emplace_reader<recv::udp_reader>(host, port, 9200, 4 << 20);
    udp_stream s(tp, {{host, port}}, stream_config().set_max_packet_size(8192).set_rate(2e8));
    const std::vector<std::size_t> sizes{0, 1, 7, 8, 100, 8000, 8143, 8144, 8145, 20000, 65536, 200000};
    std::vector<std::vector<std::uint8_t>> payloads;
    std::vector<heap> heaps(sizes.size() + 1);
    completion_log log;
    for (std::size_t i = 0; i < sizes.size(); i++)
    {
        payloads.push_back(pattern(sizes[i], int(i)));
        heaps[i].add_item(0x1000, payloads[i].data(), payloads[i].size(), false);
        ASSERT_TRUE(s.async_send_heap(heaps[i], log.handler(int(i)), s_item_pointer_t(i + 1)));
        log.wait(i + 1);
    }
    heaps.back().add_end();
    ASSERT_TRUE(s.async_send_heap(heaps.back(), log.handler(-1), s_item_pointer_t(sizes.size() + 1)));
    for (const auto &e : log.wait(sizes.size() + 1))
        EXPECT_FALSE(e.ec) << e.tag << ": " << e.ec.message();
    std::size_t seen = 0;
    while (true)
    {
        try
        {
            recv::heap h = rs.pop();
            ASSERT_GE(h.get_cnt(), 1);
            std::size_t i = std::size_t(h.get_cnt() - 1);
            ASSERT_LT(i, sizes.size());
            bool found = false;
            for (const auto &it : h.get_items())
                if (it.id == 0x1000)
                {
                    found = true;
                    EXPECT_EQ(std::vector<std::uint8_t>(it.ptr, it.ptr + it.length), payloads[i])
                        << "size " << sizes[i];
                }
            EXPECT_EQ(found, sizes[i] != 0) << "size " << sizes[i];
            seen++;
        }
        catch (spead2::ringbuffer_stopped &)
        {
            break;
        }
    }
    EXPECT_EQ(seen, sizes.size());
    auto stats = rs.get_stats();
    EXPECT_EQ(stats["udp_dropped"], 0u);
    // Whether the receiver ever sees more than one datagram per batch depends on scheduling, so
    // batching is checked deterministically in udp_reader_test (datagrams queued before reading).
}

INSTANTIATE_TEST_SUITE_P(
    offloads, udp_round_trip,
    ::testing::Values(round_trip_param{true, true, false}, round_trip_param{true, false, false},
                      round_trip_param{false, true, false}, round_trip_param{false, false, false},
                      round_trip_param{true, true, true}, round_trip_param{false, false, true}),
    [](const auto &param_info)
    {
        return std::string(param_info.param.gso ? "gso" : "nogso") + "_" +
               (param_info.param.gro ? "gro" : "nogro") + "_" + (param_info.param.v6 ? "v6" : "v4");
    });

TEST_F(udp_stream_test, gso_failure_then_success_disables_gso)
{
    thread_pool tp(1);
    raw_receiver rx;
    if (!spead2::detail::udp_gso_supported(rx.fd))
        GTEST_SKIP() << "kernel has no UDP GSO";
    auto &offload = spead2::detail::udp_offload();
    udp_stream s(tp, {{"127.0.0.1", rx.port}}, stream_config().set_max_packet_size(1024));
    auto data = pattern(5000, 3);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    ASSERT_EQ(count_packets(h, 1024), 6u);
    offload.gso_fault_errno = EIO; // GSO messages fail, plain ones work
    const auto before = offload.gso_messages.load();
    EXPECT_FALSE(send_and_wait(s, h).ec);
    EXPECT_EQ(rx.drain().size(), 6u);
    offload.gso_fault_errno = 0;
    // Disabled for good: the next heap goes without GSO although it would now work.
    EXPECT_FALSE(send_and_wait(s, h).ec);
    EXPECT_EQ(rx.drain().size(), 6u);
    EXPECT_EQ(offload.gso_messages.load(), before);
}

TEST_F(udp_stream_test, failure_without_gso_keeps_gso)
{
    thread_pool tp(1);
    raw_receiver rx;
    if (!spead2::detail::udp_gso_supported(rx.fd))
        GTEST_SKIP() << "kernel has no UDP GSO";
    auto &offload = spead2::detail::udp_offload();
    udp_stream s(tp, {{"127.0.0.1", rx.port}}, stream_config().set_max_packet_size(1024));
    auto data = pattern(5000, 4);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    offload.send_fault_errno = EPERM; // everything fails: not GSO's fault
    auto e = send_and_wait(s, h);
    EXPECT_EQ(e.ec, std::error_code(EPERM, std::system_category()));
    EXPECT_EQ(e.bytes, 0u);
    offload.send_fault_errno = 0;
    const auto before = offload.gso_messages.load();
    EXPECT_FALSE(send_and_wait(s, h).ec);
    EXPECT_GE(offload.gso_messages.load(), before + 1); // still active
    EXPECT_EQ(rx.drain().size(), 6u);
}

TEST_F(udp_stream_test, emsgsize)
{
    for (bool mmsg : {true, false})
    {
        SCOPED_TRACE(mmsg ? "sendmmsg" : "sendmsg");
        spead2::detail::udp_offload().mmsg = mmsg;
        thread_pool tp(1);
        raw_receiver rx;
        udp_stream s(tp, {{"127.0.0.1", rx.port}}, stream_config().set_max_packet_size(70000));
        auto data = pattern(100000, 5);
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        auto e = send_and_wait(s, h);
        EXPECT_EQ(e.ec, std::error_code(EMSGSIZE, std::system_category()));
        // The second (smaller) packet still went out: 8-byte header, the 4 special pointers and
        // the rest of the payload (the first packet held 70000 - 48 bytes of it).
        auto got = rx.drain();
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].size(), 8u + 4 * 8 + (100000u - (70000u - 48)));
    }
}

TEST_F(udp_stream_test, user_socket_and_substreams)
{
    thread_pool tp(1);
    raw_receiver rx0, rx1;
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    udp_stream s(tp, udp_stream::socket_fd{fd}, {{"127.0.0.1", rx0.port}, {"127.0.0.1", rx1.port}},
                 stream_config().set_max_packet_size(512));
    ::close(fd); // the stream has its own duplicate
    EXPECT_EQ(s.get_num_substreams(), 2u);
    auto data = pattern(1000, 6);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    completion_log log;
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0), 1, 0));
    ASSERT_TRUE(s.async_send_heap(h, log.handler(1), 2, 1));
    for (const auto &e : log.wait(2))
        EXPECT_FALSE(e.ec);
    EXPECT_EQ(rx0.drain().size(), 3u);
    EXPECT_EQ(rx1.drain().size(), 3u);
}

TEST_F(udp_stream_test, asio_endpoints_and_names)
{
    thread_pool tp(1);
    raw_receiver rx;
    udp_stream s(tp, std::vector<asio::ip::udp::endpoint>{{asio::ip::make_address("127.0.0.1"), rx.port}});
    heap h;
    h.add_item(0x1000, std::uint64_t(42));
    EXPECT_FALSE(send_and_wait(s, h).ec);
    EXPECT_EQ(rx.drain().size(), 1u);
    // A source address given by name.
    udp_stream s2(tp, {{"127.0.0.1", rx.port}}, stream_config(), 0, "localhost");
    EXPECT_FALSE(send_and_wait(s2, h).ec);
    EXPECT_EQ(rx.drain().size(), 1u);
    // And as an Asio address, as spead2 takes it; multicast forms check their arguments.
    const std::vector<asio::ip::udp::endpoint> eps{{asio::ip::make_address("127.0.0.1"), rx.port}};
    udp_stream s3(tp, eps, stream_config(), 0, asio::ip::make_address("127.0.0.1"));
    EXPECT_FALSE(send_and_wait(s3, h).ec);
    EXPECT_EQ(rx.drain().size(), 1u);
    EXPECT_THROW(udp_stream(tp, eps, stream_config(), 0, 1), std::invalid_argument); // not multicast
    EXPECT_THROW(udp_stream(tp, eps, stream_config(), 0, 1, asio::ip::make_address("127.0.0.1")),
                 std::invalid_argument);
    EXPECT_THROW(udp_stream(tp, eps, stream_config(), 0, 1, 0u), std::invalid_argument);
}

using spead2::test::expect_invalid;

TEST_F(udp_stream_test, invalid_arguments)
{
    thread_pool tp(1);
    typedef std::vector<udp_stream::endpoint_spec> eps;
    stream_config c;
    expect_invalid([&] { udp_stream(tp, eps{}, c); }, "Endpoint list must be non-empty");
    expect_invalid(
        [&] {
            udp_stream(tp, eps{{"127.0.0.1", 8888}, {"::1", 8888}}, c);
        },
        "Endpoint does not match protocol of the socket");
    expect_invalid(
        [&] {
            udp_stream(tp, eps{{"127.0.0.1", 8888}}, c, 0, 4);
        },
        "endpoint is not a multicast address");
    expect_invalid(
        [&] {
            udp_stream(tp, eps{{"239.1.2.3", 8888}}, c, 0, 4, "::1");
        },
        "interface address is not an IPv4 address");
    expect_invalid(
        [&] {
            udp_stream(tp, eps{{"ff02::1", 8888}}, c, 0, 4, "127.0.0.1");
        },
        "endpoint is not an IPv4 multicast address");
    expect_invalid(
        [&] {
            udp_stream(tp, eps{{"239.1.2.3", 8888}}, c, 0, 4, 0u);
        },
        "endpoint is not an IPv6 multicast address");
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    expect_invalid(
        [&] {
            udp_stream(tp, udp_stream::socket_fd{fd}, eps{{"::1", 8888}}, c);
        },
        "Endpoint does not match protocol of the socket");
    ::close(fd);
    EXPECT_THROW(udp_stream(tp, eps{{"nonexistent.invalid", 8888}}, c), std::system_error);
    try
    {
        udp_stream(tp, eps{{"127.0.0.1", 8888}}, c, 0, "::1");
        ADD_FAILURE() << "binding an IPv6 source to an IPv4 socket should fail";
    }
    catch (const std::system_error &e)
    {
        EXPECT_EQ(e.code().value(), EAFNOSUPPORT) << e.what();
    }
}

} // namespace
} // namespace spead2::send
