// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// chunk_ring_stream: ring delivery, network vs user stop with shared rings, stopping a worker
/// blocked on either ring, and shutdown with chunks in flight.
#include <chrono>
#include <memory>
#include <thread>
#include <gtest/gtest.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_ring_stream.h>
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
typedef chunk_ring_stream<> ring_chunk_stream;

chunk_stream_config make_chunk_config(std::size_t max_chunks = 2)
{
    return chunk_stream_config()
        .set_items({chunk_item, index_item, HEAP_LENGTH_ID})
        .set_place(place_by_items)
        .set_max_chunks(max_chunks);
}

struct rings
{
    std::shared_ptr<chunk_ring> data;
    std::shared_ptr<chunk_ring> free;

    rings(std::size_t data_cap, std::size_t free_cap, std::size_t n_chunks)
        : data(std::make_shared<chunk_ring>(data_cap))
        , free(std::make_shared<chunk_ring>(free_cap))
    {
        for (std::size_t i = 0; i < n_chunks; i++)
            free->push(make_chunk(4, 16));
    }
};

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

TEST(chunk_ring_stream, network_stop_delivers_then_stops_data_ring_only)
{
    thread_pool tp;
    rings r(4, 4, 4);
    auto buf = concat({heap_packets(1, 0, 0), heap_packets(2, 1, 2), heap_packets(3, 2, 3)});
    ring_chunk_stream s(tp, stream_config().set_stream_id(3), make_chunk_config(), r.data, r.free);
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    std::vector<std::int64_t> ids;
    std::vector<std::vector<int>> present;
    for (const auto &c : *r.data)
    {
        ids.push_back(c->chunk_id);
        present.push_back(presence(*c));
        EXPECT_EQ(c->stream_id, 3u);
    }
    EXPECT_EQ(ids, (std::vector<std::int64_t>{0, 1, 2}));
    EXPECT_EQ(present, (std::vector<std::vector<int>>{{1, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}));
    EXPECT_TRUE(r.data->is_stopped());
    EXPECT_FALSE(r.free->is_stopped());
    auto st = s.get_stats();
    EXPECT_EQ(st["heaps"], 3u);
    EXPECT_EQ(st["too_old_heaps"], 0u);
    EXPECT_EQ(st["worker_blocked"], 0u);
}

TEST(chunk_ring_stream, shared_rings_data_ring_stops_with_last_producer)
{
    thread_pool tp1, tp2;
    rings r(8, 8, 8);
    auto queue = std::make_shared<inproc_queue>();
    auto buf = concat({heap_packets(1, 0, 0), heap_packets(2, 1, 1)});
    ring_chunk_stream b(tp2, stream_config().set_stream_id(2), make_chunk_config(), r.data, r.free);
    b.emplace_reader<inproc_reader>(queue);
    ring_chunk_stream a(tp1, stream_config().set_stream_id(1), make_chunk_config(), r.data, r.free);
    a.emplace_reader<mem_reader>(buf.data(), buf.size());
    for (std::int64_t id : {0, 1})
    {
        auto c = r.data->pop();
        EXPECT_EQ(c->chunk_id, id);
        EXPECT_EQ(c->stream_id, 1u);
    }
    // A has stopped (network stop), but B still produces.
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(r.data->is_stopped());
    EXPECT_THROW(r.data->try_pop(), ringbuffer_empty);
    send_all(*queue, heap_packets(3, 5, 2));
    queue->stop();
    std::vector<std::int64_t> ids;
    for (const auto &c : *r.data)
    {
        EXPECT_EQ(c->stream_id, 2u);
        ids.push_back(c->chunk_id);
    }
    EXPECT_EQ(ids, (std::vector<std::int64_t>{4, 5}));
    EXPECT_TRUE(r.data->is_stopped());
    EXPECT_FALSE(r.free->is_stopped());
}

TEST(chunk_ring_stream, user_stop_stops_both_rings)
{
    thread_pool tp;
    rings r(4, 4, 4);
    auto queue = std::make_shared<inproc_queue>();
    ring_chunk_stream s(tp, stream_config(), make_chunk_config(), r.data, r.free);
    s.emplace_reader<inproc_reader>(queue);
    send_all(*queue, heap_packets(1, 0, 0));
    std::this_thread::sleep_for(50ms);
    s.stop();
    EXPECT_TRUE(r.data->is_stopped());
    EXPECT_TRUE(r.free->is_stopped());
    // The chunk in flight was not delivered (the data ring was already stopped).
    EXPECT_THROW(r.data->pop(), ringbuffer_stopped);
    s.stop(); // idempotent
}

TEST(chunk_ring_stream, stop_unblocks_worker_waiting_for_free_chunk)
{
    thread_pool tp;
    rings r(4, 2, 0);
    auto queue = std::make_shared<inproc_queue>();
    ring_chunk_stream s(tp, stream_config(), make_chunk_config(), r.data, r.free);
    s.emplace_reader<inproc_reader>(queue);
    send_all(*queue, heap_packets(1, 0, 0));
    std::this_thread::sleep_for(100ms); // the worker now waits in free_ring.pop()
    std::thread stopper([&] { s.stop(); });
    stopper.join();
    EXPECT_THROW(r.data->pop(), ringbuffer_stopped);
    auto st = s.get_stats();
    EXPECT_EQ(st["heaps"], 1u); // placed into a null chunk: dropped silently
    EXPECT_EQ(st["too_old_heaps"], 0u);
    EXPECT_EQ(st["rejected_heaps"], 0u);
}

TEST(chunk_ring_stream, stop_unblocks_worker_on_full_data_ring_and_frees_chunks)
{
    thread_pool tp;
    rings r(1, 4, 4);
    auto buf =
        concat({heap_packets(1, 0, 0), heap_packets(2, 1, 0), heap_packets(3, 2, 0), heap_packets(4, 3, 0)});
    ring_chunk_stream s(tp, stream_config(), make_chunk_config(1), r.data, r.free);
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    std::this_thread::sleep_for(100ms); // chunk 0 fills the ring; pushing chunk 1 blocks
    EXPECT_EQ(r.data->size(), 1u);
    s.stop();
    auto c = r.data->pop();
    EXPECT_EQ(c->chunk_id, 0);
    EXPECT_THROW(r.data->pop(), ringbuffer_stopped);
    // Chunks 1.. were freed by stop (ASan would report a leak otherwise).
    EXPECT_EQ(s.get_stats()["worker_blocked"], 1u);
}

TEST(chunk_ring_stream, destruction_with_chunks_in_flight)
{
    thread_pool tp;
    rings r(4, 4, 4);
    auto queue = std::make_shared<inproc_queue>();
    {
        ring_chunk_stream s(tp, stream_config(), make_chunk_config(), r.data, r.free);
        s.emplace_reader<inproc_reader>(queue);
        send_all(*queue, concat({heap_packets(1, 0, 0), heap_packets(2, 1, 0, 8, 2, {0})}));
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(r.data->is_stopped());
    EXPECT_EQ(r.free->size(), 2u);
}

TEST(chunk_ring_stream, add_free_chunk_and_user_ready)
{
    thread_pool tp;
    auto data = std::make_shared<chunk_ring>(4);
    auto free = std::make_shared<chunk_ring>(1);
    auto cc = make_chunk_config();
    cc.set_ready([](std::unique_ptr<chunk> &&c, std::uint64_t *) { c->present[3] = 9; });
    auto buf = heap_packets(1, 0, 1);
    ring_chunk_stream s(tp, stream_config().set_explicit_start(true), cc, data, free);
    auto dirty = make_chunk(4, 16);
    dirty->present[0] = 5;
    s.add_free_chunk(std::move(dirty));
    EXPECT_THROW(s.add_free_chunk(make_chunk(4, 16)), ringbuffer_full);
    s.emplace_reader<mem_reader>(buf.data(), buf.size());
    s.start();
    auto c = data->pop();
    EXPECT_EQ(presence(*c), (std::vector<int>{0, 1, 0, 9}));
    EXPECT_THROW(data->pop(), ringbuffer_stopped);
    EXPECT_EQ(s.get_data_ringbuffer(), data);
    EXPECT_EQ(s.get_free_ringbuffer(), free);
    free->stop();
    s.add_free_chunk(std::move(c)); // a stopped free ring silently drops the chunk
}

} // namespace
} // namespace spead2::recv::test
