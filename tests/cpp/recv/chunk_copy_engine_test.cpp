// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk streams with a copy engine: payload staged in host memory, copied in batches of exact
/// ranges, complete before a chunk leaves the stream. A fake engine stands in for the GPU: it
/// copies only when waited for, so a chunk handed out too early would show its old bytes.
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/chunk_stream_ring_group.h>
#include <spead2/recv/mem_reader.h>
#include <spead2/recv/mem_to_stream.h>
#include "recv/chunk_test_util.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

/// What every fake engine of a test did.
struct engine_log
{
    std::size_t staging_allocations = 0;
    std::size_t copies = 0;
    std::size_t waits = 0;
    /// (chunk byte offset, bytes) of each copy, relative to the chunk that owns the destination.
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
};

class fake_engine : public chunk_copy_engine
{
private:
    struct pending_copy
    {
        void *dest;
        const void *src;
        std::size_t n;
    };
    engine_log &log_;
    const std::uint8_t *(*chunk_base_)(const void *dest);
    std::vector<pending_copy> queue_;
    std::size_t done_ = 0;

public:
    /// @a chunk_base maps a copy's destination to its chunk's data (null: ranges not logged).
    fake_engine(engine_log &log, const std::uint8_t *(*chunk_base)(const void *) = nullptr)
        : log_(log)
        , chunk_base_(chunk_base)
    {
    }

    memory_allocator::pointer allocate_staging(std::size_t size) override
    {
        log_.staging_allocations++;
        return memory_allocator::pointer(new std::uint8_t[size](), {});
    }

    void copy_async(void *dest, const void *src, std::size_t n) override
    {
        queue_.push_back({dest, src, n});
        log_.copies++;
        if (chunk_base_)
        {
            const std::uint8_t *base = chunk_base_(dest);
            log_.ranges.emplace_back(std::size_t(static_cast<std::uint8_t *>(dest) - base), n);
        }
    }

    std::uint64_t record() override { return queue_.size(); }

    void wait(std::uint64_t ticket) override
    {
        log_.waits++;
        for (; done_ < ticket; done_++)
            std::memcpy(queue_[done_].dest, queue_[done_].src, queue_[done_].n);
    }
};

constexpr std::size_t heap_size = 8;
constexpr std::size_t heaps_per_chunk = 4;
constexpr std::size_t chunk_bytes = heap_size * heaps_per_chunk;
constexpr std::uint8_t untouched = 0xee;

/// Chunks whose data starts as `untouched` bytes, recorded when ready.
struct device_fixture
{
    thread_pool pool{1};
    engine_log log;
    std::vector<std::unique_ptr<chunk>> ready;
    /// Every chunk's data, to map copy destinations back to offsets.
    static inline std::vector<const std::uint8_t *> bases;
    std::size_t data_size = chunk_bytes;
    stream_config config = stream_config().set_max_heaps(8);
    chunk_stream_config chunk_config;

    static const std::uint8_t *find_base(const void *dest)
    {
        const auto *p = static_cast<const std::uint8_t *>(dest);
        for (const std::uint8_t *b : bases)
            if (b <= p && p < b + chunk_bytes)
                return b;
        ADD_FAILURE() << "copy outside every chunk";
        return p;
    }

    device_fixture()
    {
        bases.clear();
        chunk_config.set_items({chunk_item, index_item, HEAP_LENGTH_ID}).set_place(place_by_items);
        chunk_config.set_max_chunks(2);
        chunk_config.set_allocate(
            [this](std::int64_t, std::uint64_t *) -> std::unique_ptr<chunk>
            {
                auto c = std::make_unique<chunk>();
                c->present = memory_allocator::pointer(new std::uint8_t[heaps_per_chunk](), {});
                c->present_size = heaps_per_chunk;
                c->data = memory_allocator::pointer(new std::uint8_t[chunk_bytes], {});
                std::memset(c->data.get(), untouched, chunk_bytes);
                c->data_size = data_size;
                bases.push_back(c->data.get());
                return c;
            });
        chunk_config.set_ready([this](std::unique_ptr<chunk> &&c, std::uint64_t *)
                               { ready.push_back(std::move(c)); });
        chunk_config.set_copy_engine([this] { return std::make_unique<fake_engine>(log, find_base); });
    }

