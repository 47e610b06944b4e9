// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Threaded tests: ring_stream with mem and inproc readers on a thread_pool, stop semantics,
/// back-pressure and explicit start.
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <ranges>
#include <thread>
#include <gtest/gtest.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/logging.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/recv/mem_reader.h>
#include <spead2/recv/ring_stream.h>
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

using namespace std::chrono_literals;

/// Captures log messages for the lifetime of the object.
class log_capture
{
private:
    log_function_type old_;
    static std::mutex &mutex()
    {
        static std::mutex m;
        return m;
    }
    static std::vector<std::string> &messages()
    {
        static std::vector<std::string> m;
        return m;
    }

public:
    log_capture()
    {
        messages().clear();
        old_ = set_log_function(
            [](log_level, const std::string &msg)
            {
                std::lock_guard<std::mutex> lock(mutex());
                messages().push_back(msg);
            });
    }
    ~log_capture() { set_log_function(old_); }
    std::vector<std::string> get() const
    {
        std::lock_guard<std::mutex> lock(mutex());
        return messages();
    }
    std::size_t count(const std::string &msg) const
    {
        auto m = get();
        return std::size_t(std::count(m.begin(), m.end(), msg));
    }
};

bytes single_heaps(int n, int first = 1)
{
    bytes buf;
    for (int c = first; c < first + n; c++)
    {
        auto p = make_packet(c, 0, "abcd", 4, {addr(0x1000, 0), imm(0x1001, c)});
        buf.insert(buf.end(), p.begin(), p.end());
    }
    return buf;
}

/// A reader that produces nothing but claims to be lossy (for the blocked-worker warning).
class lossy_dummy_reader : public reader
{
public:
    using reader::reader;
    void stop() override {}
    bool lossy() const override { return true; }
};

TEST(ring_stream, mem_reader_end_to_end)
{
    thread_pool tp;
    auto buf = concat({single_heaps(5), make_packet(6, 0, "ab", 4)});
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(16));
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    std::vector<s_item_pointer_t> cnts;
    for (int i = 0; i < 5; i++)
    {
        heap h = s.pop();
        cnts.push_back(h.get_cnt());
        EXPECT_EQ(describe_items(h), "4096=abcd,4097#" + std::to_string(h.get_cnt()));
    }
    EXPECT_EQ(cnts, (std::vector<s_item_pointer_t>{1, 2, 3, 4, 5}));
    // Heap 6 is incomplete and contiguous_only drops it; then the ring reports the stop.
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
    EXPECT_EQ(core_stats(s), (std::vector<std::uint64_t>{6, 0, 1, 6, 1, 6, 5, 1, 0}));
}

static_assert(std::ranges::input_range<ring_stream<>>);

TEST(ring_stream, range_for_gives_the_heaps_pop_gives)
{
    thread_pool tp;
    // The incomplete heap 1 goes to the ring (contiguous_only false) and is skipped, as pop() does.
    auto buf = concat({make_packet(1, 0, "abcd", 8), single_heaps(3, 2)});
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_contiguous_only(false));
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    std::vector<s_item_pointer_t> cnts;
    for (heap h : s) // by value, as spead2's documentation writes it
        cnts.push_back(h.get_cnt());
    EXPECT_EQ(cnts, (std::vector<s_item_pointer_t>{2, 3, 4}));
}

TEST(ring_stream, heap_to_descriptor)
{
    thread_pool tp;
    descriptor d;
    d.id = 0x1234;
    d.name = "timestamp";
    d.description = "sample count";
    d.format = {{'u', 48}};
    // A descriptor heap as its own heap: its items are the descriptor's fields.
    std::vector<std::uint8_t> buf = encode_descriptor(d, flavour());
    auto plain = single_heaps(1, 100);
    buf.insert(buf.end(), plain.begin(), plain.end());
    ring_stream<> s(tp);
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    EXPECT_EQ(s.pop().to_descriptor(), d);
    EXPECT_EQ(s.pop().to_descriptor(), descriptor{}); // no DESCRIPTOR_ID_ID
}

