// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// tcp_reader over loopback: framing across reads, resynchronisation after garbage, oversized and
/// rejected packets, the peer closing mid-packet, user-supplied acceptors, explicit start, IPv6.
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <asio.hpp>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/tcp_reader.h>
#include "common/log_capture.h"
#include "os/udp_socket.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

/// A stream config with the tcp_dropped statistic.
stream_config counting_drops()
{
    stream_config config;
    config.add_stat(tcp_dropped_stat_name);
    return config;
}

/// A tcp_reader that reports where it lives, so that a test can read its counters.
class probed_tcp_reader : public tcp_reader
{
public:
    template<typename... Args>
    probed_tcp_reader(stream &owner, tcp_reader **out, Args &&...args)
        : tcp_reader(owner, std::forward<Args>(args)...)
    {
        *out = this;
    }
};

/// A port that was free a moment ago on @a address.
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

/// A blocking client connection used to play the sending peer.
class client
{
private:
    asio::io_context io_;
    tcp::socket socket_{io_};

public:
    client(const std::string &address, std::uint16_t port)
    {
        socket_.connect(tcp::endpoint(asio::ip::make_address(address), port));
    }
    void send(const bytes &data) { asio::write(socket_, asio::buffer(data)); }
    /// Sends in pieces of @a chunk bytes with a pause between them, so that they arrive in separate reads.
    void send_slowly(const bytes &data, std::size_t chunk)
    {
        for (std::size_t pos = 0; pos < data.size(); pos += chunk)
        {
            asio::write(socket_, asio::buffer(data.data() + pos, std::min(chunk, data.size() - pos)));
            std::this_thread::sleep_for(2ms);
        }
    }
    void close() { socket_.close(); }
};

bytes heap_packet(s_item_pointer_t cnt, const std::string &payload = "abcd")
{
    return make_packet(cnt, 0, payload, s_item_pointer_t(payload.size()),
                       {addr(0x1000, 0), imm(0x1001, cnt)});
}

std::string expected_items(s_item_pointer_t cnt, const std::string &payload = "abcd")
{
    return "4096=" + payload + ",4097#" + std::to_string(cnt);
}

/// Pops heaps until the stream stops; returns "cnt:items" for each.
std::vector<std::string> drain(ring_stream<> &s)
{
    std::vector<std::string> out;
    while (true)
    {
        try
        {
            heap h = s.pop();
            out.push_back(std::to_string(h.get_cnt()) + ":" + describe_items(h));
        }
        catch (ringbuffer_stopped &)
        {
            return out;
        }
    }
}

class tcp_reader_fixture : public ::testing::Test
{
protected:
    thread_pool tp{1};
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::uint16_t port = 0;

    /// A listening socket on loopback whose descriptor the reader will duplicate.
    int listen(const std::string &address = "127.0.0.1")
    {
        tcp::endpoint ep(asio::ip::make_address(address), 0);
        acceptor.open(ep.protocol());
        acceptor.bind(ep);
        acceptor.listen();
        port = acceptor.local_endpoint().port();
        return acceptor.native_handle();
    }
};

TEST_F(tcp_reader_fixture, packets_framed_across_reads)
{
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(64));
    const std::uint16_t p = free_port();
    tcp_reader *r = nullptr;
    s.emplace_reader<probed_tcp_reader>(&r, "127.0.0.1", p);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->get_max_size(), 65536u);
    bytes data;
    std::vector<std::string> expected;
    for (int c = 1; c <= 20; c++)
    {
        const std::string payload(std::size_t(c * 37), char('a' + c % 26));
        auto pkt = heap_packet(c, payload);
        data.insert(data.end(), pkt.begin(), pkt.end());
        expected.push_back(std::to_string(c) + ":" + expected_items(c, payload));
    }
    client cl("127.0.0.1", p);
    cl.send_slowly(data, 53); // 53 is prime: splits headers, pointers and payloads everywhere
    cl.close();
    EXPECT_EQ(drain(s), expected);
    auto stats = s.get_stats();
    EXPECT_EQ(stats.packets, 20u);
    EXPECT_EQ(stats.heaps, 20u);
    EXPECT_EQ(r->get_bad_headers(), 0u);
    EXPECT_EQ(r->get_oversized_packets(), 0u);
    EXPECT_EQ(r->get_rejected_packets(), 0u);
}

