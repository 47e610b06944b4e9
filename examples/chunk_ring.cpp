// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk ring example: a chunk_ring_stream takes empty chunks from a free ring and delivers
/// full ones on a data ring; the consumer (here the main thread) checks each chunk and hands it
/// back to the free ring, so a small pool of chunks is recycled. Packets come from an
/// in-process sender in this program.
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
#include <spead2/recv/chunk_ring_stream.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/send/heap.h>
#include <spead2/send/inproc_stream.h>

namespace
{

constexpr spead2::s_item_pointer_t index_id = 0x1600;
constexpr spead2::s_item_pointer_t payload_id = 0x3300;
constexpr std::size_t heap_bytes = 256;
constexpr std::size_t heaps_per_chunk = 16;
constexpr int total_heaps = 40 * int(heaps_per_chunk);
constexpr int pool_chunks = 4;

typedef spead2::ringbuffer<std::unique_ptr<spead2::recv::chunk>> chunk_ringbuffer;

void send(const std::shared_ptr<spead2::inproc_queue> &queue)
{
    spead2::thread_pool thread_pool;
    spead2::send::inproc_stream stream(thread_pool, {queue}, spead2::send::stream_config());
    std::vector<std::uint8_t> payload(heap_bytes);
    for (int i = 0; i <= total_heaps; i++)
    {
        spead2::send::heap heap;
        if (i < total_heaps)
        {
            std::fill(payload.begin(), payload.end(), std::uint8_t(i * 7));
            heap.add_item(index_id, std::uint64_t(i));
            heap.add_item(payload_id, payload.data(), payload.size(), false);
        }
        else
            heap.add_end();
        std::promise<void> done;
        stream.async_send_heap(heap, [&done](const std::error_code &, spead2::item_pointer_t)
                               { done.set_value(); });
        done.get_future().get();
    }
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
    auto queue = std::make_shared<spead2::inproc_queue>();
    auto data_ring = std::make_shared<chunk_ringbuffer>(pool_chunks);
    auto free_ring = std::make_shared<chunk_ringbuffer>(pool_chunks);
    spead2::thread_pool thread_pool;
    spead2::recv::chunk_stream_config chunk_config;
    chunk_config.set_items({index_id}).set_max_chunks(2).set_place(place);
    spead2::recv::chunk_ring_stream<> stream(thread_pool, spead2::recv::stream_config().set_max_heaps(4),
                                             chunk_config, data_ring, free_ring);
    for (int i = 0; i < pool_chunks; i++)
    {
        auto c = std::make_unique<spead2::recv::chunk>();
        c->present = spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk](), {});
        c->present_size = heaps_per_chunk;
        c->data = spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk * heap_bytes], {});
        c->data_size = heaps_per_chunk * heap_bytes;
        stream.add_free_chunk(std::move(c));
    }
    stream.emplace_reader<spead2::recv::inproc_reader>(queue);
    std::thread sender([&] { send(queue); });

    int chunks = 0, heaps = 0, errors = 0;
    std::int64_t expected_id = 0;
    for (std::unique_ptr<spead2::recv::chunk> c : *data_ring) // until the data ring stops
    {
        if (c->chunk_id != expected_id++)
            errors++;
        for (std::size_t h = 0; h < c->present_size; h++)
        {
            if (!c->present[h])
                continue;
            heaps++;
            const int heap = int(c->chunk_id * heaps_per_chunk + h);
            if (c->data[h * heap_bytes] != std::uint8_t(heap * 7))
                errors++;
        }
        chunks++;
        stream.add_free_chunk(std::move(c)); // recycle (zeroes present)
    }
    sender.join();
    queue->stop();
    spead2::recv::stream_stats stats = stream.get_stats();
    std::printf("received %d chunks with %d heaps using a pool of %d chunks; worker_blocked %" PRIu64 "\n",
                chunks, heaps, pool_chunks, stats["worker_blocked"]);
    if (heaps != total_heaps)
        errors++;
    std::printf("%s\n", errors ? "MISMATCH" : "ok");
    return errors ? 1 : 0;
}
