// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// tcp_stream over loopback: round trips into a recv ring_stream through tcp_reader, byte-exact
/// output on a user socket, connect errors (synchronous and asynchronous), a vanished peer,
/// interface binding and IPv6.
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>
#include <asio.hpp>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/tcp_reader.h>
#include <spead2/send/heap.h>
#include <spead2/send/packet_generator.h>
#include <spead2/send/tcp_stream.h>
#include "send/send_test_util.h"

namespace spead2::send
{
namespace
{

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using test::completion_log;

std::uint16_t free_port(const std::string &address = "127.0.0.1")
{
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address(address), 0));
    return a.local_endpoint().port();
}

bool have_ipv6_loopback()
{
    asio::io_context io;
    std::error_code ec;
    tcp::acceptor a(io);
    a.open(tcp::v6(), ec);
    if (!ec)
        a.bind(tcp::endpoint(asio::ip::address_v6::loopback(), 0), ec);
    return !ec;
}

std::vector<std::uint8_t> pattern(std::size_t n, int seed)
{
    std::vector<std::uint8_t> out(n);
    for (std::size_t i = 0; i < n; i++)
        out[i] = std::uint8_t(i * 31 + seed);
    return out;
}

std::string as_string(const std::vector<std::uint8_t> &v)
{
    return std::string(v.begin(), v.end());
}

std::string generated_bytes(const heap &h, item_pointer_t cnt, std::size_t max_packet_size = 1472)
{
    packet_generator gen(h, cnt, max_packet_size);
    std::string out;
    while (gen.has_next_packet())
    {
        auto p = gen.next_packet();
        out.append(p.begin(), p.end());
    }
    return out;
}

std::size_t generated_packets(const heap &h, item_pointer_t cnt, std::size_t max_packet_size = 1472)
{
    packet_generator gen(h, cnt, max_packet_size);
    std::size_t n = 0;
    for (; gen.has_next_packet(); n++)
        gen.next_packet();
    return n;
}

/// Receives heaps with a tcp_reader (listening on @a address) and checks payloads.
class tcp_round_trip : public ::testing::Test
{
protected:
    thread_pool recv_tp{1};
    thread_pool send_tp{1};
    std::uint16_t port = 0;
    std::unique_ptr<recv::ring_stream<>> receiver;

    void listen(const std::string &address = "127.0.0.1")
    {
        port = free_port(address);
        receiver = std::make_unique<recv::ring_stream<>>(recv_tp, recv::stream_config().set_max_heaps(4),
                                                         recv::ring_stream_config().set_heaps(64));
        receiver->emplace_reader<recv::tcp_reader>(address, port);
    }

    /// Sends heaps of the given payload sizes, then closes the connection; returns packets sent.
    std::size_t send_all(stream &s, const std::vector<std::size_t> &sizes,
                         std::vector<std::vector<std::uint8_t>> &payloads)
    {
        completion_log log;
        std::vector<std::unique_ptr<heap>> heaps;
        std::size_t packets = 0;
        for (std::size_t i = 0; i < sizes.size(); i++)
        {
            payloads.push_back(pattern(sizes[i], int(i)));
            auto h = std::make_unique<heap>();
            h->add_item(0x1000, payloads.back().data(), payloads.back().size(), false);
            h->add_item(0x1001, std::uint64_t(i));
            packets += generated_packets(*h, i + 1, s.get_config().get_max_packet_size());
            EXPECT_TRUE(s.async_send_heap(*h, log.handler(int(i))));
            heaps.push_back(std::move(h));
        }
        auto entries = log.wait(sizes.size());
        for (std::size_t i = 0; i < entries.size(); i++)
        {
            EXPECT_EQ(entries[i].tag, int(i));
            EXPECT_FALSE(entries[i].ec) << entries[i].ec.message();
            EXPECT_EQ(entries[i].bytes,
                      generated_bytes(*heaps[i], i + 1, s.get_config().get_max_packet_size()).size());
        }
        s.flush();
        return packets;
    }