TEST_F(tcp_reader_fixture, multi_packet_heap_in_one_write)
{
    ring_stream<> s(tp);
    s.emplace_reader<tcp_reader>(listen());
    const std::string payload = "0123456789abcdefghij";
    auto data =
        concat({make_packet(7, 0, payload.substr(0, 8), 20, {addr(0x1000, 0)}),
                make_packet(7, 8, payload.substr(8, 8), 20), make_packet(7, 16, payload.substr(16), 20)});
    client cl("127.0.0.1", port);
    cl.send(data);
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"7:4096=" + payload}));
    EXPECT_EQ(s.get_stats().packets, 3u);
}

TEST_F(tcp_reader_fixture, buffer_size_warning_when_capped)
{
    const std::size_t rmem_max = spead2::detail::socket_buffer_max(true);
    if (rmem_max == 0 || rmem_max >= (std::size_t(1) << 30))
        GTEST_SKIP() << "cannot read net.core.rmem_max or it is huge";
    spead2::test::log_capture logs;
    ring_stream<> s(tp);
    s.emplace_reader<tcp_reader>("127.0.0.1", free_port(), tcp_reader::default_max_size,
                                 std::size_t(1) << 30);
    s.stop();
    std::vector<std::string> warnings;
    for (const auto &m : logs.messages())
        if (m.first == log_level::warning)
            warnings.push_back(m.second);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind("requested socket buffer size 1073741824 but only received " +
                                    std::to_string(rmem_max) + ": refer to documentation",
                                0),
              0u);
}

TEST_F(tcp_reader_fixture, garbage_resynchronises)
{
    spead2::test::log_capture logs;
    ring_stream<> s(tp, counting_drops());
    tcp_reader *r = nullptr;
    s.emplace_reader<probed_tcp_reader>(&r, listen());
    client cl("127.0.0.1", port);
    cl.send(heap_packet(1));
    // 24 bytes that cannot start a packet: three 8-byte skips, then packets line up again.
    bytes garbage(24, 0xee);
    cl.send(garbage);
    std::this_thread::sleep_for(20ms);
    cl.send(concat({heap_packet(2), heap_packet(3)}));
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"1:" + expected_items(1), "2:" + expected_items(2),
                                                  "3:" + expected_items(3)}));
    EXPECT_EQ(r->get_bad_headers(), 3u);
    EXPECT_EQ(s.get_stats().packets, 3u);
    EXPECT_EQ(s.get_stats()["tcp_dropped"], 1u); // one run of garbage
    std::vector<std::string> tcp_logs;
    for (const auto &m : logs.messages())
        if (m.second.rfind("tcp_reader:", 0) == 0)
            tcp_logs.push_back(m.second);
    EXPECT_EQ(tcp_logs, (std::vector<std::string>{
                            "tcp_reader: bad packet header; skipping 8 bytes at a time to resynchronise",
                            "tcp_reader: resynchronised after skipping 24 bytes"}));
}

