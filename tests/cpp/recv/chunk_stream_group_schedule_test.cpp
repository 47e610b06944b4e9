// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk stream groups whose members run ahead of each other: the window-overrun repro of
/// ../shared/repro/chunk_group_window.py, randomized schedules (members, windows, ring sizes,
/// routing, reader order, eviction mode) under a time limit, and stop/destroy while members wait.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream_ring_group.h>
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

constexpr int heap_bytes = 8;

enum class routing
{
    in_order,   ///< heap p goes to member p % members
    shuffled,   ///< each heap to a random member
    one_late,   ///< in order, but one member's reader is added only after the others have run
    one_silent, ///< one member gets no heaps (its reader has an empty buffer)
};

const char *routing_name(routing r)
{
    switch (r)
    {
    case routing::in_order:
        return "in_order";
    case routing::shuffled:
        return "shuffled";
    case routing::one_late:
        return "one_late";
    case routing::one_silent:
        return "one_silent";
    }
    return "?";
}

struct schedule
{
    eviction_mode mode = eviction_mode::LOSSY;
    int members = 1;
    std::size_t group_max_chunks = 1;
    std::vector<std::size_t> member_max_chunks;
    std::size_t free_chunks = 1;
    std::size_t data_ring = 1;
    int heaps_per_chunk = 1;
    int chunks = 1;
    routing route = routing::in_order;
    int special = 0;            ///< the late or silent member
    std::vector<int> order;     ///< order in which readers are added
    std::vector<int> member_of; ///< per heap position

    std::string describe() const
    {
        std::ostringstream out;
        out << (mode == eviction_mode::LOSSY ? "LOSSY" : "LOSSLESS") << " members=" << members
            << " group_max=" << group_max_chunks << " member_max=[";
        for (auto m : member_max_chunks)
            out << m << ' ';
        out << "] free=" << free_chunks << " data=" << data_ring << " hpc=" << heaps_per_chunk
            << " chunks=" << chunks << " route=" << routing_name(route) << " special=" << special;
        return out.str();
    }
};

schedule random_schedule(std::mt19937 &rng)
{
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    schedule s;
    s.mode = uniform(0, 1) ? eviction_mode::LOSSLESS : eviction_mode::LOSSY;
    s.members = uniform(1, 8);
    s.group_max_chunks = std::size_t(uniform(1, 8));
    for (int i = 0; i < s.members; i++)
        s.member_max_chunks.push_back(std::size_t(uniform(1, int(s.group_max_chunks))));
    // Fewer free chunks than the group window would stall any implementation by design.
    s.free_chunks = s.group_max_chunks + std::size_t(uniform(0, 3));
    s.data_ring = std::size_t(uniform(1, 6));
    s.heaps_per_chunk = uniform(1, 6);
    s.chunks = uniform(1, 10);
    s.route = routing(uniform(0, s.members > 1 ? 3 : 1));
    s.special = uniform(0, s.members - 1);
    s.order.resize(std::size_t(s.members));
    std::iota(s.order.begin(), s.order.end(), 0);
    std::shuffle(s.order.begin(), s.order.end(), rng);
    const int heaps = s.chunks * s.heaps_per_chunk;
    for (int p = 0; p < heaps; p++)
    {
        int m = p % s.members;
        if (s.route == routing::shuffled)
            m = uniform(0, s.members - 1);
        else if (s.route == routing::one_silent && m == s.special)
            m = (m + 1) % s.members;
        s.member_of.push_back(m);
    }
    return s;
}

struct received_chunk
{
    std::int64_t id;
    std::vector<int> present;
    std::vector<std::uint8_t> data;
};

struct outcome
{
    bool finished = false; ///< the data ring stopped within the time limit
    std::vector<received_chunk> chunks;
};

/**
 * Runs @a s: one thread pool per member, readers added in s.order (the late member last, after
 * the others have stopped), a consumer returning every chunk to the free ring. Gives up (stopping
 * the group) after @a limit.
 */
