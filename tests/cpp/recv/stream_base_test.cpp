// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Synchronous tests of the stream core: reassembly, eviction, stop items and exact statistics.
/// Expected values were checked against the reference spead2 4.5.1 fed the same bytes.
#include <algorithm>
#include <cstring>
#include <random>
#include <gtest/gtest.h>
#include "recv/heap_buffer_sink.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

typedef std::vector<std::uint64_t> stats_t;
typedef std::vector<std::string> heaps_t;

struct result
{
    heaps_t heaps;
    stats_t stats;
};

result run(const bytes &buf, stream_config config = stream_config())
{
    collecting_stream s(config);
    mem_to_stream(s, buf.data(), buf.size());
    return {s.heaps, core_stats(s)};
}

stream_config max_heaps(std::size_t n)
{
    return stream_config().set_max_heaps(n);
}

bytes P(s_item_pointer_t cnt, s_item_pointer_t offset, const std::string &payload, s_item_pointer_t len,
        std::vector<item_pointer_t> items = {}, int hab = 40)
{
    return make_packet(cnt, offset, payload, len, std::move(items), hab);
}

TEST(stream_base, two_packet_heap)
{
    auto r = run(concat({P(1, 0, "abcd", 8, {addr(0x1000, 0)}), P(1, 4, "efgh", 8)}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=abcdefgh"}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 0, 2, 1, 2, 0, 2, 0}));
}

TEST(stream_base, empty_buffer_counts_no_batch)
{
    auto r = run({});
    EXPECT_TRUE(r.heaps.empty());
    EXPECT_EQ(r.stats, stats_t(9, 0));
}

TEST(stream_base, stop_heap_is_swallowed)
{
    auto r = run(concat(
        {P(5, 0, "", 0, {imm(STREAM_CTRL_ID, CTRL_STREAM_STOP)}), P(6, 0, "x", 1, {addr(0x1000, 0)})}));
    EXPECT_TRUE(r.heaps.empty());
    EXPECT_EQ(r.stats, stats_t({0, 0, 0, 1, 1, 1, 1, 0, 0}));
}

TEST(stream_base, stop_item_in_incomplete_heap_flushes_it)
{
    auto r = run(concat(
        {P(1, 0, "abcd", 8), P(9, 0, "ab", 4, {imm(STREAM_CTRL_ID, CTRL_STREAM_STOP)}), P(9, 2, "cd", 4)}));
    EXPECT_EQ(r.heaps, heaps_t({"I1 8/4 [(0,4)] ", "I9 4/2 [(0,2)] 6#2"}));
    EXPECT_EQ(r.stats, stats_t({2, 0, 2, 2, 1, 2, 0, 2, 0}));
}

TEST(stream_base, complete_multi_packet_stop_heap)
{
    auto r = run(concat({P(1, 0, "ab", 4), P(9, 0, "ab", 4),
                         P(9, 2, "cd", 4, {imm(STREAM_CTRL_ID, CTRL_STREAM_STOP)}), P(10, 0, "ab", 4)}));
    EXPECT_EQ(r.heaps, heaps_t({"I1 4/2 [(0,2)] "}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 1, 3, 1, 3, 0, 3, 0}));
}

TEST(stream_base, stop_on_stop_item_false_delivers_it)
{
    auto r = run(concat({P(1, 0, "abcd", 8), P(9, 0, "ab", 4, {imm(STREAM_CTRL_ID, CTRL_STREAM_STOP)}),
                         P(9, 2, "cd", 4)}),
                 stream_config().set_stop_on_stop_item(false));
    EXPECT_EQ(r.heaps, heaps_t({"H9:6#2", "I1 8/4 [(0,4)] "}));
    EXPECT_EQ(r.stats, stats_t({2, 0, 1, 3, 1, 3, 0, 3, 0}));
}

TEST(stream_base, sequential_and_interleaved_heaps)
{
    bytes seq, inter1, inter2;
    for (int c = 1; c <= 3; c++)
    {
        auto a = P(c, 0, "abcd", 8), b = P(c, 4, "efgh", 8);
        seq.insert(seq.end(), a.begin(), a.end());
        seq.insert(seq.end(), b.begin(), b.end());
        inter1.insert(inter1.end(), a.begin(), a.end());
        inter2.insert(inter2.end(), b.begin(), b.end());
    }
    auto r = run(seq);
    EXPECT_EQ(r.heaps, heaps_t({"H1:", "H2:", "H3:"}));
    EXPECT_EQ(r.stats, stats_t({3, 0, 0, 6, 1, 6, 0, 6, 0}));
    r = run(concat({inter1, inter2}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:", "H2:", "H3:"}));
    EXPECT_EQ(r.stats, stats_t({3, 0, 0, 6, 1, 6, 0, 6, 0}));
}

TEST(stream_base, many_half_heaps_evict)
{
    bytes buf;
    for (int c = 1; c <= 300; c++)
    {
        auto p = P(c, 0, "abcd", 8);
        buf.insert(buf.end(), p.begin(), p.end());
    }
    auto r = run(buf);
    ASSERT_EQ(r.heaps.size(), 300u);
    EXPECT_EQ(r.heaps[0], "I1 8/4 [(0,4)] ");
    EXPECT_EQ(r.heaps[299], "I300 8/4 [(0,4)] ");
    EXPECT_EQ(r.stats, stats_t({300, 296, 4, 300, 1, 300, 0, 300, 0}));
}

TEST(stream_base, rejected_first_packet_claims_no_slot)
{
    auto buf = concat({P(1, 0, "abcd", 8), P(2, 4, "efgh", 8), P(1, 4, "efgh", 8)});
    auto r = run(buf, max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"H1:"}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 0, 3, 1, 3, 0, 3, 0}));
    r = run(buf, max_heaps(1).set_allow_out_of_order(true));
    EXPECT_EQ(r.heaps, heaps_t({"I1 8/4 [(0,4)] ", "I2 8/4 [(4,8)] ", "I1 8/4 [(4,8)] "}));
    EXPECT_EQ(r.stats, stats_t({3, 2, 1, 3, 1, 3, 0, 3, 0}));
}