TEST_F(tcp_reader_fixture, oversized_packets_are_drained)
{
    ring_stream<> s(tp, counting_drops());
    tcp_reader *r = nullptr;
    s.emplace_reader<probed_tcp_reader>(&r, listen(), std::size_t(1000));
    EXPECT_EQ(r->get_max_size(), 1000u);
    // Too big by payload (size known from the pointers) ...
    auto big = heap_packet(2, std::string(5000, 'x'));
    // ... and too big by its pointers alone (200 pointers = 1608 bytes before any payload), whose
    // PAYLOAD_LENGTH is only found by scanning the pointers as they stream past.
    std::vector<item_pointer_t> many;
    for (int i = 0; i < 196; i++)
        many.push_back(imm(0x2000 + i, i));
    auto wide = make_packet(3, 0, std::string(300, 'y'), 300, many);
    ASSERT_EQ(wide.size(), 8u + 200 * 8 + 300);
    client cl("127.0.0.1", port);
    cl.send(heap_packet(1));
    cl.send_slowly(big, 700);
    cl.send_slowly(wide, 333);
    cl.send(heap_packet(4));
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"1:" + expected_items(1), "4:" + expected_items(4)}));
    EXPECT_EQ(r->get_oversized_packets(), 2u);
    EXPECT_EQ(r->get_bad_headers(), 0u);
    EXPECT_EQ(s.get_stats()["tcp_dropped"], 2u);
}

TEST_F(tcp_reader_fixture, framed_packet_that_does_not_decode_is_skipped)
{
    ring_stream<> s(tp, counting_drops());
    tcp_reader *r = nullptr;
    s.emplace_reader<probed_tcp_reader>(&r, listen());
    // Offset + length beyond HEAP_LENGTH: framed fine by PAYLOAD_LENGTH but rejected by decode.
    auto bad = make_packet(5, 8, "abcd", 4);
    client cl("127.0.0.1", port);
    cl.send(concat({bad, heap_packet(6)}));
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"6:" + expected_items(6)}));
    EXPECT_EQ(r->get_rejected_packets(), 1u);
    EXPECT_EQ(r->get_bad_headers(), 0u);
    EXPECT_EQ(s.get_stats()["tcp_dropped"], 1u);
}

TEST_F(tcp_reader_fixture, peer_closing_mid_packet_stops_stream)
{
    spead2::test::log_capture logs;
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_contiguous_only(false));
    s.emplace_reader<tcp_reader>(listen());
    auto second = make_packet(2, 0, "abcdefgh", 16, {addr(0x1000, 0)});
    client cl("127.0.0.1", port);
    cl.send(heap_packet(1));
    cl.send(bytes(second.begin(), second.begin() + 30));
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"1:" + expected_items(1)}));
    EXPECT_TRUE(s.is_stopped());
    bool found = false;
    for (const auto &m : logs.messages())
        if (m.second == "tcp_reader: connection closed in the middle of a packet (30 bytes discarded)")
            found = true;
    EXPECT_TRUE(found);
}

TEST_F(tcp_reader_fixture, partial_heap_flushed_when_peer_closes)
{
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_contiguous_only(false));
    s.emplace_reader<tcp_reader>(listen());
    client cl("127.0.0.1", port);
    cl.send(make_packet(9, 0, "abcd", 8, {addr(0x1000, 0)}));
    cl.close();
    live_heap h = s.pop_live();
    EXPECT_EQ(h.get_cnt(), 9);
    EXPECT_FALSE(h.is_complete());
    EXPECT_THROW(s.pop_live(), ringbuffer_stopped);
    EXPECT_EQ(s.get_stats().incomplete_heaps_flushed, 1u);
}

TEST_F(tcp_reader_fixture, user_acceptor_is_duplicated)
{
    ring_stream<> s(tp);
    s.emplace_reader<tcp_reader>(listen());
    // Our descriptor is ours to close; the reader listens on its duplicate.
    acceptor.close();
    client cl("127.0.0.1", port);
    cl.send(heap_packet(11));
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"11:" + expected_items(11)}));
}

