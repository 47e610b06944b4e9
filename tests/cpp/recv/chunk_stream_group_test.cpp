// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk stream groups: shared window, LOSSY and LOSSLESS eviction with a lagging member,
/// stop semantics and the ring group's producer counting.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <gtest/gtest.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream_ring_group.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/recv/mem_reader.h>
#include "recv/chunk_test_util.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

using namespace std::chrono_literals;
typedef ringbuffer<std::unique_ptr<chunk>> chunk_ring;
typedef chunk_stream_ring_group<> ring_group;
typedef chunk_stream_group_config::eviction_mode eviction_mode;

chunk_stream_config member_config(std::size_t max_chunks = 2)
{
    return chunk_stream_config()
        .set_items({chunk_item, index_item, HEAP_LENGTH_ID})
        .set_place(place_by_items)
        .set_max_chunks(max_chunks);
}

void send_all(inproc_queue &q, const bytes &buf)
{
    std::size_t pos = 0;
    while (pos < buf.size())
    {
        packet_header h;
        const std::size_t size = decode_packet(h, buf.data() + pos, buf.size() - pos);
        ASSERT_GT(size, 0u);
        q.add_packet(buf.data() + pos, size);
        pos += size;
    }
}

/// Heaps with heap_index @a idx for chunks [first, last].
bytes heaps_for(std::int64_t first, std::int64_t last, int idx, int cnt_base)
{
    bytes out;
    for (std::int64_t c = first; c <= last; c++)
    {
        auto p = heap_packets(cnt_base + c, c, idx);
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

struct group_fixture
{
    // One thread per member: a LOSSLESS member may wait while holding its stream.
    thread_pool tp0, tp1;
    std::shared_ptr<chunk_ring> data = std::make_shared<chunk_ring>(16);
    std::shared_ptr<chunk_ring> free = std::make_shared<chunk_ring>(16);
    std::unique_ptr<ring_group> group;

    explicit group_fixture(eviction_mode mode, std::size_t max_chunks = 2)
    {
        group = std::make_unique<ring_group>(
            chunk_stream_group_config().set_max_chunks(max_chunks).set_eviction_mode(mode), data, free);
        for (int i = 0; i < 16; i++)
            free->push(make_chunk(4, 16));
    }
};

TEST(chunk_stream_group_config, validation)
{
    chunk_stream_group_config c;
    EXPECT_EQ(c.get_max_chunks(), 2u);
    EXPECT_EQ(c.get_eviction_mode(), eviction_mode::LOSSY);
    EXPECT_THROW(c.set_max_chunks(0), std::invalid_argument);
    EXPECT_THROW(chunk_stream_group{c}, std::invalid_argument); // no allocate
}

TEST(chunk_stream_group, member_limits)
{
    group_fixture f(eviction_mode::LOSSY, 3);
    EXPECT_THROW(f.group->emplace_back(f.tp0, stream_config(), member_config(4)), std::invalid_argument);
    auto &m = f.group->emplace_back(f.tp0, stream_config(), member_config(3));
    EXPECT_EQ(f.group->size(), 1u);
    EXPECT_EQ(&(*f.group)[0], &m);
    EXPECT_THROW(f.group->at(1), std::out_of_range);
    auto buf = heaps_for(0, 0, 0, 100);
    m.emplace_reader<mem_reader>(buf.data(), buf.size());
    EXPECT_EQ(f.data->pop()->chunk_id, 0);
    try
    {
        f.group->emplace_back(f.tp1, stream_config(), member_config());
        FAIL();
    }
    catch (std::runtime_error &e)
    {
        EXPECT_STREQ(e.what(), "Cannot add a stream after group has started receiving data");
    }
}

TEST(chunk_stream_group, two_members_fill_shared_chunks)
{
    group_fixture f(eviction_mode::LOSSLESS, 4);
    auto &m0 = f.group->emplace_back(f.tp0, stream_config().set_stream_id(10), member_config());
    auto &m1 = f.group->emplace_back(f.tp1, stream_config().set_stream_id(11), member_config());
    auto b0 = heaps_for(0, 5, 0, 100);
    auto b1 = heaps_for(0, 5, 1, 200);
    m0.emplace_reader<mem_reader>(b0.data(), b0.size());
    m1.emplace_reader<mem_reader>(b1.data(), b1.size());
    std::vector<std::int64_t> ids;
    for (const auto &c : *f.data)
    {
        ids.push_back(c->chunk_id);
        EXPECT_EQ(presence(*c), (std::vector<int>{1, 1, 0, 0})) << c->chunk_id;
        EXPECT_EQ(c->data[0], std::uint8_t(100 + c->chunk_id));
        EXPECT_EQ(c->data[4], std::uint8_t(200 + c->chunk_id));
    }
    EXPECT_EQ(ids, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(m0.get_stats()["heaps"], 6u);
    EXPECT_EQ(m1.get_stats()["too_old_heaps"], 0u);
    std::vector<chunk_stream_group_member *> members;
    for (chunk_stream_group_member &m : *f.group) // as over a std::vector, as spead2's documentation says
        members.push_back(&m);
    EXPECT_EQ(members, (std::vector<chunk_stream_group_member *>{&m0, &m1}));
}

/// Pops a chunk, or null after @a timeout (so that a missing chunk fails instead of hanging).
std::unique_ptr<chunk> pop_chunk(chunk_ring &ring, std::chrono::milliseconds timeout = 2000ms)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        try
        {
            return ring.try_pop();
        }
        catch (ringbuffer_empty &)
        {
            std::this_thread::sleep_for(1ms);
        }
    }
    return nullptr;
}

/// As pop_chunk, for its id (-1 if none).
std::int64_t pop_id(chunk_ring &ring, std::chrono::milliseconds timeout = 2000ms)
{
    auto c = pop_chunk(ring, timeout);
    return c ? c->chunk_id : -1;
}

TEST(chunk_stream_group, member_stop_releases_what_only_it_held)
{
    for (eviction_mode mode : {eviction_mode::LOSSY, eviction_mode::LOSSLESS})
    {
        group_fixture f(mode, 4);
        auto q0 = std::make_shared<inproc_queue>();
        auto q1 = std::make_shared<inproc_queue>();
        auto &m0 = f.group->emplace_back(f.tp0, stream_config(), member_config(2));
        auto &m1 = f.group->emplace_back(f.tp1, stream_config(), member_config(2));
        m0.emplace_reader<inproc_reader>(q0);
        m1.emplace_reader<inproc_reader>(q1);
        // m0 gets chunks 0..3 and keeps 2 and 3 in its window; m1 gets nothing and holds 0..3.
        send_all(*q0, heaps_for(0, 3, 0, 100));
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (m0.get_stats()["heaps"] < 4 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        ASSERT_EQ(m0.get_stats()["heaps"], 4u);
        EXPECT_THROW(f.data->try_pop(), ringbuffer_empty);
        // m1 ends: chunks 0 and 1, which only it still held, come out now (not when m0 moves).
        q1->stop();
        EXPECT_EQ(pop_id(*f.data), 0);
        EXPECT_EQ(pop_id(*f.data), 1);
        EXPECT_EQ(pop_id(*f.data, 50ms), -1);
        q0->stop();
        EXPECT_EQ(pop_id(*f.data), 2);
        EXPECT_EQ(pop_id(*f.data), 3);
        EXPECT_THROW(f.data->pop(), ringbuffer_stopped);
    }
}

TEST(chunk_stream_group, chunks_leave_once_every_member_has_moved_past)
{
    for (eviction_mode mode : {eviction_mode::LOSSY, eviction_mode::LOSSLESS})
    {
        // Members hold one chunk each; the group window (4) never has to move.
        group_fixture f(mode, 4);
        auto q0 = std::make_shared<inproc_queue>();
        auto q1 = std::make_shared<inproc_queue>();
        auto &m0 = f.group->emplace_back(f.tp0, stream_config().set_stream_id(10), member_config(1));
        auto &m1 = f.group->emplace_back(f.tp1, stream_config().set_stream_id(11), member_config(1));
        m0.emplace_reader<inproc_reader>(q0);
        m1.emplace_reader<inproc_reader>(q1);
        send_all(*q0, heaps_for(0, 2, 0, 100));
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (m0.get_stats()["heaps"] < 3 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        ASSERT_EQ(m0.get_stats()["heaps"], 3u);
        EXPECT_EQ(pop_id(*f.data, 50ms), -1); // m1 still holds them all
        // m1 moves to chunk 2: chunks 0 and 1 are done with, and come out now, as in spead2,
        // marked with the stream_id of m1, the last member to take them into its window.
        send_all(*q1, heaps_for(0, 2, 1, 200));
        for (std::int64_t id : {0, 1})
        {
            std::unique_ptr<chunk> c = pop_chunk(*f.data);
            ASSERT_TRUE(c) << "chunk " << id << " was not readied";
            EXPECT_EQ(c->chunk_id, id);
            EXPECT_EQ(c->stream_id, 11u);
            EXPECT_EQ(presence(*c), (std::vector<int>{1, 1, 0, 0}));
        }
        EXPECT_EQ(pop_id(*f.data, 50ms), -1); // chunk 2 is still in both windows
        q0->stop();
        q1->stop();
        EXPECT_EQ(pop_id(*f.data), 2);
        EXPECT_THROW(f.data->pop(), ringbuffer_stopped);
    }
}

TEST(chunk_stream_group, no_member_once_all_have_stopped)
{
    group_fixture f(eviction_mode::LOSSY);
    auto q = std::make_shared<inproc_queue>();
    auto &m0 = f.group->emplace_back(f.tp0, stream_config(), member_config());
    auto &m1 = f.group->emplace_back(f.tp1, stream_config(), member_config());
    const std::uint8_t nothing[1] = {};
    m0.emplace_reader<mem_reader>(nothing, 0); // ends at once, before any data
    m1.emplace_reader<inproc_reader>(q);
    EXPECT_EQ(pop_id(*f.data, 100ms), -1);
    // One of two has stopped: as in spead2, another may still join (the data ring has a producer).
    auto &m2 = f.group->emplace_back(f.tp0, stream_config(), member_config());
    const std::uint8_t nothing2[1] = {};
    m2.emplace_reader<mem_reader>(nothing2, 0);
    q->stop();
    EXPECT_THROW(f.data->pop(), ringbuffer_stopped); // every member has stopped
    EXPECT_THROW(f.group->emplace_back(f.tp1, stream_config(), member_config()), std::runtime_error);
}

TEST(chunk_stream_group, lossy_leader_forces_laggard_to_release)
{
    group_fixture f(eviction_mode::LOSSY);
    auto queue = std::make_shared<inproc_queue>();
    auto &leader = f.group->emplace_back(f.tp0, stream_config(), member_config());
    auto &laggard = f.group->emplace_back(f.tp1, stream_config(), member_config());
    laggard.emplace_reader<inproc_reader>(queue);
    send_all(*queue, heaps_for(0, 0, 1, 200)); // the laggard contributes to chunk 0 only
    std::this_thread::sleep_for(50ms);
    auto b0 = heaps_for(0, 5, 0, 100);
    leader.emplace_reader<mem_reader>(b0.data(), b0.size());
    // The leader moves on without waiting: chunks 0..3 leave the group window and come out as
    // soon as the laggard has (asynchronously) given them up, while the laggard stays open.
    std::vector<std::vector<int>> present;
    for (std::int64_t id = 0; id <= 3; id++)
    {
        auto c = f.data->pop();
        EXPECT_EQ(c->chunk_id, id);
        present.push_back(presence(*c));
    }
    std::this_thread::sleep_for(50ms);
    EXPECT_THROW(f.data->try_pop(), ringbuffer_empty); // 4 and 5 are still in the group window
    EXPECT_FALSE(f.data->is_stopped());                // the laggard is still a producer
    // A late heap for an old chunk is too old for the laggard, whose window was moved on.
    send_all(*queue, heaps_for(1, 1, 1, 200));
    queue->stop();
    for (std::int64_t id = 4; id <= 5; id++)
    {
        auto c = f.data->pop();
        EXPECT_EQ(c->chunk_id, id);
        present.push_back(presence(*c));
    }
    EXPECT_EQ(present,
              (std::vector<std::vector<int>>{
                  {1, 1, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}}));
    EXPECT_THROW(f.data->pop(), ringbuffer_stopped);
    EXPECT_EQ(laggard.get_stats()["too_old_heaps"], 1u);
    EXPECT_EQ(leader.get_stats()["too_old_heaps"], 0u);
}

TEST(chunk_stream_group, lossless_leader_waits_for_laggard)
{
    group_fixture f(eviction_mode::LOSSLESS);
    auto queue = std::make_shared<inproc_queue>();
    auto &leader = f.group->emplace_back(f.tp0, stream_config(), member_config());
    auto &laggard = f.group->emplace_back(f.tp1, stream_config(), member_config());
    laggard.emplace_reader<inproc_reader>(queue);
    auto b0 = heaps_for(0, 5, 0, 100);
    leader.emplace_reader<mem_reader>(b0.data(), b0.size());
    std::this_thread::sleep_for(100ms);
    // The leader wants chunk 2 but the laggard has not released chunk 0. What the leader did
    // before it waited is in its statistics already.
    EXPECT_THROW(f.data->try_pop(), ringbuffer_empty);
    EXPECT_EQ(leader.get_stats()["heaps"], 2u);
    EXPECT_EQ(leader.get_stats()["packets"], 3u); // the one that asked for chunk 2 too
    send_all(*queue, heaps_for(0, 5, 1, 200));
    std::vector<std::vector<int>> present;
    for (std::int64_t id = 0; id <= 3; id++)
    {
        auto c = f.data->pop();
        EXPECT_EQ(c->chunk_id, id);
        present.push_back(presence(*c));
    }
    queue->stop();
    for (std::int64_t id = 4; id <= 5; id++)
    {
        auto c = f.data->pop();
        EXPECT_EQ(c->chunk_id, id);
        present.push_back(presence(*c));
    }
    EXPECT_THROW(f.data->pop(), ringbuffer_stopped);
    for (const auto &p : present)
        EXPECT_EQ(p, (std::vector<int>{1, 1, 0, 0}));
    EXPECT_EQ(leader.get_stats()["too_old_heaps"], 0u);
    EXPECT_EQ(laggard.get_stats()["too_old_heaps"], 0u);
}

TEST(chunk_stream_group, stop_interrupts_lossless_wait)
{
    group_fixture f(eviction_mode::LOSSLESS);
    auto queue = std::make_shared<inproc_queue>();
    auto &leader = f.group->emplace_back(f.tp0, stream_config(), member_config());
    auto &silent = f.group->emplace_back(f.tp1, stream_config(), member_config());
    silent.emplace_reader<inproc_reader>(queue);
    auto b0 = heaps_for(0, 5, 0, 100);
    leader.emplace_reader<mem_reader>(b0.data(), b0.size());
    std::this_thread::sleep_for(100ms);          // the leader is now waiting for the silent member
    std::thread stopper([&] { silent.stop(); }); // stopping one member stops the group
    stopper.join();
    EXPECT_TRUE(leader.is_stopped());
    EXPECT_TRUE(silent.is_stopped());
    EXPECT_TRUE(f.data->is_stopped());
    EXPECT_TRUE(f.free->is_stopped());
}

TEST(chunk_stream_group, network_stop_of_all_members_flushes_group)
{
    group_fixture f(eviction_mode::LOSSY, 4);
    auto &m0 = f.group->emplace_back(f.tp0, stream_config(), member_config(1));
    auto b0 = concat({heaps_for(0, 1, 0, 100), heaps_for(3, 3, 2, 100)});
    m0.emplace_reader<mem_reader>(b0.data(), b0.size());
    std::vector<std::int64_t> ids;
    for (const auto &c : *f.data)
        ids.push_back(c->chunk_id);
    // Chunk 2 is in the group window but no member asked for it (the member's own window of one
    // chunk jumps from 1 to 3), so it is never allocated: spead2 4.5.1 gives the same IDs.
    EXPECT_EQ(ids, (std::vector<std::int64_t>{0, 1, 3}));
    EXPECT_FALSE(f.free->is_stopped());
}

TEST(chunk_stream_group, chunks_are_allocated_when_a_member_asks)
{
    // A member window of 3 jumping from chunk 0 to 4 asks for 2, 3 and 4 (not 1); a late member
    // asking for chunk 1 afterwards, while it is still in the group window, gets it then.
    group_fixture f(eviction_mode::LOSSLESS, 8);
    auto &m0 = f.group->emplace_back(f.tp0, stream_config(), member_config(3));
    auto &m1 = f.group->emplace_back(f.tp1, stream_config(), member_config(1));
    auto b0 = concat({heaps_for(0, 0, 0, 100), heaps_for(4, 4, 0, 100)});
    auto b2 = heaps_for(1, 1, 1, 200);
    m0.emplace_reader<mem_reader>(b0.data(), b0.size());
    std::this_thread::sleep_for(50ms);
    m1.emplace_reader<mem_reader>(b2.data(), b2.size());
    std::vector<std::pair<std::int64_t, std::vector<int>>> got;
    for (const auto &c : *f.data)
        got.emplace_back(c->chunk_id, presence(*c));
    EXPECT_EQ(
        got,
        (std::vector<std::pair<std::int64_t, std::vector<int>>>{
            {0, {1, 0, 0, 0}}, {1, {0, 1, 0, 0}}, {2, {0, 0, 0, 0}}, {3, {0, 0, 0, 0}}, {4, {1, 0, 0, 0}}}));
}

} // namespace
} // namespace spead2::recv::test