    void check_received(const std::vector<std::vector<std::uint8_t>> &payloads, std::size_t packets)
    {
        for (std::size_t i = 0; i < payloads.size(); i++)
        {
            recv::heap h = receiver->pop();
            EXPECT_EQ(h.get_cnt(), s_item_pointer_t(i + 1));
            ASSERT_EQ(h.get_items().size(), 2u);
            const recv::item &data = h.get_items()[0];
            EXPECT_EQ(data.id, 0x1000);
            // Not EXPECT_EQ: a mismatch would print hundreds of kilobytes.
            EXPECT_TRUE(std::string(reinterpret_cast<const char *>(data.ptr), data.length) ==
                        as_string(payloads[i]))
                << "payload of heap " << i + 1 << " differs";
            EXPECT_EQ(h.get_items()[1].immediate_value, i);
        }
        // The sender has closed the connection: the stream stops.
        EXPECT_THROW(receiver->pop(), ringbuffer_stopped);
        EXPECT_EQ(receiver->get_stats().packets, packets);
        EXPECT_EQ(receiver->get_stats().heaps, payloads.size());
    }
};

TEST_F(tcp_round_trip, many_heap_sizes)
{
    listen();
    const std::vector<std::size_t> sizes = {1, 8, 100, 1000, 1423, 1424, 1425, 5000, 65536, 300000};
    std::vector<std::vector<std::uint8_t>> payloads;
    std::size_t packets;
    {
        tcp_stream s(send_tp, {{"127.0.0.1", port}}, stream_config().set_max_heaps(16));
        EXPECT_EQ(s.get_num_substreams(), 1u);
        packets = send_all(s, sizes, payloads);
    }
    EXPECT_GT(packets, sizes.size()); // several heaps span many packets
    check_received(payloads, packets);
}

TEST_F(tcp_round_trip, inline_sends_one_at_a_time)
{
    // Python's send_heap: the calling thread runs the writer, and asio completes each write on the
    // io_context thread, possibly before send_batch has returned on the calling thread.
    listen();
    std::vector<std::vector<std::uint8_t>> payloads;
    std::size_t packets = 0;
    {
        tcp_stream s(send_tp, {{"127.0.0.1", port}});
        for (int i = 0; i < 60; i++) // fewer than the receiver's ring holds
        {
            payloads.push_back(pattern(std::size_t(1000 + 97 * i), i));
            heap h;
            h.add_item(0x1000, payloads.back().data(), payloads.back().size(), false);
            h.add_item(0x1001, std::uint64_t(i));
            packets += generated_packets(h, i + 1);
            std::promise<std::error_code> done;
            ASSERT_TRUE(s.async_send_heap_inline(h, [&done](const std::error_code &ec, item_pointer_t)
                                                 { done.set_value(ec); }));
            auto result = done.get_future();
            ASSERT_EQ(result.wait_for(10s), std::future_status::ready) << "heap " << i << " never completed";
            EXPECT_FALSE(result.get());
        }
    }
    check_received(payloads, packets);
}

TEST_F(tcp_round_trip, small_packets_and_hostname)
{
    listen();
    std::vector<std::vector<std::uint8_t>> payloads;
    std::size_t packets;
    {
        tcp_stream s(send_tp, {{"localhost", port}},
                     stream_config().set_max_packet_size(128).set_max_heaps(16), 0);
        packets = send_all(s, {10, 100, 1000, 10000}, payloads);
    }
    check_received(payloads, packets);
}

TEST_F(tcp_round_trip, async_connect_with_heaps_queued_early)
{
    listen();
    std::promise<std::error_code> connected;
    std::vector<std::vector<std::uint8_t>> payloads;
    std::size_t packets;
    {
        tcp_stream s(
            send_tp, [&](const std::error_code &ec) { connected.set_value(ec); }, {{"127.0.0.1", port}},
            stream_config().set_max_heaps(16));
        // Queued at once, before the connection necessarily exists.
        packets = send_all(s, {5, 3000, 20000}, payloads);
        auto f = connected.get_future();
        ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
        EXPECT_FALSE(f.get());
    }
    check_received(payloads, packets);
}

/// Asio endpoints and addresses on both sides, as spead2's constructors take them.
TEST_F(tcp_round_trip, asio_endpoints)
{
    port = free_port("127.0.0.1");
    receiver = std::make_unique<recv::ring_stream<>>(recv_tp, recv::stream_config().set_max_heaps(4),
                                                     recv::ring_stream_config().set_heaps(64));
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    receiver->emplace_reader<recv::tcp_reader>(ep, recv::tcp_reader::default_max_size);
    std::promise<std::error_code> connected;
    std::vector<std::vector<std::uint8_t>> payloads;
    std::size_t packets;
    {
        tcp_stream s(
            send_tp, [&](const std::error_code &ec) { connected.set_value(ec); },
            std::vector<tcp::endpoint>{ep}, stream_config().set_max_heaps(16),
            tcp_stream::default_buffer_size, asio::ip::make_address("127.0.0.1"));
        auto f = connected.get_future();
        ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
        EXPECT_FALSE(f.get());
        packets = send_all(s, {100, 4000}, payloads);
    }
    check_received(payloads, packets);
}

