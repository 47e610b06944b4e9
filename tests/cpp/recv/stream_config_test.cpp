// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests of stream_config validation and stream_stats access and combination.
#include <iterator>
#include <type_traits>
#include <gtest/gtest.h>
#include <spead2/recv/stream_config.h>
#include <spead2/recv/stream_stats.h>

namespace spead2::recv
{
namespace
{

TEST(stream_config, defaults)
{
    stream_config c;
    EXPECT_EQ(c.get_max_heaps(), 4u);
    EXPECT_EQ(c.get_substreams(), 1u);
    EXPECT_EQ(c.get_bug_compat(), 0u);
    EXPECT_EQ(c.get_memcpy(), MEMCPY_STD);
    EXPECT_TRUE(c.get_memory_allocator());
    EXPECT_TRUE(c.get_stop_on_stop_item());
    EXPECT_TRUE(c.get_allow_unsized_heaps());
    EXPECT_FALSE(c.get_allow_out_of_order());
    EXPECT_EQ(c.get_stream_id(), 0u);
    EXPECT_FALSE(c.get_explicit_start());
    ASSERT_EQ(c.get_stats().size(), 9u);
    const char *names[] = {"heaps",
                           "incomplete_heaps_evicted",
                           "incomplete_heaps_flushed",
                           "packets",
                           "batches",
                           "max_batch",
                           "single_packet_heaps",
                           "search_dist",
                           "worker_blocked"};
    for (int i = 0; i < 9; i++)
    {
        EXPECT_EQ(c.get_stats()[i].get_name(), names[i]);
        EXPECT_EQ(c.get_stats()[i].get_mode(),
                  i == 5 ? stream_stat_config::mode::MAXIMUM : stream_stat_config::mode::COUNTER);
        EXPECT_EQ(c.get_stat_index(names[i]), std::size_t(i));
    }
    EXPECT_EQ(stream_stat_indices::WORKER_BLOCKED, 8u);
}

TEST(stream_config, validation)
{
    stream_config c;
    EXPECT_THROW(c.set_max_heaps(0), std::invalid_argument);
    EXPECT_THROW(c.set_substreams(0), std::invalid_argument);
    EXPECT_THROW(c.set_bug_compat(8), std::invalid_argument);
    EXPECT_NO_THROW(c.set_bug_compat(BUG_COMPAT_PYSPEAD_0_5_2));
    EXPECT_EQ(c.get_bug_compat(), 7u);
    EXPECT_THROW(c.set_memory_allocator(nullptr), std::invalid_argument);
    EXPECT_THROW(c.set_memcpy(memcpy_function_id(5)), std::invalid_argument);
    EXPECT_THROW(c.set_memcpy(memcpy_function_t(nullptr)), std::invalid_argument);
    EXPECT_THROW(c.set_memcpy(packet_memcpy_function()), std::invalid_argument);
    EXPECT_THROW(c.set_max_heap_size(0), std::invalid_argument);
    c.set_max_heaps(7).set_substreams(3).set_allow_out_of_order(true).set_stream_id(42).set_explicit_start(
        true);
    EXPECT_EQ(c.get_max_heaps(), 7u);
    EXPECT_EQ(c.get_substreams(), 3u);
    EXPECT_TRUE(c.get_allow_out_of_order());
    EXPECT_EQ(c.get_stream_id(), 42u);
    EXPECT_TRUE(c.get_explicit_start());
}

TEST(stream_config, memcpy_automatic_until_set_memcpy)
{
    using kind = memcpy_choice::kind;
    stream_config c;
    EXPECT_EQ(c.get_memcpy_choice().get_kind(), kind::automatic);
    EXPECT_EQ(stream_config(c).get_memcpy_choice().get_kind(), kind::automatic);
    EXPECT_EQ(c.get_memcpy(), MEMCPY_STD);
    c.set_memcpy(MEMCPY_STD);
    EXPECT_EQ(c.get_memcpy_choice().get_kind(), kind::builtin);
    EXPECT_EQ(stream_config(c).get_memcpy_choice().get_kind(), kind::builtin);
    stream_config f;
    f.set_memcpy([](void *__restrict d, const void *__restrict, std::size_t) { return d; });
    EXPECT_EQ(f.get_memcpy_choice().get_kind(), kind::plain);
}

TEST(stream_config, memcpy_getter)
{
    stream_config c;
    c.set_memcpy(MEMCPY_NONTEMPORAL);
    EXPECT_EQ(c.get_memcpy(), MEMCPY_NONTEMPORAL);
    EXPECT_FALSE(c.get_memcpy_choice().is_custom());
    c.set_memcpy(packet_memcpy_function([](const memory_allocator::pointer &, const packet_header &) {}));
    EXPECT_THROW(c.get_memcpy(), std::invalid_argument);
    EXPECT_EQ(c.get_memcpy_choice().get_kind(), memcpy_choice::kind::per_packet);
    EXPECT_EQ(c.get_memcpy_choice().get_function(), nullptr);
    EXPECT_NE(stream_config(c).get_memcpy_choice().get_packet_function(), nullptr);
    int context = 0;
    c.set_memcpy([](void *, void *, const void *, std::size_t) {}, &context);
    EXPECT_THROW(c.get_memcpy(), std::invalid_argument);
    EXPECT_EQ(c.get_memcpy_choice().get_kind(), memcpy_choice::kind::with_context);
    EXPECT_EQ(c.get_memcpy_choice().get_context(), &context);
    EXPECT_EQ(c.get_memcpy_choice().get_packet_function(), nullptr);
    EXPECT_THROW(c.set_memcpy(memcpy_context_function_t(nullptr), &context), std::invalid_argument);
    c.set_memcpy(MEMCPY_STD);
    EXPECT_EQ(c.get_memcpy(), MEMCPY_STD);
    EXPECT_NE(c.get_memcpy_choice().get_function(), nullptr);
}

TEST(stream_config, add_stat)
{
    stream_config c;
    EXPECT_EQ(c.next_stat_index(), 9u);
    EXPECT_EQ(c.add_stat("foo"), 9u);
    EXPECT_EQ(c.add_stat("bar", stream_stat_config::mode::MAXIMUM), 10u);
    EXPECT_EQ(c.next_stat_index(), 11u);
    EXPECT_THROW(c.add_stat("foo"), std::invalid_argument);
    EXPECT_THROW(c.add_stat("heaps"), std::invalid_argument);
    EXPECT_EQ(c.get_stat_index("bar"), 10u);
    EXPECT_THROW(c.get_stat_index("baz"), std::out_of_range);
    // Copies are deep.
    stream_config d = c;
    d.add_stat("baz");
    EXPECT_EQ(c.get_stats().size(), 11u);
    EXPECT_EQ(d.get_stats().size(), 12u);
    c = d;
    d.add_stat("qux");
    EXPECT_EQ(c.get_stats().size(), 12u);
}

TEST(stream_stat_config, combine_and_compare)
{
    stream_stat_config a("a"), b("b", stream_stat_config::mode::MAXIMUM);
    EXPECT_EQ(a.combine(3, 4), 7u);
    EXPECT_EQ(b.combine(3, 4), 4u);
    EXPECT_EQ(b.combine(5, 4), 5u);
    EXPECT_EQ(a, stream_stat_config("a"));
    EXPECT_NE(a, stream_stat_config("a", stream_stat_config::mode::MAXIMUM));
    EXPECT_NE(a, b);
}

TEST(stream_stats, access)
{
    stream_config c;
    c.add_stat("foo");
    auto config = std::make_shared<const std::vector<stream_stat_config>>(c.get_stats());
    stream_stats s(config);
    EXPECT_EQ(s.size(), 10u);
    s.heaps = 5;
    EXPECT_EQ(s[stream_stat_indices::HEAPS], 5u);
    EXPECT_EQ(s["heaps"], 5u);
    s["foo"] = 7;
    EXPECT_EQ(s[9], 7u);
    EXPECT_EQ(s.at(9), 7u);
    EXPECT_THROW(s.at(10), std::out_of_range);
    EXPECT_THROW(s.at("bar"), std::out_of_range);
    EXPECT_EQ(s.find_index("foo"), 9u);
    EXPECT_EQ(s.find_index("bar"), 10u);
    EXPECT_TRUE(s.contains("worker_blocked"));
    // The map interface, as spead2 has it.
    EXPECT_EQ(s.count("foo"), 1u);
    EXPECT_EQ(s.count("bar"), 0u);
    EXPECT_EQ(s.find("bar"), s.end());
    auto it = s.find("foo");
    ASSERT_NE(it, s.end());
    EXPECT_EQ(it->first, "foo");
    it->second = 8;
    EXPECT_EQ(s["foo"], 8u);
    EXPECT_EQ(it.index(), 9u);
    std::vector<std::string> names;
    std::uint64_t total = 0;
    for (const auto &[name, value] : s)
    {
        names.push_back(name);
        total += value;
    }
    EXPECT_EQ(names.size(), 10u);
    EXPECT_EQ(names.front(), "heaps");
    EXPECT_EQ(names.back(), "foo");
    EXPECT_EQ(total, 5u + 8u);
    const stream_stats &cs = s;
    stream_stats::const_iterator cit = s.find("heaps"); // from a mutable iterator
    EXPECT_EQ(cit, cs.begin());
    EXPECT_NE(s.find("heaps"), cs.end()); // a mutable and a const iterator compare
    static_assert(!std::is_convertible_v<stream_stats::const_iterator, stream_stats::iterator>);
    static_assert(std::forward_iterator<stream_stats::iterator>);
    EXPECT_EQ(std::distance(cs.begin(), cs.end()), 10);
    // Copies have their own values (the reference members must not alias the source).
    stream_stats t = s;
    t.heaps = 6;
    EXPECT_EQ(s.heaps, 5u);
    EXPECT_EQ(t["heaps"], 6u);
    stream_stats u;
    u = t;
    EXPECT_EQ(u.heaps, 6u);
    EXPECT_EQ(u["foo"], 8u);
    u.packets = 1;
    EXPECT_EQ(t.packets, 0u);
}

TEST(stream_stats, add)
{
    stream_stats a, b;
    a.heaps = 1;
    a.max_batch = 10;
    b.heaps = 2;
    b.max_batch = 7;
    stream_stats c = a + b;
    EXPECT_EQ(c.heaps, 3u);
    EXPECT_EQ(c.max_batch, 10u);
    a += b;
    EXPECT_EQ(a.heaps, 3u);
    stream_config cfg;
    cfg.add_stat("foo");
    stream_stats d(std::make_shared<const std::vector<stream_stat_config>>(cfg.get_stats()));
    EXPECT_THROW(a + d, std::invalid_argument);
    EXPECT_THROW(a += d, std::invalid_argument);
    // Same content, different list object: compatible.
    stream_stats e(std::make_shared<const std::vector<stream_stat_config>>(stream_config().get_stats()));
    e.heaps = 4;
    EXPECT_EQ((a + e).heaps, 7u);
    EXPECT_THROW(stream_stats(nullptr), std::invalid_argument);
    EXPECT_THROW(stream_stats(a.get_config_ptr(), std::vector<std::uint64_t>(3)), std::invalid_argument);
}

} // namespace
} // namespace spead2::recv
