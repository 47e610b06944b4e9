// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// chunk_stream: window, placement, presence, extra and statistics (expected values checked
/// against spead2 4.5.1 driven as a black box with the same packets).
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/mem_to_stream.h>
#include "common/memcpy_impl.h"
#include "recv/chunk_test_util.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

struct result
{
    std::int64_t chunk_id;
    std::vector<int> present;
    std::string data;
    std::uintptr_t stream_id;
    std::string extra;
};

struct fixture
{
    thread_pool pool{1};
    std::vector<result> ready;
    std::vector<std::int64_t> allocated;
    std::size_t present_size = 4;
    std::size_t data_size = 16;
    std::size_t extra_size = 0;
    std::int64_t null_chunk = -1;
    stream_config config = stream_config().set_max_heaps(8).set_stream_id(7);
    chunk_stream_config chunk_config;

    fixture()
    {
        chunk_config.set_items({chunk_item, index_item, HEAP_LENGTH_ID}).set_place(place_by_items);
        chunk_config.set_allocate(
            [this](std::int64_t id, std::uint64_t *) -> std::unique_ptr<chunk>
            {
                allocated.push_back(id);
                if (id == null_chunk)
                    return nullptr;
                auto c = std::make_unique<chunk>();
                c->present = memory_allocator::pointer(new std::uint8_t[present_size](), {});
                c->present_size = present_size;
                c->data = memory_allocator::pointer(new std::uint8_t[data_size](), {});
                c->data_size = data_size;
                if (extra_size)
                {
                    c->extra = memory_allocator::pointer(new std::uint8_t[extra_size](), {});
                    c->extra_size = extra_size;
                }
                return c;
            });
        chunk_config.set_ready(
            [this](std::unique_ptr<chunk> &&c, std::uint64_t *)
            {
                result r{c->chunk_id,
                         {},
                         std::string(reinterpret_cast<char *>(c->data.get()), data_size),
                         c->stream_id,
                         {}};
                for (std::size_t i = 0; i < c->present_size; i++)
                    r.present.push_back(c->present[i]);
                if (c->extra)
                    r.extra.assign(reinterpret_cast<char *>(c->extra.get()), extra_size);
                ready.push_back(std::move(r));
            });
    }

    stream_stats run(const bytes &buf)
    {
        chunk_stream s(pool, config, chunk_config);
        mem_to_stream(s, buf.data(), buf.size());
        return s.get_stats();
    }

    std::vector<std::int64_t> ready_ids() const
    {
        std::vector<std::int64_t> out;
        for (const auto &r : ready)
            out.push_back(r.chunk_id);
        return out;
    }
};

TEST(chunk_stream_config, validation)
{
    chunk_stream_config c;
    EXPECT_EQ(c.get_max_chunks(), 2u);
    EXPECT_EQ(chunk_stream_config::default_max_chunks, 2u);
    try
    {
        c.set_max_chunks(0);
        FAIL();
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "max_chunks cannot be 0");
    }
    EXPECT_THROW(c.enable_packet_presence(0), std::invalid_argument);
    EXPECT_EQ(&c.enable_packet_presence(16), &c);
    EXPECT_EQ(c.get_packet_presence_payload_size(), 16u);
    c.disable_packet_presence();
    EXPECT_EQ(c.get_packet_presence_payload_size(), 0u);
}

TEST(chunk_stream, missing_place_or_allocate)
{
    thread_pool pool;
    try
    {
        chunk_stream s(pool, stream_config(), chunk_stream_config());
        FAIL();
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "chunk_config.place is not set");
    }
    EXPECT_THROW(chunk_stream(pool, stream_config(), chunk_stream_config().set_place(place_by_items)),
                 std::invalid_argument);
}

TEST(chunk_stream, config_changes)
{
    fixture f;
    chunk_stream s(f.pool, f.config, f.chunk_config);
    EXPECT_FALSE(s.get_config().get_allow_unsized_heaps());
    EXPECT_EQ(s.get_config().get_stat_index("too_old_heaps"), stream_stat_indices::custom);
    EXPECT_EQ(s.get_config().get_stat_index("rejected_heaps"), stream_stat_indices::custom + 1);
    EXPECT_EQ(s.get_chunk_config().get_max_chunks(), 2u);
}

