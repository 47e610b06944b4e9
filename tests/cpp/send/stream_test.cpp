// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// send::stream queueing, cnt sequence, groups and completions, observed through streambuf_stream.
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <thread>
#include <vector>
#include <gtest/gtest.h>
#include <asio/use_future.hpp>
#include <spead2/common/thread_pool.h>
#include <spead2/send/heap.h>
#include <spead2/send/packet_generator.h>
#include <spead2/send/streambuf_stream.h>
#include "send/send_test_util.h"

namespace spead2::send
{
namespace
{

using test::completion_log;
using test::split_packets;

/// A stringbuf whose writes block while the gate is closed, to hold heaps in the queue.
class gated_buf : public std::stringbuf
{
private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = true;
    bool waiting_ = false;

protected:
    std::streamsize xsputn(const char *s, std::streamsize n) override
    {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            waiting_ = true;
            cv_.notify_all();
            cv_.wait(lock, [this] { return open_; });
            waiting_ = false;
        }
        return std::stringbuf::xsputn(s, n);
    }

public:
    void close()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        open_ = false;
    }
    void open()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }
    /// Waits until the writer is blocked in a write.
    void wait_blocked()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return waiting_; });
    }
};

/// A streambuf that accepts nothing.
class full_buf : public std::streambuf
{
protected:
    std::streamsize xsputn(const char *, std::streamsize) override { return 0; }
};

class stream_fixture : public ::testing::Test
{
protected:
    thread_pool tp{1};
    std::stringbuf sb;
};

std::size_t heap_bytes(const heap &h, item_pointer_t cnt, std::size_t mps = 1472)
{
    packet_generator gen(h, cnt, mps);
    std::size_t total = 0;
    while (gen.has_next_packet())
        total += gen.next_packet().size();
    return total;
}

TEST_F(stream_fixture, completions_in_order_with_byte_counts)
{
    streambuf_stream s(tp, sb);
    std::vector<std::uint8_t> data(5000, 1);
    heap big, small;
    big.add_item(0x1000, data.data(), data.size(), false);
    small.add_item(0x1000, std::uint64_t(5));
    completion_log log;
    ASSERT_TRUE(s.async_send_heap(big, log.handler(0)));
    ASSERT_TRUE(s.async_send_heap(small, log.handler(1)));
    ASSERT_TRUE(s.async_send_heap(big, log.handler(2)));
    auto entries = log.wait(3);
    s.flush();
    ASSERT_EQ(entries.size(), 3u);
    for (int i = 0; i < 3; i++)
    {
        EXPECT_EQ(entries[i].tag, i);
        EXPECT_FALSE(entries[i].ec);
    }
    EXPECT_EQ(entries[0].bytes, heap_bytes(big, 1));
    EXPECT_EQ(entries[1].bytes, heap_bytes(small, 2));
    EXPECT_EQ(entries[2].bytes, heap_bytes(big, 3));
    EXPECT_EQ(sb.str().size(), entries[0].bytes + entries[1].bytes + entries[2].bytes);
    auto packets = split_packets(sb.str());
    ASSERT_EQ(packets.size(), 4u + 1 + 4);
    EXPECT_EQ(packets[0].cnt, 1u);
    EXPECT_EQ(packets[4].cnt, 2u);
    EXPECT_EQ(packets[5].cnt, 3u);
}

/// The asio::use_future token, as spead2's tutorials send with it.
TEST_F(stream_fixture, use_future_token)
{
    streambuf_stream s(tp, sb);
    heap h;
    h.add_item(0x1000, std::uint64_t(5));
    std::future<item_pointer_t> sent = s.async_send_heap(h, asio::use_future);
    EXPECT_EQ(sent.get(), heap_bytes(h, 1));
    std::future<item_pointer_t> bad = s.async_send_heap(h, asio::use_future, -1, 1); // no substream 1
    try
    {
        bad.get();
        ADD_FAILURE() << "no exception";
    }
    catch (std::system_error &e)
    {
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
    }
    std::vector<heap_reference> group{heap_reference(h), heap_reference(h)};
    std::future<item_pointer_t> both =
        s.async_send_heaps(group.begin(), group.end(), asio::use_future, group_mode::SERIAL);
    EXPECT_EQ(both.get(), heap_bytes(h, 2) + heap_bytes(h, 3));
}