TEST_F(tcp_round_trip, ipv6_loopback)
{
    if (!have_ipv6_loopback())
        GTEST_SKIP() << "no IPv6 loopback";
    listen("::1");
    std::vector<std::vector<std::uint8_t>> payloads;
    std::size_t packets;
    {
        tcp_stream s(send_tp, {{"::1", port}}, stream_config().set_max_heaps(16),
                     tcp_stream::default_buffer_size, "::1");
        packets = send_all(s, {100, 4000}, payloads);
    }
    check_received(payloads, packets);
}

TEST(tcp_stream, connect_refused_throws)
{
    thread_pool tp(1);
    const std::uint16_t port = free_port();
    try
    {
        tcp_stream s(tp, {{"127.0.0.1", port}});
        FAIL() << "expected std::system_error";
    }
    catch (std::system_error &e)
    {
        EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
        EXPECT_EQ(std::string(e.what()).find("tcp_stream: connect to 127.0.0.1:" + std::to_string(port)), 0u)
            << e.what();
    }
}

TEST(tcp_stream, connect_refused_async_fails_queued_heaps)
{
    thread_pool tp(1);
    std::promise<std::error_code> connected;
    completion_log log;
    heap h;
    h.add_item(0x1000, std::uint64_t(1));
    {
        tcp_stream s(tp, [&](const std::error_code &ec) { connected.set_value(ec); },
                     {{"127.0.0.1", free_port()}});
        s.async_send_heap(h, log.handler(0));
        auto entries = log.wait(1);
        EXPECT_EQ(entries[0].ec, std::error_code(ECONNREFUSED, std::system_category()));
        EXPECT_EQ(entries[0].bytes, 0u);
        // Later heaps fail the same way.
        s.async_send_heap(h, log.handler(1));
        entries = log.wait(2);
        EXPECT_EQ(entries[1].ec, std::error_code(ECONNREFUSED, std::system_category()));
    }
    auto f = connected.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get(), std::error_code(ECONNREFUSED, std::system_category()));
}

TEST(tcp_stream, destroyed_while_connecting)
{
    thread_pool tp(1);
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    // No listen(): connecting to a bound, non-listening port is usually refused (rarely a TCP
    // self-connect succeeds), maybe only after the stream has gone, or it is aborted. Whatever
    // the outcome, the handler runs exactly once and touches nothing freed (ASan checks).
    std::promise<std::error_code> connected;
    {
        tcp_stream s(tp, [&](const std::error_code &ec) { connected.set_value(ec); },
                     {{"127.0.0.1", a.local_endpoint().port()}});
    }
    auto f = connected.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    const std::error_code ec = f.get();
    EXPECT_TRUE(!ec || ec == std::error_code(ECONNREFUSED, std::system_category()) ||
                ec == std::error_code(ECANCELED, std::system_category()))
        << ec.message();
}

TEST(tcp_stream, exactly_one_endpoint)
{
    thread_pool tp(1);
    for (const auto &endpoints :
         {std::vector<std::pair<std::string, std::uint16_t>>{},
          std::vector<std::pair<std::string, std::uint16_t>>{{"127.0.0.1", 1}, {"127.0.0.1", 2}}})
    {
        try
        {
            tcp_stream s(tp, endpoints);
            FAIL() << "expected std::invalid_argument";
        }
        catch (std::invalid_argument &e)
        {
            EXPECT_STREQ(e.what(), "endpoints must contain exactly one element");
        }
    }
}

TEST(tcp_stream, bad_addresses)
{
    thread_pool tp(1);
    EXPECT_THROW((tcp_stream(tp, {{"no.such.host.invalid", 1}})), std::invalid_argument);
    EXPECT_THROW((tcp_stream(tp, {{"127.0.0.1", 1}}, stream_config(), 0, "not-an-address")),
                 std::invalid_argument);
    EXPECT_THROW((tcp_stream(tp, {{"127.0.0.1", 1}}, stream_config(), 0, "::1")), std::invalid_argument);
    EXPECT_THROW((tcp_stream(tp, -1)), std::invalid_argument);
    try
    {
        tcp_stream s(tp, 1000000);
        FAIL() << "expected std::system_error";
    }
    catch (std::system_error &e)
    {
        EXPECT_EQ(e.code().value(), EBADF);
    }
}