TEST(chunk_stream, in_order)
{
    fixture f;
    auto stats = f.run(
        concat({heap_packets(1, 0, 0), heap_packets(2, 0, 1), heap_packets(3, 0, 3), heap_packets(4, 1, 0)}));
    ASSERT_EQ(f.ready.size(), 2u);
    EXPECT_EQ(f.ready[0].chunk_id, 0);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{1, 1, 0, 1}));
    EXPECT_EQ(f.ready[0].data, fill({{1, 4}, {2, 4}, {0, 4}, {3, 4}}));
    EXPECT_EQ(f.ready[0].stream_id, 7u);
    EXPECT_EQ(f.ready[1].chunk_id, 1);
    EXPECT_EQ(f.ready[1].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(f.ready[1].data, fill({{4, 4}, {0, 12}}));
    EXPECT_EQ(stats["heaps"], 4u);
    EXPECT_EQ(stats["packets"], 4u);
    EXPECT_EQ(stats["too_old_heaps"], 0u);
    EXPECT_EQ(stats["rejected_heaps"], 0u);
}

TEST(chunk_stream, too_old_heaps_still_count_as_heaps)
{
    fixture f;
    auto stats = f.run(concat({heap_packets(1, 0, 0), heap_packets(2, 1, 0), heap_packets(3, 2, 0),
                               heap_packets(4, 3, 1), heap_packets(5, 0, 2), heap_packets(6, 1, 3)}));
    EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(f.ready[1].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(f.ready[3].present, (std::vector<int>{0, 1, 0, 0}));
    EXPECT_EQ(f.ready[3].data, fill({{0, 4}, {4, 4}, {0, 8}}));
    EXPECT_EQ(stats["heaps"], 6u);
    EXPECT_EQ(stats["too_old_heaps"], 2u);
    EXPECT_EQ(stats["rejected_heaps"], 0u);
}

TEST(chunk_stream, rejected_heap)
{
    fixture f;
    auto stats = f.run(concat({heap_packets(1, 0, 0), heap_packets(2, -1, 1), heap_packets(3, 0, 2)}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{1, 0, 1, 0}));
    EXPECT_EQ(f.ready[0].data, fill({{1, 4}, {0, 4}, {3, 4}, {0, 4}}));
    EXPECT_EQ(stats["heaps"], 3u);
    EXPECT_EQ(stats["rejected_heaps"], 1u);
    EXPECT_EQ(stats["too_old_heaps"], 0u);
}

TEST(chunk_stream, heap_completing_after_its_chunk_retired_is_too_old)
{
    fixture f;
    f.data_size = 32;
    auto stats = f.run(concat({heap_packets(1, 0, 0, 8, 2, {0}), heap_packets(2, 2, 0, 8),
                               heap_packets(3, 3, 0, 8), heap_packets(1, 0, 0, 8, 2, {1})}));
    EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{0, 0, 0, 0}));
    // Only the packet that arrived while chunk 0 was live was written.
    EXPECT_EQ(f.ready[0].data, fill({{1, 4}, {0, 28}}));
    EXPECT_EQ(f.ready[1].present, (std::vector<int>{0, 0, 0, 0}));
    EXPECT_EQ(f.ready[2].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(f.ready[3].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(stats["heaps"], 3u);
    EXPECT_EQ(stats["packets"], 4u);
    EXPECT_EQ(stats["too_old_heaps"], 1u);
}

TEST(chunk_stream, incomplete_heap_not_present_but_written)
{
    fixture f;
    f.data_size = 32;
    auto stats = f.run(concat({heap_packets(1, 0, 0, 8, 2, {0}), heap_packets(2, 0, 1, 8)}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{0, 1, 0, 0}));
    EXPECT_EQ(f.ready[0].data, fill({{1, 4}, {0, 4}, {2, 8}, {0, 16}}));
    EXPECT_EQ(stats["heaps"], 2u);
    EXPECT_EQ(stats["incomplete_heaps_flushed"], 1u);
}

TEST(chunk_stream, window_starts_at_zero_or_backfills)
{
    {
        fixture f;
        f.run(heap_packets(1, 5, 0));
        EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{4, 5}));
        EXPECT_EQ(f.allocated, (std::vector<std::int64_t>{4, 5}));
    }
    {
        fixture f;
        f.run(heap_packets(1, 0, 1));
        EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{0}));
    }
    {
        fixture f;
        f.chunk_config.set_max_chunks(3);
        f.run(heap_packets(1, 1, 1));
        EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{0, 1}));
    }
}