TEST_F(stream_fixture, output_matches_packet_generator)
{
    streambuf_stream s(tp, sb, stream_config().set_max_packet_size(200));
    std::vector<std::uint8_t> data(1000);
    for (std::size_t i = 0; i < data.size(); i++)
        data[i] = std::uint8_t(i * 7);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    h.add_item(0x1001, std::uint64_t(99));
    completion_log log;
    s.async_send_heap(h, log.handler(0), 1234);
    log.wait(1);
    s.flush();
    packet_generator gen(h, 1234, 200);
    std::string expected;
    while (gen.has_next_packet())
    {
        auto p = gen.next_packet();
        expected.append(p.begin(), p.end());
    }
    EXPECT_EQ(sb.str(), expected);
}

TEST_F(stream_fixture, huge_max_packet_size_allocates_by_header)
{
    // Buffers follow the headers actually written, not max_packet_size: 64 headers of 2^58 bytes
    // used to overflow, and of 2^31 bytes to fail allocation (spead2 accepts both).
    std::vector<std::uint8_t> data(3000, 7);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    for (std::size_t mps : {std::size_t(1) << 31, std::size_t(1) << 58})
    {
        SCOPED_TRACE(mps);
        std::stringbuf out;
        streambuf_stream s(tp, out, stream_config().set_max_packet_size(mps));
        completion_log log;
        s.async_send_heap(h, log.handler(0), 5);
        EXPECT_EQ(log.wait(1)[0].bytes, heap_bytes(h, 5, mps));
        s.flush();
        packet_generator gen(h, 5, mps);
        EXPECT_EQ(gen.get_max_header_size(), 48u);
        const auto packet = gen.next_packet();
        EXPECT_EQ(out.str(), std::string(packet.begin(), packet.end()));
    }
}

TEST_F(stream_fixture, inline_send_runs_on_caller_with_same_bytes)
{
    std::vector<std::uint8_t> data(1000);
    for (std::size_t i = 0; i < data.size(); i++)
        data[i] = std::uint8_t(i * 7);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    h.add_item(0x1001, std::uint64_t(99));
    heap h2;
    h2.add_item(0x1002, std::uint64_t(7));

    std::stringbuf posted;
    {
        streambuf_stream s(tp, posted, stream_config().set_max_packet_size(200));
        completion_log log;
        ASSERT_TRUE(s.async_send_heap(h, log.handler(0), 1234));
        std::vector<heap_reference> refs{heap_reference(h2), heap_reference(h, 5)};
        ASSERT_TRUE(s.async_send_heaps(refs.begin(), refs.end(), log.handler(1), group_mode::ROUND_ROBIN));
        log.wait(2);
        s.flush();
    }

    streambuf_stream s(tp, sb, stream_config().set_max_packet_size(200));
    const auto caller = std::this_thread::get_id();
    std::vector<std::thread::id> ran_on;
    std::vector<item_pointer_t> bytes;
    auto handler = [&](const std::error_code &ec, item_pointer_t n)
    {
        EXPECT_FALSE(ec);
        ran_on.push_back(std::this_thread::get_id());
        bytes.push_back(n);
    };
    // The writer is idle, so the whole heap is sent and completed before the call returns.
    ASSERT_TRUE(s.async_send_heap_inline(h, handler, 1234));
    ASSERT_EQ(ran_on.size(), 1u);
    EXPECT_EQ(ran_on[0], caller);
    EXPECT_EQ(bytes[0], heap_bytes(h, 1234, 200));
    std::vector<heap_reference> refs{heap_reference(h2), heap_reference(h, 5)};
    ASSERT_TRUE(s.async_send_heaps_inline(refs.begin(), refs.end(), handler, group_mode::ROUND_ROBIN));
    ASSERT_EQ(ran_on.size(), 2u);
    EXPECT_EQ(ran_on[1], caller);
    EXPECT_EQ(bytes[1], heap_bytes(h2, 1, 200) + heap_bytes(h, 5, 200));
    s.flush();
    EXPECT_EQ(sb.str(), posted.str());
}

TEST_F(stream_fixture, inline_send_hands_later_heaps_to_the_io_context)
{
    streambuf_stream s(tp, sb);
    heap h;
    h.add_item(0x1000, std::uint64_t(1));
    const auto caller = std::this_thread::get_id();
    std::mutex mutex;
    std::condition_variable cv;
    std::thread::id first_on, second_on;
    bool second_done = false;
    auto second = [&](const std::error_code &, item_pointer_t)
    {
        std::lock_guard<std::mutex> lock(mutex);
        second_on = std::this_thread::get_id();
        second_done = true;
        cv.notify_all();
    };
    // The first heap's handler queues another heap while the inline run is in progress: the
    // caller finishes its own heap and leaves the new one to the io_context thread.
    ASSERT_TRUE(s.async_send_heap_inline(h,
                                         [&](const std::error_code &, item_pointer_t)
                                         {
                                             first_on = std::this_thread::get_id();
                                             EXPECT_TRUE(s.async_send_heap(h, second));
                                         }));
    EXPECT_EQ(first_on, caller);
    {
        std::unique_lock<std::mutex> lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return second_done; }));
    }
    EXPECT_NE(second_on, caller);
    s.flush();
    EXPECT_EQ(sb.str().size(), 2 * heap_bytes(h, 1));
}