outcome run_schedule(const schedule &s, std::chrono::milliseconds limit)
{
    std::vector<bytes> buffers(std::size_t(s.members));
    for (std::size_t p = 0; p < s.member_of.size(); p++)
    {
        const auto pos = std::int64_t(p);
        auto packets = heap_packets(pos + 1, pos / s.heaps_per_chunk, pos % s.heaps_per_chunk, heap_bytes);
        auto &buf = buffers[std::size_t(s.member_of[p])];
        buf.insert(buf.end(), packets.begin(), packets.end());
    }
    auto data = std::make_shared<chunk_ring>(s.data_ring);
    auto free = std::make_shared<chunk_ring>(s.free_chunks);
    for (std::size_t i = 0; i < s.free_chunks; i++)
        free->push(make_chunk(std::size_t(s.heaps_per_chunk), std::size_t(s.heaps_per_chunk * heap_bytes)));
    std::vector<std::unique_ptr<thread_pool>> pools;
    auto group = std::make_unique<ring_group>(
        chunk_stream_group_config().set_max_chunks(s.group_max_chunks).set_eviction_mode(s.mode), data, free);
    for (int i = 0; i < s.members; i++)
    {
        pools.push_back(std::make_unique<thread_pool>(1));
        group->emplace_back(*pools.back(), stream_config().set_max_heaps(4).set_stream_id(std::uintptr_t(i)),
                            chunk_stream_config()
                                .set_items({chunk_item, index_item, HEAP_LENGTH_ID})
                                .set_place(place_by_items)
                                .set_max_chunks(s.member_max_chunks[std::size_t(i)]));
    }

    outcome out;
    auto consumer = std::async(
        std::launch::async,
        [&]
        {
            std::vector<received_chunk> got;
            for (auto c : *data)
            {
                got.push_back({c->chunk_id, presence(*c),
                               std::vector<std::uint8_t>(c->data.get(), c->data.get() + c->data_size)});
                std::fill(c->data.get(), c->data.get() + c->data_size, 0);
                group->add_free_chunk(std::move(c));
            }
            return got;
        });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    const bool late = s.route == routing::one_late;
    for (int m : s.order)
        if (!late || m != s.special)
        {
            const bytes &buf = buffers[std::size_t(m)];
            (*group)[std::size_t(m)].emplace_reader<mem_reader>(buf.data(), buf.size());
        }
    if (late)
    {
        // Let the others run ahead (and, in LOSSLESS mode, wait) before the late one starts.
        std::this_thread::sleep_for(20ms);
        const bytes &buf = buffers[std::size_t(s.special)];
        (*group)[std::size_t(s.special)].emplace_reader<mem_reader>(buf.data(), buf.size());
    }
    out.finished = consumer.wait_until(deadline) == std::future_status::ready;
    if (!out.finished)
        group->stop(); // unblocks everything; the consumer then sees the ring stop
    out.chunks = consumer.get();
    group.reset();
    return out;
}

/// Heaps of @a s, per chunk: which heap indices were sent (all of them, in this generator).
void check_outcome(const schedule &s, const outcome &out)
{
    SCOPED_TRACE(s.describe());
    ASSERT_TRUE(out.finished) << "the group stalled";
    std::int64_t last = -1;
    for (const auto &c : out.chunks)
    {
        SCOPED_TRACE("chunk " + std::to_string(c.id));
        ASSERT_GT(c.id, last) << "chunk IDs must increase";
        ASSERT_LT(c.id, s.chunks);
        last = c.id;
        for (int i = 0; i < s.heaps_per_chunk; i++)
        {
            const std::int64_t pos = c.id * s.heaps_per_chunk + i;
            const std::uint8_t expected = c.present[std::size_t(i)] ? std::uint8_t(pos + 1) : 0;
            for (int b = 0; b < heap_bytes; b++)
                ASSERT_EQ(c.data[std::size_t(i * heap_bytes + b)], expected) << "heap " << pos;
        }
    }
    if (s.mode == eviction_mode::LOSSLESS)
    {
        // Every member keeps up eventually, so every chunk arrives whole.
        ASSERT_EQ(out.chunks.size(), std::size_t(s.chunks));
        for (const auto &c : out.chunks)
            EXPECT_EQ(c.present, std::vector<int>(std::size_t(s.heaps_per_chunk), 1)) << "chunk " << c.id;
    }
}

std::string mode_name(const ::testing::TestParamInfo<eviction_mode> &param)
{
    return param.param == eviction_mode::LOSSY ? "LOSSY" : "LOSSLESS";
}

class chunk_stream_group_overrun : public ::testing::TestWithParam<eviction_mode>
{
};

/**
 * The C++ twin of ../shared/repro/chunk_group_window.py: four members, max_chunks 4, four free
 * chunks, heap i to member i % 4, six chunks of ten heaps, readers added one by one through
 * group[i] while the first member already runs through chunk 4.
 */