    stream_stats run(const bytes &buf)
    {
        chunk_stream s(pool, config, chunk_config);
        mem_to_stream(s, buf.data(), buf.size());
        return s.get_stats();
    }

    std::string data(std::size_t i) const
    {
        return std::string(reinterpret_cast<const char *>(ready[i]->data.get()), chunk_bytes);
    }
};

TEST(chunk_copy_engine, chunks_are_ready_only_with_their_copies_complete)
{
    device_fixture f;
    // Chunks 0..3, every heap present, two packets per heap.
    bytes buf;
    for (int chunk = 0; chunk < 4; chunk++)
        for (int i = 0; i < int(heaps_per_chunk); i++)
        {
            const int cnt = 1 + chunk * int(heaps_per_chunk) + i;
            const bytes p = heap_packets(cnt, chunk, i, int(heap_size), 2);
            buf.insert(buf.end(), p.begin(), p.end());
        }
    auto stats = f.run(buf);
    EXPECT_EQ(stats["heaps"], 16u);
    EXPECT_EQ(stats["rejected_heaps"], 0u);
    ASSERT_EQ(f.ready.size(), 4u);
    for (int chunk = 0; chunk < 4; chunk++)
    {
        const char first = char(1 + chunk * int(heaps_per_chunk));
        EXPECT_EQ(f.data(std::size_t(chunk)),
                  fill({{first, 8}, {first + 1, 8}, {first + 2, 8}, {first + 3, 8}}))
            << chunk;
        for (std::size_t i = 0; i < heaps_per_chunk; i++)
            EXPECT_EQ(f.ready[std::size_t(chunk)]->present[i], 1);
    }
    // Staging buffers are reused: one per chunk the window holds.
    EXPECT_EQ(f.log.staging_allocations, 2u);
    // One batch: each chunk's heaps are adjacent, so one copy of the whole chunk each.
    EXPECT_EQ(f.log.copies, 4u);
    for (const auto &r : f.log.ranges)
        EXPECT_EQ(r, std::make_pair(std::size_t(0), chunk_bytes));
}

TEST(chunk_copy_engine, gaps_are_never_copied)
{
    // In a group other members fill the gaps; here they must keep their old bytes.
    device_fixture f;
    const bytes buf =
        concat({heap_packets(1, 0, 0, int(heap_size), 2), heap_packets(3, 0, 2, int(heap_size), 2),
                heap_packets(4, 0, 3, int(heap_size), 2, {0})});
    auto stats = f.run(buf);
    EXPECT_EQ(stats["heaps"], 3u);
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.data(0), fill({{1, 8}, {0xee, 8}, {3, 8}, {4, 4}, {0xee, 4}}));
    EXPECT_EQ(f.ready[0]->present[0], 1);
    EXPECT_EQ(f.ready[0]->present[1], 0);
    EXPECT_EQ(f.ready[0]->present[3], 0); // incomplete
    EXPECT_EQ(f.log.ranges, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 8}, {16, 12}}));
}

TEST(chunk_copy_engine, adjacent_ranges_merge_in_any_order)
{
    // Heaps placed back to front, in one batch: one copy of the run they form.
    device_fixture f;
    const bytes buf =
        concat({heap_packets(3, 0, 2, int(heap_size), 2), heap_packets(2, 0, 1, int(heap_size), 2),
                heap_packets(1, 0, 0, int(heap_size), 2)});
    f.run(buf);
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.data(0), fill({{1, 8}, {2, 8}, {3, 8}, {0xee, 8}}));
    EXPECT_EQ(f.log.ranges, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 24}}));
}