TEST_F(stream_fixture, inline_send_while_writer_busy_is_queued)
{
    gated_buf gb;
    streambuf_stream s(tp, gb);
    heap h;
    h.add_item(0x1000, std::uint64_t(1));
    completion_log log;
    gb.close();
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
    gb.wait_blocked();
    // The io_context thread holds the writer: the inline call only queues (and does not block).
    ASSERT_TRUE(s.async_send_heap_inline(h, log.handler(1)));
    gb.open();
    auto entries = log.wait(2);
    s.flush();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].tag, 0);
    EXPECT_EQ(entries[1].tag, 1);
    EXPECT_EQ(gb.str().size(), 2 * heap_bytes(h, 1));
}

TEST_F(stream_fixture, queue_full_then_ok_after_completion)
{
    gated_buf gb;
    streambuf_stream s(tp, gb, stream_config().set_max_heaps(2));
    heap h;
    completion_log log;
    gb.close();
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
    gb.wait_blocked(); // heap 0 is being written and still holds its slot
    ASSERT_TRUE(s.async_send_heap(h, log.handler(1)));
    EXPECT_FALSE(s.async_send_heap(h, log.handler(2)));
    gb.open();
    auto entries = log.wait(3);
    s.flush();
    // The failure is reported through the handler (posted), and may overtake the others.
    int found = 0;
    for (const auto &e : entries)
    {
        if (e.tag == 2)
        {
            EXPECT_EQ(e.ec, std::error_code(EAGAIN, std::system_category()));
            EXPECT_EQ(e.bytes, 0u);
            found++;
        }
        else
        {
            EXPECT_FALSE(e.ec);
        }
    }
    EXPECT_EQ(found, 1);
    ASSERT_TRUE(s.async_send_heap(h, log.handler(3)));
    log.wait(4);
    s.flush();
    // The failed heap did not use a cnt: heaps got 1, 2, 3.
    auto packets = split_packets(gb.str());
    ASSERT_EQ(packets.size(), 3u);
    EXPECT_EQ(packets[0].cnt, 1u);
    EXPECT_EQ(packets[1].cnt, 2u);
    EXPECT_EQ(packets[2].cnt, 3u);
}

TEST_F(stream_fixture, group_is_all_or_nothing)
{
    gated_buf gb;
    streambuf_stream s(tp, gb, stream_config().set_max_heaps(4));
    heap h;
    completion_log log;
    gb.close();
    ASSERT_TRUE(s.async_send_heap(h, log.handler(0)));
    gb.wait_blocked();
    ASSERT_TRUE(s.async_send_heap(h, log.handler(1)));
    std::vector<heap_reference> group = {heap_reference(h), heap_reference(h), heap_reference(h)};
    EXPECT_FALSE(s.async_send_heaps(group.begin(), group.end(), log.handler(2), group_mode::SERIAL));
    // An invalid member rejects the whole group, even with room
    gb.open();
    log.wait(3);
    s.flush();
    std::vector<heap_reference> bad = {heap_reference(h), heap_reference(h, std::int64_t(1) << 40)};
    EXPECT_FALSE(s.async_send_heaps(bad.begin(), bad.end(), log.handler(3), group_mode::SERIAL));
    auto entries = log.wait(4);
    ASSERT_TRUE(s.async_send_heaps(group.begin(), group.end(), log.handler(4), group_mode::SERIAL));
    entries = log.wait(5);
    s.flush();
    EXPECT_EQ(entries[4].tag, 4);
    EXPECT_FALSE(entries[4].ec);
    EXPECT_EQ(entries[4].bytes, 3 * heap_bytes(h, 3)); // one completion for the whole group
    for (const auto &e : entries)
    {
        if (e.tag == 2)
        {
            EXPECT_EQ(e.ec, std::error_code(EAGAIN, std::system_category()));
        }
        else if (e.tag == 3)
        {
            EXPECT_EQ(e.ec, std::error_code(EINVAL, std::system_category()));
        }
    }
    auto packets = split_packets(gb.str());
    ASSERT_EQ(packets.size(), 5u);
    for (std::size_t i = 0; i < packets.size(); i++)
        EXPECT_EQ(packets[i].cnt, i + 1) << "failed groups must not consume cnts";
}

