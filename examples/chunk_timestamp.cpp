// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunking receiver example: heaps carrying a timestamp item are placed by timestamp into
/// chunks of 8 heaps. The program sends its own heaps through an in-process queue (skipping a
/// few, to show the presence flags), receives them with a chunk_stream and prints each chunk.
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/send/heap.h>
#include <spead2/send/inproc_stream.h>

namespace
{

constexpr spead2::s_item_pointer_t timestamp_id = 0x1600;
constexpr spead2::s_item_pointer_t samples_id = 0x3300;
constexpr std::uint64_t timestamp_step = 1024; // timestamp units per heap
constexpr std::size_t heap_bytes = 64;
constexpr std::size_t heaps_per_chunk = 8;
constexpr int total_heaps = 32;

bool skipped(int i)
{
    return i == 5 || i == 19 || i == 20;
}

void send_and_wait(spead2::send::stream &stream, const spead2::send::heap &heap)
{
    std::promise<void> done;
    stream.async_send_heap(heap,
                           [&done](const std::error_code &ec, spead2::item_pointer_t)
                           {
                               if (ec)
                                   done.set_exception(std::make_exception_ptr(std::system_error(ec)));
                               else
                                   done.set_value();
                           });
    done.get_future().get();
}

void send(const std::shared_ptr<spead2::inproc_queue> &queue)
{
    spead2::thread_pool thread_pool;
    spead2::send::inproc_stream stream(thread_pool, {queue}, spead2::send::stream_config());
    for (int i = 0; i < total_heaps; i++)
    {
        if (skipped(i))
            continue;
        std::vector<std::uint8_t> samples(heap_bytes, std::uint8_t(i));
        spead2::send::heap heap;
        heap.add_item(timestamp_id, std::uint64_t(i) * timestamp_step);
        heap.add_item(samples_id, samples.data(), samples.size(), false);
        send_and_wait(stream, heap);
    }
    spead2::send::heap end;
    end.add_end();
    send_and_wait(stream, end);
}

/// The place callback: chunk and position from the timestamp (items[0]) alone.
void place(spead2::recv::chunk_place_data *data, std::size_t)
{
    const std::int64_t timestamp = data->items[0];
    if (timestamp < 0 || data->items[1] != std::int64_t(heap_bytes))
        return; // no timestamp, or not the heap size we expect: rejected
    const std::uint64_t heap_number = std::uint64_t(timestamp) / timestamp_step;
    data->chunk_id = std::int64_t(heap_number / heaps_per_chunk);
    data->heap_index = heap_number % heaps_per_chunk;
    data->heap_offset = data->heap_index * heap_bytes;
}

} // namespace

int main()
{
    auto queue = std::make_shared<spead2::inproc_queue>();
    int errors = 0;
    int chunks = 0;
    spead2::thread_pool thread_pool;
    spead2::recv::chunk_stream_config chunk_config;
    chunk_config.set_items({timestamp_id, spead2::HEAP_LENGTH_ID})
        .set_max_chunks(2)
        .set_place(place)
        .set_allocate(
            [](std::int64_t, std::uint64_t *)
            {
                auto c = std::make_unique<spead2::recv::chunk>();
                c->present = spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk](), {});
                c->present_size = heaps_per_chunk;
                c->data =
                    spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk * heap_bytes](), {});
                c->data_size = heaps_per_chunk * heap_bytes;
                return c;
            })
        .set_ready(
            [&](std::unique_ptr<spead2::recv::chunk> &&c, std::uint64_t *)
            {
                // Runs on the worker thread, in chunk order.
                chunks++;
                std::printf("chunk %" PRId64 ": ", c->chunk_id);
                for (std::size_t h = 0; h < c->present_size; h++)
                {
                    const int heap = int(c->chunk_id * heaps_per_chunk + h);
                    std::putchar(c->present[h] ? '#' : '.');
                    const bool ok =
                        c->present[h] ? c->data[h * heap_bytes] == std::uint8_t(heap) : skipped(heap);
                    if (!ok)
                        errors++;
                }
                std::putchar('\n');
            });
    {
        spead2::recv::chunk_stream stream(thread_pool, spead2::recv::stream_config().set_max_heaps(4),
                                          chunk_config);
        stream.emplace_reader<spead2::recv::inproc_reader>(queue);
        send(queue);
        queue->stop();
        // The end-of-stream heap stops the stream, which readies the last chunks.
        while (!stream.is_stopped())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        spead2::recv::stream_stats stats = stream.get_stats();
        std::printf("heaps %" PRIu64 ", too_old_heaps %" PRIu64 ", rejected_heaps %" PRIu64 "\n",
                    stats["heaps"], stats["too_old_heaps"], stats["rejected_heaps"]);
    }
    if (chunks != total_heaps / int(heaps_per_chunk))
        errors++;
    std::printf("%s\n", errors ? "MISMATCH" : "ok");
    return errors ? 1 : 0;
}
