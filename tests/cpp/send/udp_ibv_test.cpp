// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// udp_ibv_reader and udp_ibv_stream against the emulated verbs provider (tests/fake_verbs,
/// loaded through SPEAD2_IBV_LIBRARY), on a veth pair between two network namespaces
/// (netns_test_util.h). The whole transport runs: device lookup through the connection manager,
/// registered memory, raw-packet queue pairs, flow rules, completion channels. Skipped where
/// namespaces are not permitted.
#include <spead2/features.h>
#if SPEAD2_USE_IBV

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <asio.hpp>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/udp_ibv_reader.h>
#include <spead2/recv/udp_reader.h>
#include <spead2/send/udp_ibv_stream.h>
#include <spead2/send/udp_stream.h>
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

TEST(udp_ibv, runs_in_private_netns)
{
    test::run_in_private_netns("*udp_ibv_netns.*",
                               std::string("SPEAD2_IBV_LIBRARY=") + SPEAD2_FAKE_VERBS_PATH);
}

/// Sets an environment variable of the fake provider for one scope.
class scoped_env
{
    std::string name_;

public:
    scoped_env(const std::string &name, const std::string &value)
        : name_(name)
    {
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~scoped_env() { ::unsetenv(name_.c_str()); }
};

class udp_ibv_netns : public ::testing::Test
{
protected:
    thread_pool tp{1};

    void SetUp() override
    {
        if (!peer_netns())
            GTEST_SKIP() << "only runs inside the private namespace (see udp_ibv.runs_in_private_netns)";
    }

    void TearDown() override
    {
        if (!peer_netns())
            return;
        // Every test's verbs objects are gone by now, each destroyed before what it used (the
        // fake refuses, and counts, any other order).
        if (void *fake = ::dlopen(SPEAD2_FAKE_VERBS_PATH, RTLD_NOW | RTLD_NOLOAD))
        {
            auto errors =
                reinterpret_cast<std::uint64_t (*)()>(::dlsym(fake, "spead2_fake_verbs_teardown_errors"));
            ASSERT_NE(errors, nullptr);
            EXPECT_EQ(errors(), 0u);
            ::dlclose(fake);
        }
    }

    static recv::udp_ibv_config config(const std::string &address, std::uint16_t port)
    {
        recv::udp_ibv_config c;
        c.add_endpoint(address, port).set_interface_address(local_address).set_buffer_size(1024 * 1024);
        return c;
    }

    class probed_reader : public recv::udp_ibv_reader
    {
    public:
        probed_reader(recv::stream &owner, recv::udp_ibv_reader **out, const recv::udp_ibv_config &c)
            : udp_ibv_reader(owner, c)
        {
            *out = this;
        }
    };

    static recv::udp_ibv_reader *add_reader(recv::ring_stream<> &rs, const recv::udp_ibv_config &c)
    {
        recv::udp_ibv_reader *out = nullptr;
        rs.emplace_reader<probed_reader>(&out, c);
        return out;
    }

    /// A kernel UDP sender in the peer.
    std::unique_ptr<udp_stream> kernel_sender(const std::string &address, std::uint16_t port,
                                              const stream_config &sc = stream_config().set_max_heaps(16))
    {
        std::unique_ptr<udp_stream> s;
        in_peer(
            [&]
            {
                const std::vector<udp_stream::endpoint_spec> endpoints{{address, port}};
                if (address.rfind("239.", 0) == 0)
                    s = std::make_unique<udp_stream>(tp, endpoints, sc, 0, 1, peer_address);
                else
                    s = std::make_unique<udp_stream>(tp, endpoints, sc);
            });
        return s;
    }

    /// An ibverbs sender in the peer, out of its end of the veth pair.
    std::unique_ptr<udp_ibv_stream> ibv_sender(const udp_ibv_config &c,
                                               const stream_config &sc = stream_config().set_max_heaps(16))
    {
        std::unique_ptr<udp_ibv_stream> s;
        in_peer([&] { s = std::make_unique<udp_ibv_stream>(tp, sc, c); });
        return s;
    }