TEST(stream_base, inconsistent_heap_length_rejected)
{
    auto r = run(concat({P(1, 0, "abcd", 8), P(1, 4, "efgh", 12), P(1, 4, "efgh", 8)}), max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"H1:"}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 0, 3, 1, 3, 0, 3, 0}));
}

TEST(stream_base, in_order_gap_and_duplicate_rejected)
{
    auto r = run(
        concat({P(1, 0, "ab", 8), P(1, 4, "ef", 8), P(1, 2, "cd", 8), P(1, 0, "ab", 8), P(1, 4, "efgh", 8)}),
        max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"H1:"}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 0, 5, 1, 5, 0, 5, 0}));
}

TEST(stream_base, out_of_order_duplicate_and_overlap)
{
    auto r = run(concat({P(1, 4, "efgh", 8, {addr(0x1000, 0)}), P(1, 0, "abcd", 8), P(1, 0, "abcd", 8),
                         P(1, 2, "cdef", 8)}),
                 max_heaps(1).set_allow_out_of_order(true));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=abcdefgh", "I1 8/4 [(0,4)] "}));
    EXPECT_EQ(r.stats, stats_t({2, 0, 1, 4, 1, 4, 0, 4, 0}));
    // Inside one live heap: exact duplicate, then partial overlaps on either side.
    r = run(concat({P(1, 2, "cd", 8), P(1, 2, "cd", 8), P(1, 1, "bc", 8), P(1, 3, "de", 8), P(1, 6, "gh", 8),
                    P(1, 0, "ab", 8), P(1, 4, "ef", 8)}),
            max_heaps(1).set_allow_out_of_order(true));
    EXPECT_EQ(r.heaps, heaps_t({"H1:"}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 0, 7, 1, 7, 0, 7, 0}));
}

TEST(stream_base, payload_ranges)
{
    auto r =
        run(concat({P(1, 4, "efgh", 12), P(1, 0, "ab", 12)}), stream_config().set_allow_out_of_order(true));
    EXPECT_EQ(r.heaps, heaps_t({"I1 12/6 [(0,2)(4,8)] "}));
    r = run(concat({P(1, 0, "ab", 12, {imm(0x1000, 5), addr(0x1001, 0)}), P(1, 2, "ab", 12)}));
    EXPECT_EQ(r.heaps, heaps_t({"I1 12/4 [(0,4)] 4096#5"}));
}