TEST(chunk_stream, jump_far_ahead)
{
    fixture f;
    f.chunk_config.set_max_chunks(3);
    auto stats = f.run(concat(
        {heap_packets(1, 1, 1), heap_packets(2, 9, 0), heap_packets(3, 8, 0), heap_packets(4, 10, 2)}));
    EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{0, 1, 7, 8, 9, 10}));
    EXPECT_EQ(f.allocated, (std::vector<std::int64_t>{0, 1, 7, 8, 9, 10}));
    EXPECT_EQ(f.ready[3].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(f.ready[5].present, (std::vector<int>{0, 0, 1, 0}));
    EXPECT_EQ(stats["heaps"], 4u);
    EXPECT_EQ(stats["too_old_heaps"], 0u);
}

TEST(chunk_stream, null_chunk_skipped_silently)
{
    fixture f;
    f.null_chunk = 1;
    auto stats = f.run(
        concat({heap_packets(1, 0, 0), heap_packets(2, 1, 0), heap_packets(3, 1, 1), heap_packets(4, 2, 2)}));
    EXPECT_EQ(f.allocated, (std::vector<std::int64_t>{0, 1, 2}));
    EXPECT_EQ(f.ready_ids(), (std::vector<std::int64_t>{0, 2}));
    EXPECT_EQ(f.ready[1].present, (std::vector<int>{0, 0, 1, 0}));
    EXPECT_EQ(stats["heaps"], 4u);
    EXPECT_EQ(stats["too_old_heaps"], 0u);
    EXPECT_EQ(stats["rejected_heaps"], 0u);
}

TEST(chunk_stream, lossy_input_dropped_reordered_duplicated)
{
    fixture f;
    f.data_size = 32;
    f.config.set_allow_out_of_order(true);
    // Heap 1 (chunk 0, idx 0) arrives reversed; heap 2 loses a packet; heap 3 is duplicated.
    auto stats = f.run(
        concat({heap_packets(1, 0, 0, 8, 2, {1}), heap_packets(3, 0, 2, 8), heap_packets(1, 0, 0, 8, 2, {0}),
                heap_packets(2, 0, 1, 8, 2, {1}), heap_packets(3, 0, 2, 8)}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{1, 0, 1, 0}));
    EXPECT_EQ(f.ready[0].data, fill({{1, 8}, {0, 4}, {2, 4}, {3, 8}, {0, 8}}));
    EXPECT_EQ(stats["heaps"], 4u);
    EXPECT_EQ(stats["incomplete_heaps_flushed"], 1u);
    EXPECT_EQ(stats["packets"], 5u);
}

