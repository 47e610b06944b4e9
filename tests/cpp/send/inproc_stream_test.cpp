// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// send::inproc_stream delivering to inproc_queue objects.
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/thread_pool.h>
#include <spead2/send/inproc_stream.h>
#include <spead2/send/packet_generator.h>
#include "send/send_test_util.h"

namespace spead2::send
{
namespace
{

using test::completion_log;

std::vector<inproc_queue::packet> drain(inproc_queue &q)
{
    std::vector<inproc_queue::packet> out;
    q.try_pop_batch(out, 1000000);
    return out;
}

TEST(inproc_stream, round_trip_packets)
{
    thread_pool tp(1);
    auto q = std::make_shared<inproc_queue>();
    inproc_stream s(tp, {q}, stream_config().set_max_packet_size(1000));
    EXPECT_EQ(s.get_num_substreams(), 1u);
    ASSERT_EQ(s.get_queues().size(), 1u);
    EXPECT_EQ(s.get_queues()[0], q);
    std::vector<std::uint8_t> data(10000);
    for (std::size_t i = 0; i < data.size(); i++)
        data[i] = std::uint8_t(i);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    h.add_end();
    completion_log log;
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
    auto entries = log.wait(1);
    s.flush();
    EXPECT_FALSE(entries[0].ec);
    auto packets = drain(*q);
    packet_generator gen(h, 1, 1000);
    std::size_t i = 0, total = 0;
    while (gen.has_next_packet())
    {
        auto expected = gen.next_packet();
        ASSERT_LT(i, packets.size());
        ASSERT_EQ(packets[i].size, expected.size());
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), packets[i].data.get())) << i;
        total += expected.size();
        i++;
    }
    EXPECT_EQ(packets.size(), i);
    EXPECT_EQ(packets.size(), 11u); // 10000 bytes at 1000 - 56 (first) / 960 (rest) per packet
    EXPECT_EQ(entries[0].bytes, total);
}

TEST(inproc_stream, one_queue)
{
    thread_pool tp(1);
    auto q = std::make_shared<inproc_queue>();
    inproc_stream s(tp, q); // spead2's single-queue form
    ASSERT_EQ(s.get_queues().size(), 1u);
    EXPECT_EQ(s.get_queue(), q);
    heap h;
    completion_log log;
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
    log.wait(1);
    s.flush();
    EXPECT_EQ(drain(*q).size(), 1u);
    EXPECT_THROW(inproc_stream(tp, std::shared_ptr<inproc_queue>()), std::invalid_argument);
}

TEST(inproc_stream, substreams)
{
    thread_pool tp(1);
    auto q0 = std::make_shared<inproc_queue>();
    auto q1 = std::make_shared<inproc_queue>();
    inproc_stream s(tp, {q0, q1});
    EXPECT_EQ(s.get_num_substreams(), 2u);
    heap h;
    completion_log log;
    s.async_send_heap(h, log.handler(0), -1, 1);
    s.async_send_heap(h, log.handler(1), -1, 1);
    s.async_send_heap(h, log.handler(2), -1, 0);
    EXPECT_FALSE(s.async_send_heap(h, log.handler(3), -1, 2));
    log.wait(4);
    s.flush();
    EXPECT_EQ(drain(*q0).size(), 1u);
    EXPECT_EQ(drain(*q1).size(), 2u);
}

TEST(inproc_stream, stopped_queue_fails_heap)
{
    thread_pool tp(1);
    auto q = std::make_shared<inproc_queue>();
    q->stop();
    inproc_stream s(tp, {q});
    heap h;
    completion_log log;
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
    auto entries = log.wait(1);
    s.flush();
    EXPECT_EQ(entries[0].ec, std::error_code(ECANCELED, std::system_category()));
}

TEST(inproc_stream, bad_queues)
{
    thread_pool tp(1);
    typedef std::vector<std::shared_ptr<inproc_queue>> queues;
    EXPECT_THROW(inproc_stream(tp, queues{}), std::invalid_argument);
    EXPECT_THROW(inproc_stream(tp, queues{nullptr}), std::invalid_argument);
}

TEST(inproc_stream, shared_pool_reference_keeps_pool_alive)
{
    auto tp = std::make_shared<thread_pool>(1);
    auto q = std::make_shared<inproc_queue>();
    inproc_stream s(tp, {q});
    tp.reset();
    heap h;
    completion_log log;
    s.async_send_heap(h, log.handler(0));
    log.wait(1);
    s.flush();
    EXPECT_EQ(drain(*q).size(), 1u);
}

} // namespace
} // namespace spead2::send