TEST(ring_stream, contiguous_only_false_delivers_incomplete)
{
    thread_pool tp;
    log_capture logs;
    auto buf = concat({make_packet(1, 0, "abcd", 8, {imm(0x1001, 9)}), make_packet(2, 0, "ab", 2)});
    {
        ring_stream<> s(tp, stream_config(), ring_stream_config().set_contiguous_only(false));
        s.emplace_reader<mem_reader>(buf.data(), buf.size());
        live_heap a = s.pop_live();
        EXPECT_EQ(a.get_cnt(), 2);
        EXPECT_TRUE(a.is_complete());
        live_heap b = s.pop_live();
        EXPECT_EQ(b.get_cnt(), 1);
        EXPECT_FALSE(b.is_contiguous());
        incomplete_heap ih(std::move(b), false, false);
        EXPECT_EQ(describe_items(ih), "4097#9");
        EXPECT_THROW(s.pop_live(), ringbuffer_stopped);
    }
    {
        ring_stream<> s(tp);
        s.emplace_reader<mem_reader>(buf.data(), buf.size());
        EXPECT_EQ(s.pop().get_cnt(), 2);
        EXPECT_THROW(s.pop(), ringbuffer_stopped);
    }
    EXPECT_EQ(logs.count("dropped incomplete heap 1 (4/8 bytes of payload)"), 1u);
}

TEST(ring_stream, inproc_reader_end_to_end)
{
    thread_pool tp;
    auto queue = std::make_shared<inproc_queue>();
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(2));
    s.emplace_reader<inproc_reader>(queue);
    std::thread producer(
        [&]
        {
            for (int c = 1; c <= 100; c++)
            {
                auto p = make_packet(c, 0, "wxyz", 4, {addr(0x1000, 0)});
                queue->add_packet(p.data(), p.size());
            }
            // A packet whose decoded size disagrees with the queue entry is dropped.
            auto bad = make_packet(500, 0, "ab", 2);
            bad.push_back(0);
            queue->add_packet(bad.data(), bad.size());
            queue->stop();
        });
    s_item_pointer_t expected = 1;
    for (const heap &h : s)
    {
        EXPECT_EQ(h.get_cnt(), expected);
        expected++;
    }
    producer.join();
    EXPECT_EQ(expected, 101);
    auto st = s.get_stats();
    EXPECT_EQ(st.heaps, 100u);
    EXPECT_EQ(st.packets, 100u);
    EXPECT_EQ(st.single_packet_heaps, 100u);
    EXPECT_GE(st.batches, 1u);
    EXPECT_LE(st.max_batch, 64u);
}

TEST(ring_stream, user_stop_unblocks_full_ring)
{
    thread_pool tp;
    log_capture logs;
    auto buf = single_heaps(10);
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(2));
    s.emplace_reader<lossy_dummy_reader>();
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    // The worker fills the ring and blocks on heap 3; stats must stay readable meanwhile.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (s.get_stats().worker_blocked == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    ASSERT_EQ(s.get_stats().worker_blocked, 1u);
    EXPECT_EQ(logs.count("worker thread blocked by full ringbuffer on heap 3"), 1u);
    // What the blocked batch did so far is in the statistics already.
    EXPECT_EQ(s.get_stats().heaps, 3u);
    EXPECT_EQ(s.get_stats().packets, 3u);
    std::thread stopper([&] { s.stop(); });
    stopper.join();
    s.stop(); // idempotent
    // Queued heaps are still returned, then the ring reports the stop.
    EXPECT_EQ(s.pop().get_cnt(), 1);
    EXPECT_EQ(s.pop().get_cnt(), 2);
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
    for (int c = 3; c <= 10; c++)
        EXPECT_EQ(logs.count("dropped heap " + std::to_string(c) + " due to external stop"), 1u) << c;
    auto st = s.get_stats();
    EXPECT_EQ(st.heaps, 10u);
    EXPECT_EQ(st.packets, 10u);
    EXPECT_EQ(st.worker_blocked, 1u);
}