    static udp_ibv_config send_config(const std::string &group, std::uint16_t port)
    {
        udp_ibv_config c;
        c.add_endpoint(group, port).set_interface_address(peer_address);
        return c;
    }
};

TEST_F(udp_ibv_netns, unicast_from_kernel_sender)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    recv::udp_ibv_reader *reader = add_reader(rs, config(local_address, 8888));
    EXPECT_EQ(reader->get_slots(), 1024u * 1024u / recv::udp_ibv_config::default_max_size);
    auto s = kernel_sender(local_address, 8888);
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
    EXPECT_EQ(reader->get_rejected_datagrams(), 0u);
    EXPECT_EQ(reader->get_completion_errors(), 0u);
}

TEST_F(udp_ibv_netns, busy_polling_without_interrupts)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.1", 8889).set_comp_vector(-1));
    auto s = kernel_sender("239.10.1.1", 8889);
    send_heaps(*s, 4);
    expect_heaps(rs, 4);
}

TEST_F(udp_ibv_netns, sleeps_on_the_channel_and_wakes)
{
    // One poll, then the reader arms the channel and sleeps; heaps come well after that.
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.2", 8890).set_max_poll(1));
    auto s = kernel_sender("239.10.1.2", 8890);
    for (int round = 0; round < 3; round++)
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::vector<std::uint8_t> data(100, std::uint8_t(round));
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        test::completion_log log;
        ASSERT_TRUE(s->async_send_heap(h, log.handler(0), round + 1));
        log.wait(1);
        EXPECT_EQ(rs.pop().get_cnt(), round + 1);
    }
}