TEST_F(stream_fixture, invalid_requests)
{
    streambuf_stream s(tp, sb);
    heap h;
    completion_log log;
    EXPECT_FALSE(s.async_send_heap(h, log.handler(0), -1, 1)); // one substream only
    EXPECT_FALSE(s.async_send_heap(h, log.handler(1), std::int64_t(1) << 40));
    std::vector<heap_reference> empty;
    EXPECT_FALSE(s.async_send_heaps(empty.begin(), empty.end(), log.handler(2), group_mode::ROUND_ROBIN));
    auto entries = log.wait(3);
    for (const auto &e : entries)
        EXPECT_EQ(e.ec, std::error_code(EINVAL, std::system_category())) << e.tag;
    EXPECT_TRUE(s.async_send_heap(h, log.handler(3), (std::int64_t(1) << 40) - 1));
    heap h48{flavour(48)};
    EXPECT_TRUE(s.async_send_heap(h48, log.handler(4), std::int64_t(1) << 40)); // fits in 48 bits
    log.wait(5);
    s.flush();
    // Two packets of different flavours
    std::string out = sb.str();
    auto *bytes = reinterpret_cast<const std::uint8_t *>(out.data());
    auto first = test::parse_packet(bytes, 40);
    EXPECT_EQ(first.cnt, (item_pointer_t(1) << 40) - 1);
    ASSERT_LT(first.size, out.size());
    auto second = test::parse_packet(bytes + first.size, 48);
    EXPECT_EQ(second.cnt, item_pointer_t(1) << 40);
    EXPECT_EQ(first.size + second.size, out.size());
}

TEST_F(stream_fixture, unsendable_heap_throws)
{
    streambuf_stream s(tp, sb, stream_config().set_max_packet_size(48));
    heap h;
    completion_log log;
    EXPECT_THROW(s.async_send_heap(h, log.handler(0)), std::invalid_argument);
}

TEST_F(stream_fixture, cnt_sequence_and_wrap)
{
    streambuf_stream s(tp, sb);
    EXPECT_THROW(s.set_cnt_sequence(1, 0), std::invalid_argument);
    s.set_cnt_sequence((item_pointer_t(1) << 40) - 2, 1);
    heap h;
    completion_log log;
    for (int i = 0; i < 4; i++)
        ASSERT_TRUE(s.async_send_heap(h, log.handler(i)));
    log.wait(4);
    s.flush();
    s.set_cnt_sequence(10, 5);
    s.async_send_heap(h, log.handler(4));
    s.async_send_heap(h, log.handler(5), 3); // explicit: does not advance the sequence
    s.async_send_heap(h, log.handler(6));
    log.wait(7);
    s.flush();
    auto packets = split_packets(sb.str());
    ASSERT_EQ(packets.size(), 7u);
    std::vector<item_pointer_t> cnts;
    for (const auto &p : packets)
        cnts.push_back(p.cnt);
    item_pointer_t top = item_pointer_t(1) << 40;
    EXPECT_EQ(cnts, (std::vector<item_pointer_t>{top - 2, top - 1, 0, 1, 10, 3, 15}));
}

std::vector<item_pointer_t> group_order(group_mode mode)
{
    thread_pool tp(1);
    std::stringbuf sb;
    streambuf_stream s(tp, sb, stream_config().set_max_packet_size(96));
    std::vector<std::uint8_t> data(200);
    heap a, b, c;
    a.add_item(0x1000, data.data(), 150, false); // 3 packets (56 bytes of payload each)
    b.add_item(0x1000, data.data(), 10, false);  // 1 packet
    c.add_item(0x1000, data.data(), 100, false); // 2 packets
    std::vector<heap_reference> group = {heap_reference(a, 1), heap_reference(b, 2), heap_reference(c, 3)};
    completion_log log;
    EXPECT_TRUE(s.async_send_heaps(group.begin(), group.end(), log.handler(0), mode));
    auto entries = log.wait(1);
    s.flush();
    EXPECT_FALSE(entries[0].ec);
    EXPECT_EQ(entries[0].bytes, sb.str().size());
    std::vector<item_pointer_t> cnts;
    for (const auto &p : split_packets(sb.str()))
        cnts.push_back(p.cnt);
    return cnts;
}

TEST(stream, round_robin_interleaves)
{
    EXPECT_EQ(group_order(group_mode::ROUND_ROBIN), (std::vector<item_pointer_t>{1, 2, 3, 1, 3, 1}));
}

TEST(stream, serial_sends_heaps_in_turn)
{
    EXPECT_EQ(group_order(group_mode::SERIAL), (std::vector<item_pointer_t>{1, 1, 1, 2, 3, 3}));
}