TEST(stream_base, unsized_heaps)
{
    auto buf = concat({P(1, 0, "abcd", -1, {addr(0x1000, 0), addr(0x1001, 2)}), P(1, 4, "efgh", -1),
                       P(2, 0, "x", -1, {addr(0x1000, 0)})});
    auto r = run(buf, max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=ab,4097=cdefgh", "H2:4096=x"}));
    EXPECT_EQ(r.stats, stats_t({2, 1, 1, 3, 1, 3, 0, 3, 0}));
    r = run(buf, max_heaps(1).set_allow_unsized_heaps(false));
    EXPECT_TRUE(r.heaps.empty());
    EXPECT_EQ(r.stats, stats_t({0, 0, 0, 3, 1, 3, 0, 0, 0}));
}

TEST(stream_base, unsized_heap_grows_its_buffer)
{
    // 100 packets of 37 bytes without HEAP_LENGTH: the buffer must grow and keep earlier data.
    bytes buf;
    std::string expected;
    for (int i = 0; i < 100; i++)
    {
        std::string chunk(37, char('A' + i % 26));
        auto p = P(7, s_item_pointer_t(expected.size()), chunk, -1,
                   i == 0 ? std::vector<item_pointer_t>{addr(0x1000, 0)} : std::vector<item_pointer_t>{});
        expected += chunk;
        buf.insert(buf.end(), p.begin(), p.end());
    }
    auto r = run(buf);
    EXPECT_EQ(r.heaps, heaps_t({"H7:4096=" + expected}));
}

TEST(stream_base, address_beyond_heap_length)
{
    auto r = run(P(1, 0, "abcd", 4, {addr(0x1000, 0), addr(0x1001, 6)}), max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"I1 4/4 [(0,4)] "}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 1, 1, 1, 1, 1, 0, 0}));
    // A later HEAP_LENGTH smaller than an address already seen is rejected.
    r = run(concat({P(1, 0, "abcd", -1, {addr(0x1000, 0), addr(0x1001, 6)}), P(1, 4, "", 4)}), max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"I1 -1/4 [(0,4)] "}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 1, 2, 1, 2, 0, 2, 0}));
}

TEST(stream_base, flavour_mismatch_rejected)
{
    auto r = run(concat({P(1, 0, "abcd", 8), P(1, 4, "efgh", 8, {}, 48)}), max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"I1 8/4 [(0,4)] "}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 1, 2, 1, 2, 0, 2, 0}));
}

TEST(stream_base, single_packet_heaps_claim_slots)
{
    auto A1 = P(1, 0, "abcd", 8), A2 = P(1, 4, "efgh", 8);
    auto S = [](int c) { return P(c, 0, "zz", 2); };
    auto r = run(concat({A1, S(2), A2}), max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"I1 8/4 [(0,4)] ", "H2:"}));
    EXPECT_EQ(r.stats, stats_t({2, 1, 0, 3, 1, 3, 1, 2, 0}));
    r = run(concat({A1, S(2), A2}), max_heaps(2));
    EXPECT_EQ(r.heaps, heaps_t({"H2:", "H1:"}));
    EXPECT_EQ(r.stats, stats_t({2, 0, 0, 3, 1, 3, 1, 2, 0}));
    r = run(concat({A1, S(2), S(3), A2}), max_heaps(2));
    EXPECT_EQ(r.heaps, heaps_t({"H2:", "I1 8/4 [(0,4)] ", "H3:"}));
    EXPECT_EQ(r.stats, stats_t({3, 1, 0, 4, 1, 4, 2, 2, 0}));
    // Same cnt as a live heap: a separate heap, and the live one still completes.
    r = run(concat({A1, P(1, 0, "zz", 2), A2}), max_heaps(2));
    EXPECT_EQ(r.heaps, heaps_t({"H1:", "H1:"}));
    EXPECT_EQ(r.stats, stats_t({2, 0, 0, 3, 1, 3, 1, 2, 0}));
}

TEST(stream_base, substreams)
{
    auto r = run(concat({P(1, 0, "abcd", 8), P(3, 0, "zz", 2), P(5, 0, "zz", 2), P(1, 4, "efgh", 8),
                         P(2, 0, "ab", 4), P(4, 0, "ab", 4), P(2, 2, "cd", 4)}),
                 max_heaps(1).set_substreams(2));
    EXPECT_EQ(r.heaps, heaps_t({"I1 8/4 [(0,4)] ", "H3:", "H5:", "I2 4/2 [(0,2)] ", "I4 4/2 [(0,2)] "}));
    EXPECT_EQ(r.stats, stats_t({5, 2, 1, 7, 1, 7, 2, 5, 0}));
}