TEST(ring_stream, add_reader_while_worker_blocked)
{
    // Adding a reader must not wait behind a worker blocked on a full ring (DESIGN.md).
    thread_pool tp;
    auto buf = single_heaps(6);
    auto more = single_heaps(3, 7);
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(2));
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (s.get_stats().worker_blocked == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    ASSERT_EQ(s.get_stats().worker_blocked, 1u);
    auto added =
        std::async(std::launch::async, [&] { s.emplace_reader<mem_reader>(more.data(), more.size()); });
    ASSERT_EQ(added.wait_for(5s), std::future_status::ready)
        << "emplace_reader waited for the blocked worker";
    added.get();
    std::vector<s_item_pointer_t> cnts;
    while (true)
    {
        try
        {
            cnts.push_back(s.pop().get_cnt());
        }
        catch (ringbuffer_stopped &)
        {
            break;
        }
    }
    // The first reader's end stops the stream; heaps of the second may or may not precede it.
    ASSERT_GE(cnts.size(), 6u);
    EXPECT_EQ(std::vector<s_item_pointer_t>(cnts.begin(), cnts.begin() + 2),
              (std::vector<s_item_pointer_t>{1, 2}));
}

TEST(ring_stream, blocked_warning_only_with_lossy_reader)
{
    thread_pool tp;
    log_capture logs;
    auto buf = single_heaps(4);
    ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(1));
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    for (int c = 1; c <= 4; c++)
    {
        std::this_thread::sleep_for(5ms);
        EXPECT_EQ(s.pop().get_cnt(), c);
    }
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
    EXPECT_GE(s.get_stats().worker_blocked, 1u);
    for (const auto &m : logs.get())
        EXPECT_EQ(m.find("worker thread blocked"), std::string::npos) << m;
}

TEST(ring_stream, stop_from_other_thread_wakes_consumer)
{
    thread_pool tp;
    auto queue = std::make_shared<inproc_queue>();
    ring_stream<> s(tp);
    s.emplace_reader<inproc_reader>(queue);
    std::thread stopper(
        [&]
        {
            std::this_thread::sleep_for(20ms);
            s.stop();
        });
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
    stopper.join();
    EXPECT_TRUE(s.is_stopped());
    // Adding a reader after a stop is silently ignored.
    s.emplace_reader<inproc_reader>(queue);
    EXPECT_EQ(s.get_stats().packets, 0u);
}

TEST(ring_stream, explicit_start)
{
    thread_pool tp;
    auto buf = single_heaps(2);
    ring_stream<> s(tp, stream_config().set_explicit_start(true));
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(s.get_stats().packets, 0u);
    EXPECT_THROW(s.try_pop(), ringbuffer_empty);
    s.start();
    s.start();
    EXPECT_EQ(s.pop().get_cnt(), 1);
    EXPECT_EQ(s.pop().get_cnt(), 2);
    EXPECT_THROW(s.pop(), ringbuffer_stopped);
    try
    {
        s.emplace_reader<mem_reader>(buf.data(), buf.size());
        FAIL() << "expected runtime_error";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_STREQ(e.what(), "Cannot add readers after explicit start");
    }
}

TEST(ring_stream, destroy_with_pending_handlers)
{
    thread_pool tp(2);
    auto buf = single_heaps(50);
    for (int i = 0; i < 20; i++)
    {
        auto queue = std::make_shared<inproc_queue>();
        auto p = make_packet(1, 0, "ab", 2);
        queue->add_packet(p.data(), p.size());
        ring_stream<> s(tp, stream_config(), ring_stream_config().set_heaps(1));
        s.emplace_reader<inproc_reader>(queue);
        s.emplace_reader<mem_reader>(buf.data(), buf.size());
        // Destroyed at once: handlers that run afterwards must not touch the stream or readers.
    }
}

TEST(ring_stream_config, validation)
{
    ring_stream_config c;
    EXPECT_EQ(c.get_heaps(), 4u);
    EXPECT_TRUE(c.get_contiguous_only());
    EXPECT_FALSE(c.get_incomplete_keep_payload_ranges());
    EXPECT_THROW(c.set_heaps(0), std::invalid_argument);
    c.set_heaps(9).set_contiguous_only(false).set_incomplete_keep_payload_ranges(true);
    EXPECT_EQ(c.get_heaps(), 9u);
    EXPECT_FALSE(c.get_contiguous_only());
    EXPECT_TRUE(c.get_incomplete_keep_payload_ranges());
}

} // namespace
} // namespace spead2::recv::test