TEST_F(stream_fixture, handler_can_queue_more)
{
    streambuf_stream s(tp, sb, stream_config().set_max_heaps(1));
    heap h;
    completion_log log;
    std::promise<bool> requeued;
    ASSERT_TRUE(s.async_send_heap(h,
                                  [&](const std::error_code &, item_pointer_t)
                                  {
                                      // The slot is free before the handler runs.
                                      requeued.set_value(s.async_send_heap(h, log.handler(1)));
                                  }));
    EXPECT_TRUE(requeued.get_future().get());
    log.wait(1);
    s.flush();
    EXPECT_EQ(split_packets(sb.str()).size(), 2u);
}

TEST_F(stream_fixture, write_error_reported)
{
    full_buf fb;
    streambuf_stream s(tp, fb);
    heap h;
    completion_log log;
    s.async_send_heap(h, log.handler(0));
    auto entries = log.wait(1);
    s.flush();
    EXPECT_EQ(entries[0].ec, std::error_code(EIO, std::system_category()));
}

TEST_F(stream_fixture, many_heaps_through_small_queue)
{
    streambuf_stream s(tp, sb, stream_config().set_max_heaps(3));
    heap h;
    std::vector<std::uint8_t> data(3000, 9);
    h.add_item(0x1000, data.data(), data.size(), false);
    completion_log log;
    int sent = 0;
    while (sent < 200)
    {
        if (s.async_send_heap(h, log.handler(sent)))
            sent++;
        else
        {
            log.wait(1);
            s.flush();
        }
    }
    s.flush();
    auto packets = split_packets(sb.str());
    EXPECT_EQ(packets.size(), 200u * 3);
    // Every accepted heap went out exactly once, in cnt order.
    for (std::size_t i = 0; i < packets.size(); i++)
        EXPECT_EQ(packets[i].cnt, i / 3 + 1);
}

TEST_F(stream_fixture, rate_limit_end_to_end)
{
    // 5 MB/s, 64 KiB bursts: 500 KB takes at least (500000 - 65536) / 5e6 = 87 ms.
    streambuf_stream s(tp, sb, stream_config().set_rate(5e6).set_max_heaps(8));
    std::vector<std::uint8_t> data(50000, 1);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    completion_log log;
    auto start = std::chrono::steady_clock::now();
    int sent = 0;
    while (sent < 10)
    {
        if (s.async_send_heap(h, log.handler(sent)))
            sent++;
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    s.flush();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(elapsed, 0.087);
    EXPECT_LT(elapsed, 5.0);
    // Per-heap rate 0 overrides the stream rate: fast.
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < 8; i++)
        ASSERT_TRUE(s.async_send_heap(h, log.handler(100 + i), -1, 0, 0.0));
    s.flush();
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(elapsed, 0.05);
}

TEST_F(stream_fixture, flush_queued_waits_for_heaps_queued_before)
{
    gated_buf gb;
    streambuf_stream s(tp, gb);
    heap h;
    h.add_item(0x1000, std::uint64_t(5));
    std::atomic<int> done{0};
    auto count = [&](const std::error_code &, item_pointer_t) { done++; };
    gb.close();
    for (int i = 0; i < 3; i++)
        ASSERT_TRUE(s.async_send_heap(h, count));
    gb.wait_blocked();
    auto flushed = std::async(std::launch::async, [&] { s.flush_queued(); });
    EXPECT_EQ(flushed.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
    gb.open();
    flushed.get();
    EXPECT_EQ(done.load(), 3);
}

TEST_F(stream_fixture, flush_queued_ends_while_handlers_keep_queueing)
{
    // Each handler queues the next heap before the writer can go idle, so flush() could never
    // return until the chain stops; flush_queued() only waits for the first heap.
    for (bool run_inline : {false, true})
    {
        SCOPED_TRACE(run_inline);
        streambuf_stream s(tp, sb);
        heap h;
        h.add_item(0x1000, std::uint64_t(5));
        std::atomic<bool> stop{false};
        std::atomic<int> handled{0};
        std::function<void(const std::error_code &, item_pointer_t)> chain;
        chain = [&](const std::error_code &, item_pointer_t)
        {
            handled++;
            if (!stop)
                s.async_send_heap(h, chain);
        };
        if (run_inline)
            ASSERT_TRUE(s.async_send_heap_inline(h, chain));
        else
            ASSERT_TRUE(s.async_send_heap(h, chain));
        s.flush_queued();
        EXPECT_GE(handled.load(), 1);
        stop = true;
        s.flush();
    }
}

} // namespace
} // namespace spead2::send
