// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk stream group example: two streams, each with its own thread and its own in-process
/// queue (standing in for two network ports), fill the same chunks; a single consumer pops
/// the chunks from one data ring. Stream 0 receives the even heaps and stream 1 the odd ones.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream_ring_group.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/send/heap.h>
#include <spead2/send/inproc_stream.h>

namespace
{

constexpr spead2::s_item_pointer_t index_id = 0x1600;
constexpr spead2::s_item_pointer_t payload_id = 0x3300;
constexpr std::size_t heap_bytes = 128;
constexpr std::size_t heaps_per_chunk = 8;
constexpr int total_heaps = 24 * int(heaps_per_chunk);
constexpr int n_streams = 2;

typedef spead2::ringbuffer<std::unique_ptr<spead2::recv::chunk>> chunk_ringbuffer;

/// Sends heaps i with i % n_streams == @a stream to @a queue, then an end-of-stream heap.
void send(const std::shared_ptr<spead2::inproc_queue> &queue, int stream_index)
{
    spead2::thread_pool thread_pool;
    spead2::send::inproc_stream stream(thread_pool, {queue}, spead2::send::stream_config());
    std::vector<std::uint8_t> payload(heap_bytes);
    auto send_and_wait = [&stream](const spead2::send::heap &heap)
    {
        std::promise<void> done;
        stream.async_send_heap(heap, [&done](const std::error_code &, spead2::item_pointer_t)
                               { done.set_value(); });
        done.get_future().get();
    };
    for (int i = stream_index; i < total_heaps; i += n_streams)
    {
        std::fill(payload.begin(), payload.end(), std::uint8_t(i));
        spead2::send::heap heap;
        heap.add_item(index_id, std::uint64_t(i));
        heap.add_item(payload_id, payload.data(), payload.size(), false);
        send_and_wait(heap);
    }
    spead2::send::heap end;
    end.add_end();
    send_and_wait(end);
}

void place(spead2::recv::chunk_place_data *data, std::size_t)
{
    if (data->items[0] < 0)
        return;
    data->chunk_id = data->items[0] / std::int64_t(heaps_per_chunk);
    data->heap_index = std::size_t(data->items[0]) % heaps_per_chunk;
    data->heap_offset = data->heap_index * heap_bytes;
}

} // namespace

int main()
{
    // Each member needs a thread of its own. The pools must outlive the group (declared first).
    std::vector<std::unique_ptr<spead2::thread_pool>> pools;
    std::vector<std::shared_ptr<spead2::inproc_queue>> queues;
    auto data_ring = std::make_shared<chunk_ringbuffer>(4);
    auto free_ring = std::make_shared<chunk_ringbuffer>(8);
    // LOSSLESS: a member that runs ahead waits for the other, so no heap is lost.
    spead2::recv::chunk_stream_ring_group<> group(
        spead2::recv::chunk_stream_group_config().set_max_chunks(4).set_eviction_mode(
            spead2::recv::chunk_stream_group_config::eviction_mode::LOSSLESS),
        data_ring, free_ring);
    for (int i = 0; i < 8; i++)
    {
        auto c = std::make_unique<spead2::recv::chunk>();
        c->present = spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk](), {});
        c->present_size = heaps_per_chunk;
        c->data = spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk * heap_bytes], {});
        c->data_size = heaps_per_chunk * heap_bytes;
        group.add_free_chunk(std::move(c));
    }

    spead2::recv::chunk_stream_config chunk_config;
    chunk_config.set_items({index_id}).set_max_chunks(2).set_place(place);
    for (int s = 0; s < n_streams; s++)
    {
        pools.push_back(std::make_unique<spead2::thread_pool>());
        queues.push_back(std::make_shared<spead2::inproc_queue>());
        group.emplace_back(*pools.back(), spead2::recv::stream_config().set_stream_id(s), chunk_config);
    }
    for (int s = 0; s < n_streams; s++)
        group[s].emplace_reader<spead2::recv::inproc_reader>(queues[s]);
    std::vector<std::thread> senders;
    for (int s = 0; s < n_streams; s++)
        senders.emplace_back([&, s] { send(queues[s], s); });

    int chunks = 0, heaps = 0, errors = 0;
    for (std::unique_ptr<spead2::recv::chunk> c : *data_ring) // stops when both members have stopped
    {
        for (std::size_t h = 0; h < c->present_size; h++)
        {
            if (!c->present[h])
                continue;
            heaps++;
            if (c->data[h * heap_bytes] != std::uint8_t(c->chunk_id * heaps_per_chunk + h))
                errors++;
        }
        chunks++;
        group.add_free_chunk(std::move(c));
    }
    for (auto &t : senders)
        t.join();
    for (int s = 0; s < n_streams; s++)
    {
        spead2::recv::stream_stats stats = group[s].get_stats();
        std::printf("stream %d: heaps %" PRIu64 ", too_old_heaps %" PRIu64 "\n", s, stats["heaps"],
                    stats["too_old_heaps"]);
    }
    std::printf("received %d chunks with %d heaps from %d streams\n", chunks, heaps, n_streams);
    if (heaps != total_heaps)
        errors++;
    std::printf("%s\n", errors ? "MISMATCH" : "ok");
    return errors ? 1 : 0;
}