TEST(stream_base, eviction_and_flush_order)
{
    auto Q = [](int c) { return P(c, 0, "ab", 4); };
    auto r = run(concat({Q(1), Q(2), Q(3)}), max_heaps(2));
    EXPECT_EQ(r.heaps, heaps_t({"I1 4/2 [(0,2)] ", "I2 4/2 [(0,2)] ", "I3 4/2 [(0,2)] "}));
    EXPECT_EQ(r.stats, stats_t({3, 1, 2, 3, 1, 3, 0, 3, 0}));
    r = run(concat({Q(1), Q(2), Q(3), Q(4), Q(5), Q(6), Q(7)}), max_heaps(2).set_substreams(2));
    std::vector<std::string> cnts;
    for (const auto &h : r.heaps)
        cnts.push_back(h.substr(0, 2));
    EXPECT_EQ(cnts, heaps_t({"I1", "I2", "I3", "I4", "I6", "I5", "I7"}));
    EXPECT_EQ(r.stats, stats_t({7, 3, 4, 7, 1, 7, 0, 7, 0}));
}

TEST(stream_base, max_heaps_one_interleaved_heaps_lose_data)
{
    // With one slot, heap 2 evicts heap 1, whose second packet then cannot start a new heap.
    auto r =
        run(concat({P(1, 0, "ab", 4), P(2, 0, "ab", 4), P(1, 2, "cd", 4), P(2, 2, "cd", 4)}), max_heaps(1));
    EXPECT_EQ(r.heaps, heaps_t({"I1 4/2 [(0,2)] ", "H2:"}));
    EXPECT_EQ(r.stats, stats_t({2, 1, 0, 4, 1, 4, 0, 4, 0}));
}