TEST(chunk_stream, packet_presence_out_of_order)
{
    fixture f;
    f.data_size = 32;
    f.present_size = 8;
    f.config.set_allow_out_of_order(true);
    f.chunk_config.enable_packet_presence(4);
    auto stats = f.run(concat({heap_packets(1, 0, 0, 8, 2, {1}), heap_packets(2, 0, 1, 8, 2, {0})}));
    ASSERT_EQ(f.ready.size(), 1u);
    // present[heap_index + payload_offset / 4]: both packets land on index 1.
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{0, 1, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(f.ready[0].data, fill({{0, 4}, {1, 4}, {2, 4}, {0, 20}}));
    EXPECT_EQ(stats["heaps"], 2u);
    EXPECT_EQ(stats["incomplete_heaps_flushed"], 2u);
}

TEST(chunk_stream, packet_presence_in_order_rejects_later_first_packet)
{
    fixture f;
    f.data_size = 32;
    f.present_size = 8;
    f.chunk_config.enable_packet_presence(4);
    auto stats = f.run(concat({heap_packets(1, 0, 0, 8, 2, {1}), heap_packets(2, 0, 1, 8, 2, {0})}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{0, 1, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(f.ready[0].data, fill({{0, 8}, {2, 4}, {0, 20}}));
    EXPECT_EQ(stats["heaps"], 1u);
    EXPECT_EQ(stats["packets"], 2u);
}

TEST(chunk_stream, extra_copied_even_for_incomplete_heaps)
{
    fixture f;
    f.data_size = 32;
    f.extra_size = 8;
    f.chunk_config.set_max_heap_extra(2);
    f.chunk_config.set_place(
        [](chunk_place_data *data, std::size_t size)
        {
            place_by_items(data, size);
            data->extra[0] = std::uint8_t(0xA0 + data->heap_index);
            data->extra[1] = std::uint8_t(data->packet_size);
            data->extra_offset = 2 * data->heap_index;
            data->extra_size = 2;
        });
    f.run(concat({heap_packets(1, 0, 0, 8, 2, {0}), heap_packets(2, 0, 1, 8)}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{0, 1, 0, 0}));
    // Packet sizes: 8 header + 6 pointers * 8 + payload (4, then 8).
    EXPECT_EQ(f.ready[0].extra, std::string("\xA0\x3C\xA1\x40\0\0\0\0", 8));
}

TEST(chunk_stream, out_of_bounds_placement_rejected)
{
    fixture f;
    f.present_size = 2;
    auto stats = f.run(concat({heap_packets(1, 0, 3), heap_packets(2, 0, 1)}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{0, 1}));
    EXPECT_EQ(stats["rejected_heaps"], 1u);
}

TEST(chunk_stream, items_see_specials_and_batch_stats)
{
    fixture f;
    std::vector<s_item_pointer_t> seen;
    f.chunk_config.set_items({HEAP_CNT_ID, PAYLOAD_LENGTH_ID, 0x1234, chunk_item});
    f.chunk_config.set_place(
        [&](chunk_place_data *data, std::size_t)
        {
            seen.assign(data->items, data->items + 4);
            data->batch_stats[stream_stat_indices::custom + 1] += 10; // rejected_heaps, via the batch
            data->chunk_id = 0;
        });
    auto stats = f.run(heap_packets(42, 3, 0));
    EXPECT_EQ(seen, (std::vector<s_item_pointer_t>{42, 4, -1, 3}));
    EXPECT_EQ(stats["rejected_heaps"], 10u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{1, 0, 0, 0}));
}

} // namespace
} // namespace spead2::recv::test

namespace spead2::recv::test
{
namespace
{

TEST(chunk_stream, heap_without_payload_is_not_placed)
{
    fixture f;
    auto empty = make_packet(9, 0, "", 0, {imm(chunk_item, 0), imm(index_item, 2)});
    auto stats = f.run(concat({heap_packets(1, 0, 0), empty}));
    ASSERT_EQ(f.ready.size(), 1u);
    EXPECT_EQ(f.ready[0].present, (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(stats["heaps"], 2u);
    EXPECT_EQ(stats["rejected_heaps"], 0u);
    EXPECT_EQ(stats["too_old_heaps"], 0u);
}

/// The copy function the chunk stream picks for chunks of @a data_size bytes (null: not a plain one).
memcpy_function_t placed_copy(const stream_config &user_config, std::size_t data_size)
{
    class no_chunks : public detail::chunk_stream_state
    {
    protected:
        void move_window(std::int64_t) override {}

    public:
        using detail::chunk_stream_state::chunk_stream_state;
    };

    chunk_stream_config chunk_config;
    chunk_config.set_place(place_by_items);
    const stream_config config = detail::chunk_stream_state::adjust_config(user_config, chunk_config);
    std::vector<std::uint64_t> stats(config.get_stats().size());
    const no_chunks state(config, chunk_config, stats.data());
    return state.get_copier(data_size).get_plain();
}

void *copy_for_test(void *__restrict dest, const void *__restrict src, std::size_t n)
{
    return std::memcpy(dest, src, n);
}

TEST(chunk_stream, copy_into_large_chunks_bypasses_the_cache_unless_memcpy_chosen)
{
    const std::size_t large = detail::chunk_stream_state::nontemporal_chunk_size;
    EXPECT_EQ(placed_copy(stream_config(), large), spead2::detail::memcpy_nontemporal_unfenced);
    EXPECT_EQ(placed_copy(stream_config(), large - 1), stream_config().get_memcpy_choice().get_function());
    EXPECT_EQ(placed_copy(stream_config().set_memcpy(MEMCPY_STD), large),
              stream_config().set_memcpy(MEMCPY_STD).get_memcpy_choice().get_function());
    // Explicit non-temporal copies are fenced once per chunk, not once per packet.
    EXPECT_EQ(placed_copy(stream_config().set_memcpy(MEMCPY_NONTEMPORAL), 64),
              spead2::detail::memcpy_nontemporal_unfenced);
    EXPECT_EQ(placed_copy(stream_config().set_memcpy(copy_for_test), large), &copy_for_test);
}

TEST(chunk_stream, user_copy_functions_write_into_chunks)
{
    // Each function writes the payload plus one, to tell its work from a memcpy. Heap 2 has two
    // packets and goes to index 1 (offset 4), heap 3 to index 3 (offset 12).
    const bytes buf = concat({heap_packets(2, 0, 1, 4, 2), heap_packets(3, 0, 3)});
    const std::string expected = fill({{0, 4}, {3, 4}, {0, 4}, {4, 4}});

    fixture per_packet;
    std::vector<std::uint8_t *> bases;
    per_packet.config.set_memcpy(packet_memcpy_function(
        [&bases](const memory_allocator::pointer &place, const packet_header &packet)
        {
            bases.push_back(place.get());
            for (s_item_pointer_t i = 0; i < packet.payload_length; i++)
                place[packet.payload_offset + i] = std::uint8_t(packet.payload[i] + 1);
        }));
    per_packet.run(buf);
    ASSERT_EQ(per_packet.ready.size(), 1u);
    EXPECT_EQ(per_packet.ready[0].data, expected);
    EXPECT_EQ(per_packet.ready[0].present, (std::vector<int>{0, 1, 0, 1}));
    ASSERT_EQ(bases.size(), 3u);
    EXPECT_EQ(bases[0], bases[1]); // both packets of heap 2 see the heap's place
    EXPECT_EQ(bases[2] - bases[0], 8);

    fixture with_context;
    int calls = 0;
    with_context.config.set_memcpy(
        [](void *context, void *dest, const void *src, std::size_t n)
        {
            ++*static_cast<int *>(context);
            for (std::size_t i = 0; i < n; i++)
                static_cast<std::uint8_t *>(dest)[i] =
                    std::uint8_t(static_cast<const std::uint8_t *>(src)[i] + 1);
        },
        &calls);
    with_context.run(buf);
    ASSERT_EQ(with_context.ready.size(), 1u);
    EXPECT_EQ(with_context.ready[0].data, expected);
    EXPECT_EQ(calls, 3);
}

/// Heap index i goes to offset i * 5000 + 3: unaligned, so copies have ragged heads and tails.
void place_unaligned(chunk_place_data *data, std::size_t)
{
    if (data->items[0] == -1 || data->items[1] == -1)
        return;
    data->chunk_id = data->items[0];
    data->heap_index = std::size_t(data->items[1]);
    data->heap_offset = std::size_t(data->items[1]) * 5000 + 3;
}

TEST(chunk_stream, large_chunks_receive_exact_bytes)
{
    // Chunks big enough for streaming stores, with heaps at unaligned offsets and odd sizes.
    fixture f;
    f.present_size = 4;
    f.data_size = detail::chunk_stream_state::nontemporal_chunk_size;
    std::vector<std::pair<int, int>> heaps = {{1, 1000}, {2, 4097}, {3, 300}};
    f.chunk_config.set_place(place_unaligned);
    bytes buf;
    for (auto [cnt, size] : heaps)
    {
        bytes p = heap_packets(cnt, 0, cnt, size, 3);
        buf.insert(buf.end(), p.begin(), p.end());
    }
    f.run(buf);
    ASSERT_EQ(f.ready.size(), 1u);
    for (auto [cnt, size] : heaps)
    {
        const std::size_t offset = std::size_t(cnt) * 5000 + 3;
        const std::size_t per = std::size_t(size / 3) * 3;
        EXPECT_EQ(f.ready[0].data.substr(offset, per), std::string(per, char(cnt))) << cnt;
        EXPECT_EQ(f.ready[0].data[offset - 1], 0) << cnt;
        EXPECT_EQ(f.ready[0].data[offset + per], 0) << cnt;
    }
}

} // namespace
} // namespace spead2::recv::test
