// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// udp_xdp_reader and udp_xdp_stream on a veth pair between two network namespaces
/// (netns_test_util.h). Senders run in the peer: a kernel UDP socket (udp_stream) and raw frames
/// through AF_PACKET. Skipped where namespaces or AF_XDP are not permitted.
#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <spead2/common/endian.h>
#include <spead2/common/thread_pool.h>
#include <spead2/protocol/udp_frame.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/udp_xdp_reader.h>
#include <spead2/recv/udp_reader.h>
#include <spead2/send/udp_stream.h>
#include <spead2/send/udp_xdp_stream.h>
#include "recv/test_packets.h"
#include "send/netns_test_util.h"
#include "send/send_test_util.h"

namespace spead2::send
{
namespace
{

using namespace test::netns;
using test::expect_heaps;
using test::in_peer;
using test::raw_sender;
using test::send_heaps;

TEST(udp_xdp, runs_in_private_netns)
{
    test::run_in_private_netns("*udp_xdp_netns.*", "");
}

class udp_xdp_netns : public ::testing::TestWithParam<recv::udp_xdp_config::attach_mode>
{
protected:
    thread_pool tp{1};

    void SetUp() override
    {
        if (!peer_netns())
            GTEST_SKIP() << "only runs inside the private namespace (see udp_xdp.runs_in_private_netns)";
        const int fd = ::socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0)
            GTEST_SKIP() << "this kernel has no AF_XDP sockets: " << std::strerror(errno);
        ::close(fd);
    }

    recv::udp_xdp_config config(const std::string &address, std::uint16_t port) const
    {
        recv::udp_xdp_config c;
        c.add_endpoint(address, port).set_interface_address(local_address).set_attach_mode(GetParam());
        // The peer's kernel spreads its flows over its two transmit queues, which arrive on our
        // receive queues 0 and 1 (our third queue gets nothing).
        c.set_queue_ids({0, 1});
        c.set_buffer_size(1024 * 1024);
        return c;
    }

    /// A kernel UDP sender in the peer to our address.
    std::unique_ptr<udp_stream> unicast_sender(std::uint16_t port)
    {
        std::unique_ptr<udp_stream> s;
        in_peer(
            [&]
            {
                s = std::make_unique<udp_stream>(
                    tp, std::vector<udp_stream::endpoint_spec>{{local_address, port}},
                    stream_config().set_max_heaps(16));
            });
        return s;
    }

    /// Adds a reader to @a rs; skips the test if this kernel has no AF_XDP.
    recv::udp_xdp_reader *add_reader(recv::ring_stream<> &rs, const recv::udp_xdp_config &c)
    {
        recv::udp_xdp_reader *out = nullptr;
        rs.emplace_reader<probed_reader>(&out, c);
        return out;
    }

    class probed_reader : public recv::udp_xdp_reader
    {
    public:
        probed_reader(recv::stream &owner, recv::udp_xdp_reader **out, const recv::udp_xdp_config &c)
            : udp_xdp_reader(owner, c)
        {
            *out = this;
        }
    };
};

TEST_P(udp_xdp_netns, unicast_from_kernel_sender)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    recv::udp_xdp_reader *reader = add_reader(rs, config(local_address, 8888));
    EXPECT_EQ(reader->get_interface_name(), local_if);
    EXPECT_EQ(reader->is_native(), GetParam() == recv::udp_xdp_config::attach_mode::native);
    auto s = unicast_sender(8888);
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
    EXPECT_EQ(reader->get_rejected_datagrams(), 0u);
    EXPECT_EQ(reader->get_kernel_drops(), 0u);
    // The stop heap stopped the stream, which let go of the interface: another reader can attach
    // while the first stream still exists.
    recv::ring_stream<> again(tp);
    add_reader(again, config(local_address, 8888));
}

TEST_P(udp_xdp_netns, multicast_from_kernel_sender)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.0.1", 8889));
    std::unique_ptr<udp_stream> s;
    in_peer(
        [&]
        {
            s = std::make_unique<udp_stream>(tp, std::vector<udp_stream::endpoint_spec>{{"239.10.0.1", 8889}},
                                             stream_config().set_max_heaps(16), 0, 1, peer_address);
        });
    send_heaps(*s, 4);
    expect_heaps(rs, 4);
}