TEST(stream_base, item_order_lengths_and_dedup)
{
    auto r = run(P(1, 0, "abcdef", 6,
                   {imm(0x2000, 9), addr(0x1001, 2), imm(0x2001, 3), addr(0x1000, 0), addr(0, 4),
                    addr(0x1002, 4), addr(0x1003, 6), imm(0, 7)}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=ab,4097=cd,4098=ef,8193#3,8192#9"}));
    r = run(P(1, 0, "abcdef", 6, {addr(0x1001, 2), addr(0x1001, 2), addr(0x1000, 0), addr(0x1002, 2)}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=ab,4098=cdef"}));
    // Pointers repeated in every packet of a heap are kept once.
    r = run(concat({P(1, 0, "ab", 4, {addr(0x1000, 0), imm(0x1001, 1)}),
                    P(1, 2, "cd", 4, {addr(0x1000, 0), imm(0x1001, 1)})}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=abcd,4097#1"}));
}

TEST(stream_base, items_sorted_stably_by_mode_and_address)
{
    // Addressed items in address order (equal addresses keep arrival order, so 0x1003 is empty
    // and dropped), NULL only bounds 0x1002; immediates after them, ordered by the same
    // (mode, low HAB bits) key, i.e. by value.
    auto r = run(P(1, 0, "abcdefghij", 10,
                   {imm(0x2001, 7), addr(0x1003, 6), addr(0x1004, 6), imm(0x2000, 5), addr(0x1002, 2),
                    addr(NULL_ID, 5), addr(0x1001, 0), addr(0x1005, 8)}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4097=ab,4098=cde,4100=gh,4101=ij,8192#5,8193#7"}));
}

TEST(stream_base, many_pointers_dedup)
{
    // More pointers than fit inline, repeated in a second packet.
    std::vector<item_pointer_t> items;
    std::string payload;
    for (int i = 0; i < 40; i++)
    {
        items.push_back(addr(0x1000 + i, i));
        payload += char('a' + i % 26);
    }
    auto r =
        run(concat({P(1, 0, payload.substr(0, 20), 40, items), P(1, 20, payload.substr(20), 40, items)}));
    ASSERT_EQ(r.heaps.size(), 1u);
    std::string expected = "H1:";
    for (int i = 0; i < 40; i++)
        expected += (i ? "," : "") + std::to_string(0x1000 + i) + "=" + payload.substr(i, 1);
    EXPECT_EQ(r.heaps[0], expected);
}

TEST(stream_base, immediate_bytes_and_flavour)
{
    struct grab : stream_base
    {
        std::vector<heap> heaps;
        ~grab() override { stop(); }
        void heap_ready(live_heap &&h) override { heaps.emplace_back(std::move(h)); }
    } s;
    auto buf = concat({P(1, 0, "", 0, {imm(0x2000, 0x0102030405), imm(STREAM_CTRL_ID, CTRL_STREAM_START)}),
                       P(2, 0, "", 0, {imm(0x20, 0x01020304050607, 56)}, 56)});
    mem_to_stream(s, buf.data(), buf.size());
    ASSERT_EQ(s.heaps.size(), 2u);
    const auto &items = s.heaps[0].get_items();
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[1].id, 0x2000);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(items[1].ptr), items[1].length), "\x01\x02\x03\x04\x05");
    EXPECT_EQ(items[1].immediate_value, 0x0102030405u);
    EXPECT_TRUE(s.heaps[0].is_start_of_stream());
    EXPECT_FALSE(s.heaps[0].is_end_of_stream());
    EXPECT_EQ(s.heaps[0].get_flavour(), flavour(40));
    EXPECT_EQ(s.heaps[1].get_flavour(), flavour(56));
    ASSERT_EQ(s.heaps[1].get_items().size(), 1u);
    EXPECT_EQ(s.heaps[1].get_items()[0].id, 0x20);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(s.heaps[1].get_items()[0].ptr), 7),
              "\x01\x02\x03\x04\x05\x06\x07");
}

TEST(stream_base, shuffled_duplicated_dropped_packets)
{
    // 20 heaps of 8 packets, taken two heaps at a time: within each pair the packets (some sent
    // twice) are shuffled, except that each heap's last packet comes last. Heap 7 loses a packet.
    std::mt19937 rng(42);
    bytes buf;
    std::size_t n_packets = 0;
    for (int c = 1; c <= 20; c += 2)
    {
        std::vector<bytes> body, tail;
        for (int h = c; h < c + 2; h++)
            for (int k = 0; k < 8; k++)
            {
                if (h == 7 && k == 3)
                    continue;
                std::string chunk(4, char('a' + k));
                auto p =
                    P(h, 4 * k, chunk, 32,
                      k == 0 ? std::vector<item_pointer_t>{addr(0x1000, 0)} : std::vector<item_pointer_t>{});
                if (k == 7)
                    tail.push_back(p);
                else
                {
                    body.push_back(p);
                    if (k % 3 == 0)
                        body.push_back(p);
                }
            }
        std::shuffle(body.begin(), body.end(), rng);
        for (const auto *part : {&body, &tail})
            for (const auto &p : *part)
            {
                buf.insert(buf.end(), p.begin(), p.end());
                n_packets++;
            }
    }
    auto r = run(buf, max_heaps(4).set_allow_out_of_order(true));
    const std::string full = "4096=aaaabbbbccccddddeeeeffffgggghhhh";
    heaps_t expected;
    for (int h = 1; h <= 20; h++)
        if (h != 7)
            expected.push_back("H" + std::to_string(h) + ":" + full);
    // Heap 7 is evicted when heap 11 arrives (the 5th new heap after it in a 4-slot window).
    expected.insert(expected.begin() + 9, "I7 32/28 [(0,12)(16,32)] ");
    EXPECT_EQ(r.heaps, expected);
    // 8 packets per heap, 3 of them sent twice; heap 7 lost one (and its duplicate).
    EXPECT_EQ(n_packets, 11u * 20 - 2);
    EXPECT_EQ(r.stats, stats_t({20, 1, 0, n_packets, 1, n_packets, 0, n_packets, 0}));
}

TEST(stream_base, max_heap_size_limit)
{
    auto r = run(concat({P(1, 0, "ab", 100), P(2, 0, "ab", 10)}), stream_config().set_max_heap_size(50));
    EXPECT_EQ(r.heaps, heaps_t({"I2 10/2 [(0,2)] "}));
    r = run(concat({P(3, 0, "abcd", -1), P(3, 4, "efgh", -1)}), stream_config().set_max_heap_size(6));
    EXPECT_EQ(r.heaps, heaps_t({"H3:"}));
}

TEST(stream_base, custom_allocator_sees_first_packet)
{
    struct recording_allocator : memory_allocator
    {
        std::vector<std::pair<std::size_t, s_item_pointer_t>> calls;
        pointer allocate(std::size_t size, void *hint) override
        {
            packet_header ph;
            auto *raw = static_cast<const std::uint8_t *>(hint);
            decode_packet(ph, raw, 1 << 20);
            calls.emplace_back(size, ph.payload_offset);
            return memory_allocator::allocate(size, hint);
        }
    };
    auto alloc = std::make_shared<recording_allocator>();
    auto buf = concat({P(1, 0, "ab", 6), P(1, 2, "cd", 6), P(1, 4, "ef", 6)});
    auto r = run(buf, stream_config().set_memory_allocator(alloc));
    EXPECT_EQ(r.heaps, heaps_t({"H1:"}));
    ASSERT_EQ(alloc->calls.size(), 1u);
    EXPECT_EQ(alloc->calls[0], std::make_pair(std::size_t(6), s_item_pointer_t(0)));
}

TEST(stream_base, custom_memcpy_functions)
{
    static int plain_calls;
    plain_calls = 0;
    auto plain = [](void *__restrict d, const void *__restrict s, std::size_t n) -> void *
    {
        plain_calls++;
        return std::memcpy(d, s, n);
    };
    auto buf = concat({P(1, 0, "ab", 4, {addr(0x1000, 0)}), P(1, 2, "cd", 4)});
    auto r = run(buf, stream_config().set_memcpy(memcpy_function_t(plain)));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=abcd"}));
    EXPECT_EQ(plain_calls, 2);
    int packet_calls = 0;
    r = run(buf, stream_config().set_memcpy(packet_memcpy_function(
                     [&packet_calls](const memory_allocator::pointer &a, const packet_header &p)
                     {
                         packet_calls++;
                         for (s_item_pointer_t i = 0; i < p.payload_length; i++)
                             a[p.payload_offset + i] = std::uint8_t(std::toupper(p.payload[i]));
                     })));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=ABCD"}));
    EXPECT_EQ(packet_calls, 2);
    r = run(buf, stream_config().set_memcpy(MEMCPY_NONTEMPORAL));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=abcd"}));
    std::size_t context_bytes = 0;
    r = run(buf, stream_config().set_memcpy(
                     [](void *context, void *dest, const void *src, std::size_t n)
                     {
                         *static_cast<std::size_t *>(context) += n;
                         std::memcpy(dest, src, n);
                     },
                     &context_bytes));
    EXPECT_EQ(r.heaps, heaps_t({"H1:4096=abcd"}));
    EXPECT_EQ(context_bytes, 4u);
}

TEST(stream_base, custom_stats_and_batches)
{
    struct counting_stream : collecting_stream
    {
        std::size_t index;
        counting_stream(const stream_config &c, std::size_t i)
            : collecting_stream(c)
            , index(i)
        {
        }
        ~counting_stream() override { stop(); }
        void heap_ready(live_heap &&h) override
        {
            batch_stats[index] += std::size_t(h.get_received_length());
            batch_stats[index + 1] =
                std::max<std::uint64_t>(batch_stats[index + 1], std::uint64_t(h.get_cnt()));
            collecting_stream::heap_ready(std::move(h));
        }
    };
    stream_config config;
    const std::size_t bytes_idx = config.add_stat("bytes");
    const std::size_t max_idx = config.add_stat("max_cnt", stream_stat_config::mode::MAXIMUM);
    EXPECT_EQ(bytes_idx, 9u);
    EXPECT_EQ(max_idx, 10u);
    counting_stream s(config, bytes_idx);
    for (int batch = 0; batch < 3; batch++)
    {
        stream_base::add_packet_state state(s);
        for (int k = 0; k < batch + 1; k++)
        {
            auto p = P(batch * 10 + k + 1, 0, "abc", 3);
            packet_header ph;
            ASSERT_EQ(decode_packet(ph, p.data(), p.size()), p.size());
            EXPECT_TRUE(state.add_packet(ph));
        }
    }
    auto st = s.get_stats();
    EXPECT_EQ(st["bytes"], 18u);
    EXPECT_EQ(st["max_cnt"], 23u);
    EXPECT_EQ(st.batches, 3u);
    EXPECT_EQ(st.max_batch, 3u);
    EXPECT_EQ(st.packets, 6u);
    s.stop();
    s.stop();
    st = s.get_stats();
    EXPECT_EQ(st.batches, 3u);
    EXPECT_TRUE(s.is_stopped());
    // After stop, packets are ignored and not counted.
    {
        stream_base::add_packet_state state(s);
        auto p = P(99, 0, "abc", 3);
        packet_header ph;
        decode_packet(ph, p.data(), p.size());
        EXPECT_FALSE(state.add_packet(ph));
    }
    EXPECT_EQ(s.get_stats().packets, 6u);
    EXPECT_EQ(s.get_stats().batches, 3u);
}

TEST(stream_base, flush_passes_live_heaps_on)
{
    collecting_stream s;
    auto p = P(1, 0, "ab", 4);
    {
        stream_base::add_packet_state state(s);
        packet_header ph;
        decode_packet(ph, p.data(), p.size());
        state.add_packet(ph);
    }
    EXPECT_TRUE(s.heaps.empty());
    s.flush();
    EXPECT_EQ(s.heaps, heaps_t({"I1 4/2 [(0,2)] "}));
    EXPECT_EQ(core_stats(s), stats_t({1, 0, 1, 1, 1, 1, 0, 1, 0}));
    EXPECT_FALSE(s.is_stopped());
}

TEST(stream_base, heap_constructor_rejects_incomplete)
{
    packet_header ph;
    auto p = P(1, 0, "ab", 4);
    decode_packet(ph, p.data(), p.size());
    live_heap h(ph, 0);
    const stream_config config;
    detail::heap_buffer_sink sink(config);
    detail::live_heap_config cfg;
    cfg.sink = &sink;
    ASSERT_TRUE(h.add_packet(ph, cfg, 0, true));
    EXPECT_FALSE(h.is_complete());
    EXPECT_THROW(heap(std::move(h)), std::invalid_argument);
}

/// Fills its n-th buffer with the byte n, to tell which bytes a later buffer got by copy.
class numbering_allocator : public memory_allocator
{
public:
    std::vector<std::size_t> sizes;

    pointer allocate(std::size_t size, void *hint) override
    {
        pointer p = memory_allocator::allocate(size, hint);
        sizes.push_back(size);
        std::memset(p.get(), int(sizes.size()), size);
        return p;
    }
};

TEST(stream_base, unsized_heap_growth_copies_only_received_bytes)
{
    // Out of order without HEAP_LENGTH, far apart: each growth must move the received ranges
    // and nothing else (copying whole buffers made a few packets cost gigabytes of RAM).
    auto allocator = std::make_shared<numbering_allocator>();
    const stream_config config = stream_config().set_allow_out_of_order(true).set_memory_allocator(allocator);
    detail::heap_buffer_sink sink(config);
    detail::live_heap_config cfg;
    cfg.allow_out_of_order = true;
    cfg.sink = &sink;
    std::vector<bytes> packets = {P(1, 0, "ab", -1), P(1, 100, "cd", -1), P(1, 5000, "ef", -1)};
    packet_header ph;
    decode_packet(ph, packets[0].data(), packets[0].size());
    live_heap h(ph, 0);
    for (std::size_t i = 0; i < packets.size(); i++)
    {
        decode_packet(ph, packets[i].data(), packets[i].size());
        ASSERT_TRUE(h.add_packet(ph, cfg, 0, i == 0)) << i;
    }
    ASSERT_EQ(allocator->sizes.size(), 3u);
    ASSERT_GE(allocator->sizes.back(), 5002u);
    const std::uint8_t *payload = h.get_payload().get();
    EXPECT_EQ(std::string(payload, payload + 2), "ab");
    EXPECT_EQ(std::string(payload + 100, payload + 102), "cd");
    EXPECT_EQ(std::string(payload + 5000, payload + 5002), "ef");
    // Between the ranges: the last buffer's own fill, never bytes copied from the earlier ones.
    for (std::size_t offset : {2u, 99u, 102u, 4999u})
        EXPECT_EQ(payload[offset], 3) << offset;
}

} // namespace
} // namespace spead2::recv::test

namespace spead2::recv::test
{
namespace
{

TEST(stream_base_regression, unsized_packet_beyond_known_heap_length)
{
    // Found by fuzzing: a packet without HEAP_LENGTH must not write past the length already known.
    auto r = run(
        concat({make_packet(1, 0, "ab", 4), make_packet(1, 2, "cdefgh", -1), make_packet(1, 2, "cd", -1)}));
    EXPECT_EQ(r.heaps, heaps_t({"H1:"}));
    EXPECT_EQ(r.stats, stats_t({1, 0, 0, 3, 1, 3, 0, 3, 0}));
}

} // namespace
} // namespace spead2::recv::test