TEST(chunk_copy_engine, device_chunks_need_an_engine)
{
    // Without an engine the CPU would write device memory: the heaps are refused instead.
    device_fixture f;
    f.chunk_config.set_copy_engine(nullptr);
    auto allocate = f.chunk_config.get_allocate();
    f.chunk_config.set_allocate(
        [allocate](std::int64_t id, std::uint64_t *stats)
        {
            std::unique_ptr<chunk> c = allocate(id, stats);
            c->data_on_device = true;
            return c;
        });
    auto stats =
        f.run(concat({heap_packets(1, 0, 0, int(heap_size)), heap_packets(2, 0, 1, int(heap_size))}));
    EXPECT_EQ(stats["rejected_heaps"], 2u);
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.data(0), std::string(chunk_bytes, char(untouched)));
}

TEST(chunk_copy_engine, chunks_without_data_size_are_refused)
{
    device_fixture f;
    f.data_size = 0;
    auto stats =
        f.run(concat({heap_packets(1, 0, 0, int(heap_size)), heap_packets(2, 0, 1, int(heap_size))}));
    EXPECT_EQ(stats["rejected_heaps"], 2u);
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.data(0), std::string(chunk_bytes, char(untouched)));
    EXPECT_EQ(f.log.copies, 0u);
}

TEST(chunk_copy_engine, factory_must_make_an_engine)
{
    device_fixture f;
    f.chunk_config.set_copy_engine([] { return std::unique_ptr<chunk_copy_engine>(); });
    try
    {
        chunk_stream s(f.pool, f.config, f.chunk_config);
        FAIL();
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "chunk_config.copy_engine returned no engine");
    }
}

TEST(chunk_copy_engine, group_members_copy_only_their_own_heaps)
{
    // Members fill alternate heaps of the same chunks, each through its own engine and staging:
    // a copy that spanned the other member's heaps would overwrite them with stale bytes.
    thread_pool tp0, tp1;
    auto data = std::make_shared<ringbuffer<std::unique_ptr<chunk>>>(16);
    auto free = std::make_shared<ringbuffer<std::unique_ptr<chunk>>>(16);
    for (int i = 0; i < 8; i++)
        free->push(make_chunk(4, 16));
    chunk_stream_ring_group<> group(chunk_stream_group_config().set_max_chunks(4).set_eviction_mode(
                                        chunk_stream_group_config::eviction_mode::LOSSLESS),
                                    data, free);
    engine_log log0, log1;
    auto member_config = [](engine_log &log)
    {
        return chunk_stream_config()
            .set_items({chunk_item, index_item, HEAP_LENGTH_ID})
            .set_place(place_by_items)
            .set_copy_engine([&log] { return std::make_unique<fake_engine>(log); });
    };
    auto &m0 = group.emplace_back(tp0, stream_config(), member_config(log0));
    auto &m1 = group.emplace_back(tp1, stream_config(), member_config(log1));
    bytes b0, b1;
    for (int c = 0; c < 6; c++)
    {
        b0 = concat({b0, heap_packets(100 + c, c, 0), heap_packets(150 + c, c, 2)});
        b1 = concat({b1, heap_packets(200 + c, c, 1), heap_packets(250 + c, c, 3)});
    }
    m0.emplace_reader<mem_reader>(b0.data(), b0.size());
    m1.emplace_reader<mem_reader>(b1.data(), b1.size());
    std::int64_t expected_id = 0;
    for (const auto &c : *data)
    {
        EXPECT_EQ(c->chunk_id, expected_id);
        const int id = int(c->chunk_id);
        EXPECT_EQ(presence(*c), (std::vector<int>{1, 1, 1, 1})) << id;
        EXPECT_EQ(std::string(reinterpret_cast<const char *>(c->data.get()), 16),
                  fill({{100 + id, 4}, {200 + id, 4}, {150 + id, 4}, {250 + id, 4}}))
            << id;
        expected_id++;
    }
    EXPECT_EQ(expected_id, 6);
    EXPECT_GT(log0.waits, 0u);
    EXPECT_GT(log1.waits, 0u);
}

} // namespace
} // namespace spead2::recv::test