TEST_P(udp_xdp_netns, other_traffic_reaches_the_kernel)
{
    recv::ring_stream<> rs(tp);
    add_reader(rs, config(local_address, 8888));
    // A ping (ARP first) and a TCP connection from the peer, answered by the kernel here.
    EXPECT_EQ(std::system(("ip netns exec " + std::string(peer_netns()) + " ping -c 1 -W 2 " + local_address +
                           " >/dev/null 2>&1")
                              .c_str()),
              0);
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(9999);
    ::inet_pton(AF_INET, local_address, &addr.sin_addr);
    ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    int client = -1;
    in_peer(
        [&]
        {
            client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (::connect(client, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) != 0)
                throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
        });
    ASSERT_EQ(::send(client, "hello", 5, 0), 5);
    const int conn = ::accept(listener, nullptr, nullptr);
    ASSERT_GE(conn, 0);
    char buffer[5];
    ASSERT_EQ(::recv(conn, buffer, 5, MSG_WAITALL), 5);
    EXPECT_EQ(std::string(buffer, 5), "hello");
    ::close(conn);
    ::close(client);
    ::close(listener);
}

TEST_P(udp_xdp_netns, bad_frames_are_counted_drops)
{
    recv::stream_config rconfig;
    rconfig.add_stat(recv::udp_dropped_stat_name);
    recv::ring_stream<> rs(tp, rconfig, recv::ring_stream_config().set_heaps(64));
    recv::udp_xdp_reader *reader = add_reader(rs, config(local_address, 8888));
    raw_sender raw;
    const frame::frame_headers h = test::peer_to_local_headers(8888);
    const auto build = test::build_frame;
    auto fix_checksum = [](std::vector<std::uint8_t> &f, std::size_t ip = 14)
    {
        const std::size_t ihl = std::size_t(f[ip] & 0xf) * 4;
        store_be<std::uint16_t>(&f[ip + 10], 0);
        store_be<std::uint16_t>(&f[ip + 10], std::uint16_t(~frame::ones_complement_sum(&f[ip], ihl)));
    };
    auto packet = [](s_item_pointer_t cnt)
    { return recv::test::make_packet(cnt, 0, "abcd", 4, {recv::test::addr(0x1000, 0)}); };

    auto bad_checksum = build(h, packet(2));
    bad_checksum[14 + 8]--; // TTL changed, checksum not
    auto fragment = build(h, packet(3));
    store_be<std::uint16_t>(&fragment[14 + 6], 0x2000);
    fix_checksum(fragment);
    auto options = build(h, packet(4));
    options.insert(options.begin() + 34, 4, 0);
    options[14] = 0x46;
    store_be<std::uint16_t>(&options[16], std::uint16_t(options.size() - 14));
    fix_checksum(options);
    frame::frame_headers tagged_headers = h;
    tagged_headers.vlan = 5;
    auto tagged = build(tagged_headers, packet(5));
    auto long_udp = build(h, packet(6));
    store_be<std::uint16_t>(&long_udp[34 + 4], 1000);
    auto long_ip = build(h, packet(7));
    store_be<std::uint16_t>(&long_ip[16], 1400);
    fix_checksum(long_ip);
    auto not_spead = build(h, recv::test::bytes(40, 0x11));

    for (const auto *f : {&bad_checksum, &fragment, &options, &tagged, &long_udp, &long_ip, &not_spead})
        raw.send(*f);
    raw.send(build(h, packet(1)));
    recv::heap got = rs.pop();
    EXPECT_EQ(got.get_cnt(), 1);
    using frame::drop_reason;
    // The veth peer spreads frames over the reader's two queues by flow hash (a fragment hashes
    // without ports), and the queues are served independently: heap 1 can overtake a bad frame.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto total_drops = [&]
    {
        std::uint64_t total = reader->get_rejected_datagrams();
        for (std::size_t r = 1; r < frame::drop_reason_count; r++)
            total += reader->get_dropped_frames(drop_reason(r));
        return total;
    };
    while (total_drops() < 7 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(reader->get_dropped_frames(drop_reason::ip_checksum), 1u);
    EXPECT_EQ(reader->get_dropped_frames(drop_reason::fragment), 1u);
    EXPECT_EQ(reader->get_dropped_frames(drop_reason::ip_options), 1u);
    EXPECT_EQ(reader->get_dropped_frames(drop_reason::vlan), 1u);
    EXPECT_EQ(reader->get_dropped_frames(drop_reason::bad_udp_length), 1u);
    EXPECT_EQ(reader->get_dropped_frames(drop_reason::runt), 1u);
    EXPECT_EQ(reader->get_rejected_datagrams(), 1u);
    // Frames for another port are not ours: they reach the kernel, and the reader never sees them.
    frame::frame_headers other = h;
    other.dst_port = 7777;
    raw.send(build(other, packet(8)));
    raw.send(build(h, packet(9)));
    EXPECT_EQ(rs.pop().get_cnt(), 9);
    EXPECT_EQ(reader->get_rejected_datagrams(), 1u);
    // Statistics are published when a batch ends, which may be after the heap was pushed.
    const auto stats_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (rs.get_stats()["udp_dropped"] < 7u && std::chrono::steady_clock::now() < stats_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(rs.get_stats()["udp_dropped"], 7u);
}

TEST_P(udp_xdp_netns, oversized_frames_are_counted_drops)
{
    // A datagram for us that does not fit a UMEM frame (jumbo MTU) is dropped by the kernel and
    // counted; the reader carries on. Native XDP on veth refuses an MTU above one page.
    if (GetParam() != recv::udp_xdp_config::attach_mode::generic)
        GTEST_SKIP() << "native XDP on veth needs an MTU that fits one page";
    const std::string peer = peer_netns();
    auto set_mtu = [&](int mtu)
    {
        const std::string cmd = "ip link set dev " + std::string(local_if) + " mtu " + std::to_string(mtu) +
                                " && ip -n " + peer + " link set dev " + peer_if + " mtu " +
                                std::to_string(mtu);
        return std::system(cmd.c_str());
    };
    ASSERT_EQ(set_mtu(9000), 0);
    struct restore_mtu
    {
        std::function<int(int)> set;
        ~restore_mtu() { set(1500); }
    } restore{set_mtu};

    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    recv::udp_xdp_reader *reader = add_reader(rs, config(local_address, 8888));
    raw_sender raw;
    const frame::frame_headers h = test::peer_to_local_headers(8888);
    auto build = [&](const recv::test::bytes &payload) { return test::build_frame(h, payload); };
    const std::string big(6000, 'x');
    raw.send(build(
        recv::test::make_packet(1, 0, big, s_item_pointer_t(big.size()), {recv::test::addr(0x1000, 0)})));
    raw.send(build(recv::test::make_packet(2, 0, "abcd", 4, {recv::test::addr(0x1000, 0)})));
    EXPECT_EQ(rs.pop().get_cnt(), 2);
    EXPECT_EQ(reader->get_kernel_drops(), 1u);
    EXPECT_EQ(reader->get_rejected_datagrams(), 0u);
}

/// An AF_XDP sender in the peer, out of its end of the veth pair.
std::unique_ptr<udp_xdp_stream>
make_xdp_sender(thread_pool &tp, const std::string &address, std::uint16_t port,
                const stream_config &config = stream_config().set_max_heaps(16), std::uint32_t queue = 0)
{
    std::unique_ptr<udp_xdp_stream> s;
    in_peer(
        [&]
        {
            udp_xdp_config c;
            c.add_endpoint(address, port).set_interface_address(peer_address).set_buffer_size(1024 * 1024);
            c.set_queue_id(queue);
            s = std::make_unique<udp_xdp_stream>(tp, config, c);
        });
    return s;
}

TEST_P(udp_xdp_netns, xdp_sender_to_kernel_reader)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    rs.emplace_reader<recv::udp_reader>(local_address, 8891);
    auto s = make_xdp_sender(tp, local_address, 8891); // resolves our MAC address through ARP
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
}

TEST_P(udp_xdp_netns, xdp_sender_to_xdp_reader_multicast)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.0.2", 8892));
    auto s = make_xdp_sender(tp, "239.10.0.2", 8892);
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
}