TEST_F(tcp_reader_fixture, only_one_connection_is_accepted)
{
    ring_stream<> s(tp);
    s.emplace_reader<tcp_reader>(listen());
    acceptor.close();
    client first("127.0.0.1", port);
    first.send(heap_packet(1));
    // Once the first is being served the listener is closed, so a second client is refused.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    bool refused = false;
    while (!refused && std::chrono::steady_clock::now() < deadline)
    {
        try
        {
            client second("127.0.0.1", port);
            std::this_thread::sleep_for(10ms);
        }
        catch (std::system_error &e)
        {
            // A connection that reaches the listener while it closes is reset instead.
            EXPECT_TRUE(e.code() == asio::error::connection_refused ||
                        e.code() == asio::error::connection_reset)
                << e.code().message();
            refused = true;
        }
    }
    EXPECT_TRUE(refused);
    first.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"1:" + expected_items(1)}));
}

TEST_F(tcp_reader_fixture, explicit_start_delays_bind)
{
    ring_stream<> s(tp, stream_config().set_explicit_start(true));
    const std::uint16_t p = free_port();
    s.emplace_reader<tcp_reader>("127.0.0.1", p);
    EXPECT_THROW(client("127.0.0.1", p), std::system_error);
    s.start();
    client cl("127.0.0.1", p);
    cl.send(heap_packet(3));
    cl.close();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"3:" + expected_items(3)}));
}

TEST_F(tcp_reader_fixture, bind_failure_throws)
{
    listen();
    ring_stream<> s(tp);
    try
    {
        s.emplace_reader<tcp_reader>("127.0.0.1", port);
        FAIL() << "expected std::system_error";
    }
    catch (std::system_error &e)
    {
        EXPECT_EQ(e.code(), std::error_code(EADDRINUSE, std::system_category()));
        EXPECT_EQ(
            std::string(e.what()).find("tcp_reader: cannot listen on 127.0.0.1 port " + std::to_string(port)),
            0u)
            << e.what();
    }
}

TEST_F(tcp_reader_fixture, bad_arguments)
{
    ring_stream<> s(tp);
    EXPECT_THROW(s.emplace_reader<tcp_reader>("no.such.host.invalid", 1), std::invalid_argument);
    EXPECT_THROW(s.emplace_reader<tcp_reader>(-1), std::invalid_argument);
    EXPECT_THROW(s.emplace_reader<tcp_reader>(listen(), std::size_t(0)), std::invalid_argument);
    try
    {
        s.emplace_reader<tcp_reader>(1000000);
        FAIL() << "expected std::system_error";
    }
    catch (std::system_error &e)
    {
        EXPECT_EQ(e.code().value(), EBADF);
    }
}

TEST_F(tcp_reader_fixture, destroyed_while_waiting_for_connection)
{
    auto s = std::make_unique<ring_stream<>>(tp);
    s->emplace_reader<tcp_reader>(listen());
    std::this_thread::sleep_for(10ms);
    s.reset();                    // the pending accept must not touch the destroyed reader
    client cl("127.0.0.1", port); // the caller's listener still works
}

TEST_F(tcp_reader_fixture, user_stop_while_connected)
{
    ring_stream<> s(tp);
    s.emplace_reader<tcp_reader>(listen());
    client cl("127.0.0.1", port);
    cl.send(heap_packet(1));
    heap h = s.pop();
    EXPECT_EQ(h.get_cnt(), 1);
    s.stop();
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
}

TEST_F(tcp_reader_fixture, ipv6_loopback)
{
    if (!have_ipv6_loopback())
        GTEST_SKIP() << "no IPv6 loopback";
    {
        ring_stream<> s(tp);
        const std::uint16_t p = free_port("::1");
        s.emplace_reader<tcp_reader>("::1", p);
        client cl("::1", p);
        cl.send(heap_packet(1));
        cl.close();
        EXPECT_EQ(drain(s), (std::vector<std::string>{"1:" + expected_items(1)}));
    }
    {
        ring_stream<> s(tp);
        s.emplace_reader<tcp_reader>(listen("::1"));
        client cl("::1", port);
        cl.send(heap_packet(2));
        cl.close();
        EXPECT_EQ(drain(s), (std::vector<std::string>{"2:" + expected_items(2)}));
    }
}

} // namespace
} // namespace spead2::recv::test
