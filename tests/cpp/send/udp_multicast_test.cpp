// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Multicast through udp_stream and udp_reader, only inside a private network namespace: the
/// launcher test re-runs this binary under `unshare -n` (skipped when that is not permitted), so
/// no traffic ever reaches the host's interfaces.
#include <cstdlib>
#include <string>
#include <vector>
#include <net/if.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/udp_reader.h>
#include <spead2/send/udp_stream.h>
#include "send/netns_test_util.h"
#include "send/send_test_util.h"

namespace spead2::send
{
namespace
{

constexpr const char *netns_env = "SPEAD2_TEST_IN_NETNS";

bool in_netns()
{
    const char *v = std::getenv(netns_env);
    return v && std::string(v) == "1";
}

TEST(udp_multicast, runs_in_private_netns)
{
    if (in_netns())
        GTEST_SKIP() << "already inside the namespace";
    if (std::system("unshare -n true >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "unshare -n is not permitted here; multicast tests not run";
    // Linux does not loop IPv6 multicast back on lo, so IPv6 uses a veth pair that exists only
    // inside the namespace (optional: the IPv6 test skips without it). Wait for its link-local
    // address to leave the tentative state, or the kernel has no source address to send from.
    const std::string veth_setup =
        "{ ip link add spead2v0 type veth peer name spead2v1 && ip link set spead2v0 up && "
        "ip link set spead2v1 up && for i in $(seq 100); do "
        "ip -6 -o addr show dev spead2v0 scope link | grep -v tentative | grep -q inet6 && break; "
        "sleep 0.05; done; }";
    const std::string self = "/proc/" + std::to_string(::getpid()) + "/exe";
    const std::string cmd = "unshare -n sh -c 'ip link set lo up && ip link set lo multicast on && "
                            "ip route add 224.0.0.0/4 dev lo && " +
                            veth_setup + " ; " + std::string(netns_env) + "=1 exec timeout 60 " + self +
                            " --gtest_filter=udp_multicast_netns.*' >/dev/null 2>&1";
    EXPECT_EQ(test::run_relaying_output(cmd), 0)
        << "multicast tests failed inside the namespace; run " << cmd;
}

class udp_multicast_netns : public ::testing::Test
{
protected:
    void SetUp() override
    {
        if (!in_netns())
            GTEST_SKIP()
                << "only runs inside the private namespace (see udp_multicast.runs_in_private_netns)";
    }

    /// Sends one heap with @a s and checks @a rs receives it (then a stop heap).
    static void round_trip(stream &s, recv::ring_stream<> &rs)
    {
        std::vector<std::uint8_t> data(3000);
        for (std::size_t i = 0; i < data.size(); i++)
            data[i] = std::uint8_t(i);
        heap h, end;
        h.add_item(0x1000, data.data(), data.size(), false);
        end.add_end();
        test::completion_log log;
        ASSERT_TRUE(s.async_send_heap(h, log.handler(0), 1));
        ASSERT_TRUE(s.async_send_heap(end, log.handler(1), 2));
        for (const auto &e : log.wait(2))
            EXPECT_FALSE(e.ec) << e.ec.message();
        recv::heap got = rs.pop();
        EXPECT_EQ(got.get_cnt(), 1);
        ASSERT_EQ(got.get_items().size(), 1u);
        const auto &it = got.get_items()[0];
        EXPECT_EQ(std::vector<std::uint8_t>(it.ptr, it.ptr + it.length), data);
        EXPECT_THROW(rs.pop(), ringbuffer_stopped);
    }
};

TEST_F(udp_multicast_netns, ipv4_default_interface)
{
    thread_pool tp(1);
    recv::ring_stream<> rs(tp);
    rs.emplace_reader<recv::udp_reader>("239.255.10.1", 18881, 9200, 0);
    udp_stream s(tp, {{"239.255.10.1", 18881}}, stream_config(), 0, 1);
    round_trip(s, rs);
}

TEST_F(udp_multicast_netns, ipv4_interface_address)
{
    thread_pool tp(1);
    recv::ring_stream<> rs(tp);
    rs.emplace_reader<recv::udp_reader>("239.255.10.2", 18882, 9200, 0, "127.0.0.1");
    udp_stream s(tp, {{"239.255.10.2", 18882}}, stream_config(), 0, 1, "127.0.0.1");
    round_trip(s, rs);
}

TEST_F(udp_multicast_netns, ipv6_interface_index)
{
    const unsigned int veth = if_nametoindex("spead2v0");
    if (veth == 0)
        GTEST_SKIP() << "no veth pair in the namespace (veth not available)";
    thread_pool tp(1);
    recv::ring_stream<> rs(tp);
    rs.emplace_reader<recv::udp_reader>("ff15::1234", 18883, 9200, 0, veth);
    udp_stream s(tp, {{"ff15::1234", 18883}}, stream_config(), 0, 1, veth);
    round_trip(s, rs);
}

} // namespace
} // namespace spead2::send