/// Sends heaps with cnt @a first .. @a last and, if @a end, a stop heap.
void send_numbered(stream &s, int first, int last, bool end)
{
    std::vector<std::uint8_t> data(5000);
    std::vector<heap> heaps(std::size_t(last - first + 2));
    test::completion_log log;
    std::size_t n = 0;
    for (int cnt = first; cnt <= last; cnt++, n++)
    {
        heaps[n].add_item(0x1000, data.data(), data.size(), false);
        ASSERT_TRUE(s.async_send_heap(heaps[n], log.handler(cnt), cnt));
    }
    if (end)
    {
        heaps[n].add_end();
        ASSERT_TRUE(s.async_send_heap(heaps[n], log.handler(0), 1000));
        n++;
    }
    for (const auto &e : log.wait(n))
        EXPECT_FALSE(e.ec) << e.ec.message();
}

std::vector<s_item_pointer_t> received_cnts(recv::ring_stream<> &rs)
{
    std::vector<s_item_pointer_t> cnts;
    try
    {
        while (true)
            cnts.push_back(rs.pop().get_cnt());
    }
    catch (ringbuffer_stopped &)
    {
    }
    std::sort(cnts.begin(), cnts.end());
    return cnts;
}

/// SO_BUSY_POLL and SO_PREFER_BUSY_POLL of each AF_XDP socket this process has open.
std::vector<std::pair<int, int>> xdp_busy_poll_options()
{
    std::vector<std::pair<int, int>> out;
    for (int fd = 0; fd < 1024; fd++)
    {
        int domain = 0, busy_poll = -1, prefer = -1;
        socklen_t length = sizeof(int);
        if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) < 0 || domain != AF_XDP)
            continue;
        ::getsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &busy_poll, &length);
        ::getsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &prefer, &length);
        out.emplace_back(busy_poll, prefer);
    }
    return out;
}