/// A plain listening socket that reads whatever arrives, for byte-level checks.
class raw_peer
{
public:
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    tcp::socket conn{io};

    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    std::string read_to_eof()
    {
        std::string out;
        std::error_code ec;
        asio::read(conn, asio::dynamic_buffer(out), ec);
        EXPECT_EQ(ec, asio::error::eof);
        return out;
    }
};

TEST(tcp_stream, user_socket_bytes_match_packet_generator)
{
    thread_pool tp(1);
    raw_peer peer;
    peer.acceptor.listen();
    asio::io_context io;
    tcp::socket client(io);
    client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), peer.port()));
    peer.acceptor.accept(peer.conn);
    auto data = pattern(10000, 3);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    h.add_item(0x1001, std::uint64_t(77));
    {
        tcp_stream s(tp, client.native_handle(), stream_config().set_max_packet_size(1000));
        client.close(); // ours to close: the stream has its own duplicate
        completion_log log;
        ASSERT_TRUE(s.async_send_heap(h, log.handler(0), 42));
        ASSERT_TRUE(s.async_send_heap(h, log.handler(1), 43));
        auto entries = log.wait(2);
        EXPECT_FALSE(entries[0].ec);
        EXPECT_FALSE(entries[1].ec);
        s.flush();
    }
    EXPECT_TRUE(peer.read_to_eof() == generated_bytes(h, 42, 1000) + generated_bytes(h, 43, 1000));
}

TEST(tcp_stream, interface_address_is_the_source)
{
    thread_pool tp(1);
    raw_peer peer;
    peer.acceptor.listen();
    tcp_stream s(tp, {{"127.0.0.1", peer.port()}}, stream_config(), 0, "127.0.0.1");
    peer.acceptor.accept(peer.conn);
    EXPECT_EQ(peer.conn.remote_endpoint().address(), asio::ip::make_address("127.0.0.1"));
}

TEST(tcp_stream, vanished_peer_gives_error_not_signal)
{
    thread_pool tp(1);
    raw_peer peer;
    peer.acceptor.listen();
    tcp_stream s(tp, {{"127.0.0.1", peer.port()}});
    peer.acceptor.accept(peer.conn);
    peer.conn.close();
    auto data = pattern(100000, 1);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    // The first writes may still be accepted by the kernel; once the peer's RST arrives they
    // fail with EPIPE or ECONNRESET (and MSG_NOSIGNAL keeps SIGPIPE away).
    std::error_code failure;
    for (int i = 0; i < 200 && !failure; i++)
    {
        completion_log log;
        ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
        failure = log.wait(1)[0].ec;
        if (!failure)
            std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(failure == std::error_code(EPIPE, std::system_category()) ||
                failure == std::error_code(ECONNRESET, std::system_category()))
        << failure.message();
    // The connection is finished: later heaps fail at once with the same error, through both
    // the io_context and the inline (blocking-send) paths, rather than waiting on the socket.
    for (bool run_inline : {false, true, false})
    {
        std::promise<std::error_code> done;
        auto handler = [&done](const std::error_code &ec, item_pointer_t) { done.set_value(ec); };
        ASSERT_TRUE(run_inline ? s.async_send_heap_inline(h, handler) : s.async_send_heap(h, handler));
        auto result = done.get_future();
        ASSERT_EQ(result.wait_for(10s), std::future_status::ready) << "send after the failure hung";
        EXPECT_EQ(result.get(), failure);
    }
}

TEST(tcp_stream, only_substream_zero)
{
    thread_pool tp(1);
    raw_peer peer;
    peer.acceptor.listen();
    tcp_stream s(tp, {{"127.0.0.1", peer.port()}});
    heap h;
    completion_log log;
    EXPECT_FALSE(s.async_send_heap(h, log.handler(0), -1, 1));
    EXPECT_EQ(log.wait(1)[0].ec, std::error_code(EINVAL, std::system_category()));
}

} // namespace
} // namespace spead2::send