TEST_F(udp_ibv_netns, steering_selects_exactly_the_endpoints)
{
    // Rules for a group on one port and for our own address on another: frames to the same
    // group on another port, to another group, or to our address on the group's port are not ours.
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    auto c = config("239.10.1.3", 8891);
    c.add_endpoint(local_address, 8892);
    add_reader(rs, c);
    auto send_one = [&](const std::string &address, std::uint16_t port, int cnt, bool end = false)
    {
        auto s = kernel_sender(address, port);
        std::vector<std::uint8_t> data(64, 1);
        heap h;
        if (end)
            h.add_end();
        else
            h.add_item(0x1000, data.data(), data.size(), false);
        test::completion_log log;
        ASSERT_TRUE(s->async_send_heap(h, log.handler(0), cnt));
        log.wait(1);
    };
    send_one("239.10.1.3", 8891, 1);
    send_one("239.10.1.3", 9999, 2);
    send_one("239.10.1.4", 8891, 3);
    send_one(local_address, 8891, 4);
    send_one(local_address, 8892, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    send_one("239.10.1.3", 8891, 6, true);
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
    EXPECT_EQ(cnts, (std::vector<s_item_pointer_t>{1, 5}));
}

TEST_F(udp_ibv_netns, slots_are_recycled)
{
    // Four slots, forty heaps, each sent once the reader has delivered the one before (a fixed
    // pace is not enough on a loaded machine): every slot is reposted, no frame finds none.
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    auto c = config(local_address, 8893);
    c.set_max_size(2048).set_buffer_size(4 * 2048);
    recv::udp_ibv_reader *reader = add_reader(rs, c);
    void *fake = ::dlopen(SPEAD2_FAKE_VERBS_PATH, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(fake, nullptr);
    auto no_buffer = reinterpret_cast<std::uint64_t (*)()>(::dlsym(fake, "spead2_fake_verbs_rx_no_buffer"));
    ASSERT_NE(no_buffer, nullptr);
    const std::uint64_t no_buffer_before = no_buffer();
    EXPECT_EQ(reader->get_slots(), 4u);
    auto s = kernel_sender(local_address, 8893);
    std::vector<std::uint8_t> data(1000, 7);
    for (int i = 1; i <= 40; i++)
    {
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        if (i == 40)
            h.add_end();
        test::completion_log log;
        ASSERT_TRUE(s->async_send_heap(h, log.handler(0), i));
        log.wait(1);
        // The last heap carries the end of the stream, which stops it rather than arriving.
        if (i < 40)
        {
            ASSERT_EQ(rs.pop().get_cnt(), i);
        }
    }
    EXPECT_THROW(rs.pop(), ringbuffer_stopped);
    EXPECT_EQ(reader->get_completion_errors(), 0u);
    EXPECT_EQ(no_buffer(), no_buffer_before);
    ::dlclose(fake);
}

TEST_F(udp_ibv_netns, frames_longer_than_a_slot_are_completion_errors)
{
    recv::stream_config rconfig;
    rconfig.add_stat(recv::udp_dropped_stat_name);
    recv::ring_stream<> rs(tp, rconfig, recv::ring_stream_config().set_heaps(64));
    auto c = config(local_address, 8894);
    c.set_max_size(1024);
    recv::udp_ibv_reader *reader = add_reader(rs, c);
    auto s = kernel_sender(local_address, 8894, stream_config().set_max_packet_size(1400));
    std::vector<std::uint8_t> big(1300, 1), small(100, 2);
    heap h1, h2;
    h1.add_item(0x1000, big.data(), big.size(), false);
    h2.add_item(0x1000, small.data(), small.size(), false);
    test::completion_log log;
    ASSERT_TRUE(s->async_send_heap(h1, log.handler(0), 1));
    ASSERT_TRUE(s->async_send_heap(h2, log.handler(1), 2));
    log.wait(2);
    EXPECT_EQ(rs.pop().get_cnt(), 2);
    EXPECT_EQ(reader->get_completion_errors(), 1u);
    // Statistics are published when a batch ends, which may be after the heap was pushed.
    const auto stats_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (rs.get_stats()["udp_dropped"] < 1u && std::chrono::steady_clock::now() < stats_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(rs.get_stats()["udp_dropped"], 1u);
}

TEST_F(udp_ibv_netns, bad_frames_are_counted_drops)
{
    recv::stream_config rconfig;
    rconfig.add_stat(recv::udp_dropped_stat_name);
    recv::ring_stream<> rs(tp, rconfig, recv::ring_stream_config().set_heaps(64));
    recv::udp_ibv_reader *reader = add_reader(rs, config(local_address, 8895));
    raw_sender raw;
    const frame::frame_headers h = test::peer_to_local_headers(8895);
    auto build = [&](const recv::test::bytes &payload) { return test::build_frame(h, payload); };
    auto packet = [](s_item_pointer_t cnt)
    { return recv::test::make_packet(cnt, 0, "abcd", 4, {recv::test::addr(0x1000, 0)}); };
    auto bad_checksum = build(packet(2));
    bad_checksum[14 + 8]--;
    raw.send(bad_checksum);
    raw.send(build(recv::test::bytes(40, 0x11)));
    raw.send(build(packet(1)));
    EXPECT_EQ(rs.pop().get_cnt(), 1);
    EXPECT_EQ(reader->get_dropped_frames(frame::drop_reason::ip_checksum), 1u);
    EXPECT_EQ(reader->get_rejected_datagrams(), 1u);
    // Statistics are published when a batch ends, which may be after the heap was pushed.
    const auto stats_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (rs.get_stats()["udp_dropped"] < 2u && std::chrono::steady_clock::now() < stats_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(rs.get_stats()["udp_dropped"], 2u);
}

TEST_F(udp_ibv_netns, device_limits_reduce_the_buffer)
{
    scoped_env env("SPEAD2_FAKE_VERBS_MAX_WR", "64");
    recv::ring_stream<> rs(tp);
    auto c = config(local_address, 8896);
    c.set_buffer_size(16 * 1024 * 1024);
    EXPECT_EQ(add_reader(rs, c)->get_slots(), 64u);
}

TEST_F(udp_ibv_netns, verbs_failures_are_reported)
{
    struct expectation
    {
        const char *call;
        const char *message;
    };
    const expectation cases[] = {
        {"rdma_create_event_channel:12", "rdma_create_event_channel failed: Cannot allocate memory"},
        {"rdma_create_id:12", "rdma_create_id failed: Cannot allocate memory"},
        {"rdma_bind_addr:19",
         "no RDMA device has interface address 10.99.0.1 (rdma_bind_addr: No such device)"},
        {"ibv_query_device:5", "ibv_query_device failed: Input/output error"},
        {"ibv_alloc_pd:12", "ibv_alloc_pd failed: Cannot allocate memory"},
        {"ibv_reg_mr:14", "ibv_reg_mr failed: Bad address"},
        {"ibv_create_comp_channel:24", "ibv_create_comp_channel failed: Too many open files"},
        {"ibv_create_cq:12", "ibv_create_cq failed: Cannot allocate memory"},
        {"ibv_create_qp:1",
         "ibv_create_qp failed: Operation not permitted (raw-packet queue pairs need CAP_NET_RAW)"},
        {"ibv_modify_qp:22", "ibv_modify_qp (INIT) failed: Invalid argument"},
        {"ibv_post_recv:12", "ibv_post_recv failed: Cannot allocate memory"},
        {"ibv_create_flow:95", "ibv_create_flow failed: Operation not supported"},
    };
    for (const auto &e : cases)
    {
        scoped_env env("SPEAD2_FAKE_VERBS_FAIL", e.call);
        recv::ring_stream<> rs(tp);
        try
        {
            add_reader(rs, config(local_address, 8897));
            ADD_FAILURE() << "no error with " << e.call;
        }
        catch (std::runtime_error &error)
        {
            EXPECT_EQ(std::string(error.what()), e.message) << e.call;
        }
    }
    // Nothing was left behind: the next reader gets the device.
    recv::ring_stream<> rs(tp);
    add_reader(rs, config(local_address, 8897));
}

TEST_F(udp_ibv_netns, unknown_interface_address)
{
    recv::ring_stream<> rs(tp);
    auto c = config(local_address, 8898);
    c.set_interface_address("10.99.0.77");
    try
    {
        add_reader(rs, c);
        ADD_FAILURE() << "no error";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_EQ(std::string(e.what()), "no RDMA device has interface address 10.99.0.77 (rdma_bind_addr: "
                                         "Cannot assign requested address)");
    }
}

TEST_F(udp_ibv_netns, ibv_sender_to_kernel_reader)
{
    // The reader lives here and joins the group on our end; the sender is the peer's.
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    rs.emplace_reader<recv::udp_reader>("239.10.1.5", 8899, recv::udp_reader::default_max_size,
                                        recv::udp_reader::default_buffer_size, std::string(local_address));
    auto s = ibv_sender(send_config("239.10.1.5", 8899));
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
}

TEST_F(udp_ibv_netns, ibv_sender_to_ibv_reader)
{
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    recv::udp_ibv_reader *reader = add_reader(rs, config("239.10.1.6", 8900));
    auto s = ibv_sender(send_config("239.10.1.6", 8900));
    send_heaps(*s, 6);
    expect_heaps(rs, 6);
    EXPECT_EQ(reader->get_completion_errors(), 0u);
}

TEST_F(udp_ibv_netns, registered_memory_is_sent_in_place)
{
    // Item payloads in a registered region go out as their own scatter-gather entries; the
    // fake checks each against the region's key and bounds, so a wrong key would fail the send.
    std::vector<std::uint8_t> region(100000);
    for (std::size_t i = 0; i < region.size(); i++)
        region[i] = std::uint8_t(i * 13);
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.7", 8901));
    auto c = send_config("239.10.1.7", 8901);
    c.add_memory_region(region.data(), region.size());
    auto s = ibv_sender(c);
    std::vector<std::uint8_t> outside(3000, 0x5a);
    heap h;
    h.add_item(0x1000, region.data() + 5, 20000, false);
    h.add_item(0x1001, outside.data(), outside.size(), false);
    h.add_item(0x1002, region.data() + 50000, 777, false);
    heap end;
    end.add_end();
    test::completion_log log;
    ASSERT_TRUE(s->async_send_heap(h, log.handler(0), 1));
    ASSERT_TRUE(s->async_send_heap(end, log.handler(1), 2));
    for (const auto &e : log.wait(2))
        EXPECT_FALSE(e.ec) << e.ec.message();
    recv::heap got = rs.pop();
    ASSERT_EQ(got.get_items().size(), 3u);
    EXPECT_TRUE(std::equal(region.begin() + 5, region.begin() + 20005, got.get_items()[0].ptr));
    EXPECT_TRUE(std::equal(outside.begin(), outside.end(), got.get_items()[1].ptr));
    EXPECT_TRUE(std::equal(region.begin() + 50000, region.begin() + 50777, got.get_items()[2].ptr));
}

TEST_F(udp_ibv_netns, sender_refuses_packets_beyond_the_mtu)
{
    auto s = ibv_sender(send_config("239.10.1.8", 8902), stream_config().set_max_packet_size(4000));
    std::vector<std::uint8_t> data(3500);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    test::completion_log log;
    ASSERT_TRUE(s->async_send_heap(h, log.handler(0)));
    const auto results = log.wait(1);
    EXPECT_EQ(results[0].ec, std::error_code(EMSGSIZE, std::system_category())) << results[0].ec.message();
}

TEST_F(udp_ibv_netns, sender_with_a_small_buffer_waits_for_completions)
{
    // Two send slots for many packets: the sender waits on the completion channel for slots.
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.9", 8903));
    auto c = send_config("239.10.1.9", 8903);
    c.set_buffer_size(2 * 1514).set_max_poll(1);
    auto s = ibv_sender(c);
    send_heaps(*s, 3);
    expect_heaps(rs, 3);
}

TEST_F(udp_ibv_netns, ibv_interface_variable_turns_udp_readers_into_ibverbs)
{
    scoped_env iface("SPEAD2_IBV_INTERFACE", local_address);
    {
        // Made through ibverbs: the fake's refusal to make a queue pair says so.
        scoped_env fail("SPEAD2_FAKE_VERBS_FAIL", "ibv_create_qp:12");
        recv::ring_stream<> rs(tp);
        EXPECT_THROW(rs.emplace_reader<recv::udp_reader>(std::string(local_address), 8904),
                     std::runtime_error);
        scoped_env vector("SPEAD2_IBV_COMP_VECTOR", "x");
        EXPECT_THROW(rs.emplace_reader<recv::udp_reader>(std::string(local_address), 8904),
                     std::invalid_argument);
    }
    // The whole path: a kernel sender's heaps arrive through the ibverbs reader, with busy polling.
    scoped_env vector("SPEAD2_IBV_COMP_VECTOR", "-1");
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    rs.emplace_reader<recv::udp_reader>("239.10.1.10", 8905, recv::udp_reader::default_max_size,
                                        recv::udp_reader::default_buffer_size, std::string());
    auto s = kernel_sender("239.10.1.10", 8905);
    send_heaps(*s, 3);
    expect_heaps(rs, 3);
}

TEST_F(udp_ibv_netns, ibv_interface_variable_leaves_ipv6_alone)
{
    scoped_env iface("SPEAD2_IBV_INTERFACE", local_address);
    scoped_env fail("SPEAD2_FAKE_VERBS_FAIL", "ibv_create_qp:12");
    recv::ring_stream<> rs(tp);
    rs.emplace_reader<recv::udp_reader>(std::string("::1"), 8906); // would throw through ibverbs
}

TEST_F(udp_ibv_netns, completion_vectors_wrap_around)
{
    // The fake has four vectors: 6 is vector 2 (without the wrap, the CQ would be refused).
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.12", 8908).set_comp_vector(6));
    auto s = kernel_sender("239.10.1.12", 8908);
    send_heaps(*s, 2);
    expect_heaps(rs, 2);
}

TEST_F(udp_ibv_netns, failures_while_running_stop_the_reader)
{
    // Set before the reader exists (the fake reads it on every call): the first time the reader
    // goes to sleep, arming the channel fails, which stops the stream rather than hanging it.
    scoped_env fail("SPEAD2_FAKE_VERBS_FAIL", "ibv_req_notify_cq:5");
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.13", 8909));
    EXPECT_THROW(rs.pop(), ringbuffer_stopped);
}

TEST_F(udp_ibv_netns, failures_while_sending_fail_the_heap)
{
    scoped_env fail("SPEAD2_FAKE_VERBS_FAIL", "ibv_post_send:5");
    auto s = ibv_sender(send_config("239.10.1.14", 8910));
    std::vector<std::uint8_t> data(5000);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    test::completion_log log;
    ASSERT_TRUE(s->async_send_heap(h, log.handler(0)));
    EXPECT_EQ(log.wait(1)[0].ec, std::error_code(EIO, std::system_category()));
}

TEST_F(udp_ibv_netns, several_registered_pieces_in_one_frame)
{
    // Three registered pieces with copied ones between them, all in one frame: the frame uses
    // seven scatter-gather entries (the fake checks the count against the queue pair's limit).
    std::vector<std::uint8_t> region(3000);
    for (std::size_t i = 0; i < region.size(); i++)
        region[i] = std::uint8_t(i * 7 + 1);
    std::vector<std::uint8_t> outside(300, 0x33);
    recv::ring_stream<> rs(tp, recv::stream_config(), recv::ring_stream_config().set_heaps(64));
    add_reader(rs, config("239.10.1.15", 8911));
    auto c = send_config("239.10.1.15", 8911);
    c.add_memory_region(region.data(), region.size());
    auto s = ibv_sender(c);
    heap h;
    h.add_item(0x1000, region.data(), 200, false);
    h.add_item(0x1001, outside.data(), 50, false);
    h.add_item(0x1002, region.data() + 1000, 200, false);
    h.add_item(0x1003, outside.data() + 100, 50, false);
    h.add_item(0x1004, region.data() + 2000, 200, false);
    h.add_item(0x1005, region.data() + 2500, 200, false); // a fourth: copied (no entries left)
    heap end;
    end.add_end();
    test::completion_log log;
    ASSERT_TRUE(s->async_send_heap(h, log.handler(0), 1));
    ASSERT_TRUE(s->async_send_heap(end, log.handler(1), 2));
    for (const auto &e : log.wait(2))
        EXPECT_FALSE(e.ec) << e.ec.message();
    recv::heap got = rs.pop();
    ASSERT_EQ(got.get_items().size(), 6u);
    EXPECT_TRUE(std::equal(region.begin(), region.begin() + 200, got.get_items()[0].ptr));
    EXPECT_TRUE(std::equal(outside.begin(), outside.begin() + 50, got.get_items()[1].ptr));
    EXPECT_TRUE(std::equal(region.begin() + 1000, region.begin() + 1200, got.get_items()[2].ptr));
    EXPECT_TRUE(std::equal(outside.begin() + 100, outside.begin() + 150, got.get_items()[3].ptr));
    EXPECT_TRUE(std::equal(region.begin() + 2000, region.begin() + 2200, got.get_items()[4].ptr));
    EXPECT_TRUE(std::equal(region.begin() + 2500, region.begin() + 2700, got.get_items()[5].ptr));
}

TEST_F(udp_ibv_netns, hardware_rate_limit)
{
    // RateMethod HW: the queue pair is paced by the device (the fake records the rate and does
    // not pace), so the software limiter no longer holds the heaps back. Where the device cannot
    // pace, the software limiter does.
    void *fake = ::dlopen(SPEAD2_FAKE_VERBS_PATH, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(fake, nullptr);
    auto rate_limit = reinterpret_cast<std::uint32_t (*)()>(::dlsym(fake, "spead2_fake_verbs_rate_limit"));
    ASSERT_NE(rate_limit, nullptr);
    auto send_time = [&](udp_ibv_stream &s)
    {
        std::vector<std::uint8_t> data(400000);
        heap h;
        h.add_item(0x1000, data.data(), data.size(), false);
        test::completion_log log;
        const auto start = std::chrono::steady_clock::now();
        EXPECT_TRUE(s.async_send_heap(h, log.handler(0)));
        EXPECT_FALSE(log.wait(1)[0].ec);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    const auto sc = stream_config().set_rate(1e6).set_rate_method(rate_method::HW);
    {
        auto s = ibv_sender(send_config("239.10.1.11", 8907), sc);
        EXPECT_EQ(rate_limit(), 8000u); // 1 MB/s in kb/s
        EXPECT_LT(send_time(*s), 0.2);
    }
    {
        scoped_env pacing("SPEAD2_FAKE_VERBS_PACING", "off");
        auto s = ibv_sender(send_config("239.10.1.11", 8907), sc);
        EXPECT_GT(send_time(*s), 0.25); // 336 KB beyond the first burst, at 1 MB/s
    }
    ::dlclose(fake);
}

TEST(udp_ibv_config, validation)
{
    thread_pool tp;
    recv::ring_stream<> rs(tp);
    EXPECT_THROW(
        rs.emplace_reader<recv::udp_ibv_reader>(recv::udp_ibv_config().set_interface_address("10.0.0.1")),
        std::invalid_argument);
    EXPECT_THROW(
        rs.emplace_reader<recv::udp_ibv_reader>(recv::udp_ibv_config().add_endpoint("239.1.1.1", 8888)),
        std::invalid_argument);
    EXPECT_THROW(rs.emplace_reader<recv::udp_ibv_reader>(
                     recv::udp_ibv_config().add_endpoint("ff02::1", 8888).set_interface_address("10.0.0.1")),
                 std::invalid_argument);
    EXPECT_THROW(
        udp_ibv_stream(tp, stream_config(),
                       udp_ibv_config().add_endpoint("10.0.0.2", 8888).set_interface_address("10.0.0.1")),
        std::invalid_argument);
}

/// Endpoints and interface addresses given as Asio objects, as spead2 takes them.
TEST(udp_ibv_config, asio_endpoints_and_addresses)
{
    typedef std::vector<std::pair<std::string, std::uint16_t>> endpoints;
    const asio::ip::udp::endpoint a(asio::ip::make_address("239.1.1.1"), 8888);
    const asio::ip::udp::endpoint b(asio::ip::make_address("239.1.1.2"), 8889);
    recv::udp_ibv_config c;
    c.add_endpoint(a).set_interface_address(asio::ip::make_address("10.0.0.1"));
    EXPECT_EQ(c.get_endpoints(), (endpoints{{"239.1.1.1", 8888}}));
    EXPECT_EQ(c.get_interface_address(), "10.0.0.1");
    c.set_endpoints(std::vector<asio::ip::udp::endpoint>{b, a});
    EXPECT_EQ(c.get_endpoints(), (endpoints{{"239.1.1.2", 8889}, {"239.1.1.1", 8888}}));
    udp_ibv_config sc;
    sc.set_endpoints(std::vector<asio::ip::udp::endpoint>{a})
        .set_interface_address(asio::ip::make_address_v4("10.0.0.2"));
    EXPECT_EQ(sc.get_endpoints(), (endpoints{{"239.1.1.1", 8888}}));
    EXPECT_EQ(sc.get_interface_address(), "10.0.0.2");
}

/// The sender's checks that come before any device is opened, so they give the same errors on
/// every machine: names are resolved, memory regions are not empty and do not overlap.
TEST(udp_ibv_config, send_validation_before_device)
{
    thread_pool tp;
    const auto sender_error = [&tp](const udp_ibv_config &c) -> std::string
    {
        try
        {
            udp_ibv_stream stream(tp, stream_config(), c);
        }
        catch (const std::invalid_argument &e)
        {
            return std::string("invalid_argument: ") + e.what();
        }
        catch (const std::system_error &)
        {
            return "system_error";
        }
        catch (const std::runtime_error &)
        {
            return "runtime_error";
        }
        return "none";
    };
    const auto base = []
    { return udp_ibv_config().add_endpoint("239.1.1.1", 8888).set_interface_address("10.0.0.1"); };
    std::uint8_t buffer[64];
    EXPECT_EQ(sender_error(
                  udp_ibv_config().add_endpoint("no.such.invalid", 8888).set_interface_address("10.0.0.1")),
              "system_error");
    EXPECT_EQ(sender_error(base().add_memory_region(buffer, 0)),
              "invalid_argument: memory region must have non-zero size");
    EXPECT_EQ(sender_error(base().add_memory_region(buffer + 16, 32).add_memory_region(buffer, 17)),
              "invalid_argument: memory regions overlap");
    // Adjacent regions pass the checks (and then fail for want of a device, or send with one).
    EXPECT_EQ(
        sender_error(base().add_memory_region(buffer + 16, 32).add_memory_region(buffer, 16)).find("invalid"),
        std::string::npos);
}

} // namespace
} // namespace spead2::send

#endif // SPEAD2_USE_IBV