TEST_P(udp_xdp_netns, busy_polling)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    auto c = config(local_address, 8895);
    c.set_busy_poll(50); // max_poll stays 0: one busy poll before each sleep all the same
    add_reader(rs, c);
    EXPECT_EQ(xdp_busy_poll_options(), (std::vector<std::pair<int, int>>{{50, 1}, {50, 1}}));
    auto s = unicast_sender(8895);
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
}

TEST_P(udp_xdp_netns, several_queues)
{
    // The veth pair has two queues each way; an AF_XDP sender on the peer's queue q arrives on
    // our queue q. A reader on queue 1 alone proves the steering; one on both gets everything.
    if (GetParam() != recv::udp_xdp_config::attach_mode::native)
        GTEST_SKIP() << "veth records the receive queue only with native XDP (generic sees queue 0)";
    {
        recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
        auto c = config("239.10.0.3", 8893);
        c.set_queue_ids({1});
        add_reader(rs, c);
        auto s1 = make_xdp_sender(tp, "239.10.0.3", 8893, stream_config().set_max_heaps(16), 1);
        send_numbered(*s1, 1, 3, true);
        EXPECT_EQ(received_cnts(rs), (std::vector<s_item_pointer_t>{1, 2, 3}));
    }
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    auto c = config("239.10.0.3", 8894);
    c.set_queue_ids({0, 1});
    recv::udp_xdp_reader *reader = add_reader(rs, c);
    auto s0 = make_xdp_sender(tp, "239.10.0.3", 8894, stream_config().set_max_heaps(16), 0);
    auto s1 = make_xdp_sender(tp, "239.10.0.3", 8894, stream_config().set_max_heaps(16), 1);
    send_numbered(*s0, 1, 3, false);
    send_numbered(*s1, 4, 6, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // both queues drained first
    send_numbered(*s0, 7, 7, true);
    EXPECT_EQ(received_cnts(rs), (std::vector<s_item_pointer_t>{1, 2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(reader->get_kernel_drops(), 0u);
}

TEST_P(udp_xdp_netns, xdp_sender_refuses_packets_beyond_the_mtu)
{
    auto s = make_xdp_sender(tp, local_address, 8891, stream_config().set_max_packet_size(1500));
    std::vector<std::uint8_t> data(4000);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    test::completion_log log;
    ASSERT_TRUE(s->async_send_heap(h, log.handler(0)));
    const auto results = log.wait(1);
    EXPECT_EQ(results[0].ec, std::error_code(EMSGSIZE, std::system_category())) << results[0].ec.message();
}

TEST_P(udp_xdp_netns, one_reader_per_queue_and_one_program_per_interface)
{
    recv::ring_stream<> rs(tp);
    add_reader(rs, config(local_address, 8888));
    auto expect_refused = [&](const recv::udp_xdp_config &c, const std::string &reason)
    {
        recv::ring_stream<> rs2(tp);
        try
        {
            add_reader(rs2, c);
            FAIL() << "expected std::runtime_error";
        }
        catch (std::runtime_error &e)
        {
            EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
        }
    };
    expect_refused(config(local_address, 8890).set_queue_id(1),
                   "queue 1 of spead2x0 is in use by another AF_XDP socket");
    // Our end has a third receive queue: it is free, but the interface has a program.
    expect_refused(config(local_address, 8890).set_queue_id(2), "spead2x0 already has an XDP program");
}

std::string mode_name(const ::testing::TestParamInfo<recv::udp_xdp_config::attach_mode> &param_info)
{
    return param_info.param == recv::udp_xdp_config::attach_mode::native ? "native" : "generic";
}

INSTANTIATE_TEST_SUITE_P(modes, udp_xdp_netns,
                         ::testing::Values(recv::udp_xdp_config::attach_mode::generic,
                                           recv::udp_xdp_config::attach_mode::native),
                         mode_name);

TEST(udp_xdp_config, validation)
{
    recv::udp_xdp_config c;
    EXPECT_EQ(c.get_queue_ids(), (std::vector<std::uint32_t>{0}));
    EXPECT_THROW(c.set_queue_ids({}), std::invalid_argument);
    EXPECT_THROW(c.set_queue_ids({1, 2, 1}), std::invalid_argument);
    c.set_queue_ids({3, 1});
    EXPECT_EQ(c.get_queue_id(), 3u);
    c.set_queue_id(0);
    EXPECT_EQ(c.get_queue_ids(), (std::vector<std::uint32_t>{0}));
    EXPECT_THROW(c.add_endpoint("::1", 8888), std::invalid_argument);
    EXPECT_THROW(c.set_interface_address("::1"), std::invalid_argument);
    EXPECT_THROW(c.set_buffer_size(0), std::invalid_argument);
    EXPECT_THROW(c.set_max_poll(-1), std::invalid_argument);
    EXPECT_THROW(c.set_busy_poll(-1), std::invalid_argument);
    EXPECT_EQ(c.get_busy_poll(), 0);
    thread_pool tp(1);
    recv::ring_stream<> rs(tp);
    try
    {
        rs.emplace_reader<recv::udp_xdp_reader>(c);
        FAIL() << "expected std::invalid_argument";
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "endpoints is empty");
    }
    c.add_endpoint("239.1.2.3", 8888);
    try
    {
        rs.emplace_reader<recv::udp_xdp_reader>(c);
        FAIL() << "expected std::invalid_argument";
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "interface address has not been set");
    }
    c.set_interface_address("192.0.2.77"); // TEST-NET-1: on no interface here
    try
    {
        rs.emplace_reader<recv::udp_xdp_reader>(c);
        FAIL() << "expected std::invalid_argument";
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "no interface has address 192.0.2.77");
    }
}

} // namespace
} // namespace spead2::send

#endif // SPEAD2_USE_XDP