TEST_P(chunk_stream_group_overrun, member_running_ahead_does_not_stall)
{
    schedule s;
    s.mode = GetParam();
    s.members = 4;
    s.group_max_chunks = 4;
    s.member_max_chunks.assign(4, 4);
    s.free_chunks = 4;
    s.data_ring = 4;
    s.heaps_per_chunk = 10;
    s.chunks = 6;
    s.order = {0, 1, 2, 3};
    for (int p = 0; p < 60; p++)
        s.member_of.push_back(p % 4);
    const outcome out = run_schedule(s, 20s);
    check_outcome(s, out);
    std::vector<std::int64_t> ids;
    for (const auto &c : out.chunks)
        ids.push_back(c.id);
    EXPECT_EQ(ids, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
}

INSTANTIATE_TEST_SUITE_P(modes, chunk_stream_group_overrun,
                         ::testing::Values(eviction_mode::LOSSY, eviction_mode::LOSSLESS), mode_name);

TEST(chunk_stream_group_schedules, random_schedules_never_stall)
{
    // A fixed list of seeds, so that a failure names one to replay.
    for (unsigned seed = 1; seed <= 200; seed++)
    {
        std::mt19937 rng(seed);
        const schedule s = random_schedule(rng);
        SCOPED_TRACE("seed " + std::to_string(seed));
        check_outcome(s, run_schedule(s, 20s));
        if (HasFatalFailure())
            return;
    }
}

/// A group whose members all wait: the leader for a free chunk (LOSSY) or for a laggard (LOSSLESS).
struct waiting_group
{
    std::shared_ptr<chunk_ring> data = std::make_shared<chunk_ring>(4);
    std::shared_ptr<chunk_ring> free = std::make_shared<chunk_ring>(2);
    thread_pool tp0{1}, tp1{1};
    bytes leader_data; // outlives the group, whose reader uses it
    std::unique_ptr<ring_group> group;

    explicit waiting_group(eviction_mode mode)
    {
        group = std::make_unique<ring_group>(
            chunk_stream_group_config().set_max_chunks(2).set_eviction_mode(mode), data, free);
        for (int i = 0; i < 2; i++)
            free->push(make_chunk(2, 2 * heap_bytes));
        auto config = chunk_stream_config()
                          .set_items({chunk_item, index_item, HEAP_LENGTH_ID})
                          .set_place(place_by_items)
                          .set_max_chunks(2);
        group->emplace_back(tp0, stream_config(), config);
        group->emplace_back(tp1, stream_config(), config);
        for (int c = 0; c < 8; c++)
        {
            auto p = heap_packets(c + 1, c, 0, heap_bytes);
            leader_data.insert(leader_data.end(), p.begin(), p.end());
        }
        // Member 1 never gets a reader: in LOSSLESS mode the leader waits for it; in LOSSY mode
        // the leader fills the data ring (nobody consumes) and then waits for a free chunk.
        (*group)[0].emplace_reader<mem_reader>(leader_data.data(), leader_data.size());
        std::this_thread::sleep_for(50ms);
    }
};

class chunk_stream_group_waiting : public ::testing::TestWithParam<eviction_mode>
{
};

TEST_P(chunk_stream_group_waiting, control_calls_do_not_wait_behind_a_waiting_member)
{
    waiting_group w(GetParam());
    // None of these may block on the waiting leader.
    auto calls = std::async(std::launch::async,
                            [&]
                            {
                                EXPECT_EQ(w.group->size(), 2u);
                                (void)w.group->at(1).get_stats();
                                (void)w.group->at(0).get_stats();
                                const bytes empty;
                                w.group->at(1).emplace_reader<mem_reader>(empty.data(), empty.size());
                            });
    ASSERT_EQ(calls.wait_for(10s), std::future_status::ready);
    calls.get();
    w.group->stop();
}

TEST_P(chunk_stream_group_waiting, member_stop_while_another_waits)
{
    waiting_group w(GetParam());
    auto stopper = std::async(std::launch::async, [&] { w.group->at(1).stop(); });
    ASSERT_EQ(stopper.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(w.group->at(0).is_stopped());
    EXPECT_TRUE(w.data->is_stopped());
    EXPECT_TRUE(w.free->is_stopped());
}

TEST_P(chunk_stream_group_waiting, consumer_stopping_the_rings_unblocks_members)
{
    waiting_group w(GetParam());
    w.data->stop();
    w.free->stop();
    // The leader runs to the end of its data, the other member is stopped by destruction.
    auto destroyer = std::async(std::launch::async, [&] { w.group.reset(); });
    ASSERT_EQ(destroyer.wait_for(10s), std::future_status::ready);
}

TEST_P(chunk_stream_group_waiting, destroyed_with_chunks_outstanding)
{
    waiting_group w(GetParam());
    std::vector<std::unique_ptr<chunk>> held;
    while (true)
    {
        try
        {
            held.push_back(w.data->try_pop()); // the consumer keeps these past the group's end
        }
        catch (ringbuffer_empty &)
        {
            break;
        }
    }
    auto destroyer = std::async(std::launch::async, [&] { w.group.reset(); });
    ASSERT_EQ(destroyer.wait_for(10s), std::future_status::ready);
    for (const auto &c : held)
        EXPECT_GE(c->chunk_id, 0);
}

INSTANTIATE_TEST_SUITE_P(modes, chunk_stream_group_waiting,
                         ::testing::Values(eviction_mode::LOSSY, eviction_mode::LOSSLESS), mode_name);

} // namespace
} // namespace spead2::recv::test
