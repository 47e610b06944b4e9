// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// GPU chunks: a chunk stream receives heaps straight into device memory (cuda_device_allocator
/// for the chunk data, cuda_copy_engine to move the payload) and the ready callback runs a CUDA
/// kernel on each chunk (the total power of its int8 samples), checked against the host's sum.
/// Exits with 77 (skipped) where no GPU can be used.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <spead2/common/cuda.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/cuda_copy_engine.h>
#include <spead2/recv/mem_to_stream.h>
#include <spead2/send/heap.h>
#include <spead2/send/streambuf_stream.h>

unsigned long long chunk_power(const void *device_samples, std::size_t n); // gpu_power.cu

namespace
{

constexpr spead2::s_item_pointer_t index_id = 0x1600;
constexpr spead2::s_item_pointer_t samples_id = 0x3300;
constexpr std::size_t heap_bytes = 8192;
constexpr std::size_t heaps_per_chunk = 64;
constexpr int total_heaps = 16 * int(heaps_per_chunk);

std::int8_t sample(int heap, std::size_t i)
{
    return std::int8_t((heap * 31 + int(i)) % 255 - 127);
}

/// Every heap's packets, as a sender would put them on the wire.
std::string make_packets()
{
    std::stringbuf buffer;
    spead2::thread_pool thread_pool;
    spead2::send::streambuf_stream stream(thread_pool, buffer, spead2::send::stream_config());
    std::vector<std::int8_t> samples(heap_bytes);
    for (int h = 0; h < total_heaps; h++)
    {
        for (std::size_t i = 0; i < heap_bytes; i++)
            samples[i] = sample(h, i);
        spead2::send::heap heap;
        heap.add_item(index_id, std::uint64_t(h));
        heap.add_item(samples_id, samples.data(), samples.size(), false);
        stream.async_send_heap(heap, [](const std::error_code &, spead2::item_pointer_t) {});
        stream.flush();
    }
    return buffer.str();
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
    std::string reason;
    if (!spead2::cuda_available(&reason))
    {
        std::printf("skipped: no GPU (%s)\n", reason.c_str());
        return 77;
    }
    auto device_memory = std::make_shared<spead2::cuda_device_allocator>(0);
    int chunks = 0, errors = 0;
    spead2::recv::chunk_stream_config chunk_config;
    chunk_config.set_items({index_id})
        .set_max_chunks(2)
        .set_place(place)
        .set_copy_engine(spead2::recv::cuda_copy_engine_factory(0))
        .set_allocate(
            [&](std::int64_t, std::uint64_t *)
            {
                auto c = std::make_unique<spead2::recv::chunk>();
                c->present = spead2::memory_allocator::pointer(new std::uint8_t[heaps_per_chunk](), {});
                c->present_size = heaps_per_chunk;
                c->data = device_memory->allocate(heaps_per_chunk * heap_bytes, nullptr);
                c->data_size = heaps_per_chunk * heap_bytes;
                c->data_on_device = true; // only the copy engine may fill it
                return c;
            })
        .set_ready(
            [&](std::unique_ptr<spead2::recv::chunk> &&c, std::uint64_t *)
            {
                // The data is on the device by now: the stream waited for its copies.
                const unsigned long long power = chunk_power(c->data.get(), c->data_size);
                unsigned long long expected = 0;
                for (std::size_t h = 0; h < heaps_per_chunk; h++)
                    for (std::size_t i = 0; i < heap_bytes; i++)
                    {
                        const int v =
                            sample(int(c->chunk_id * std::int64_t(heaps_per_chunk) + std::int64_t(h)), i);
                        expected += (unsigned long long)(v * v);
                    }
                std::printf("chunk %" PRId64 ": power %llu%s\n", c->chunk_id, power,
                            power == expected ? "" : " (MISMATCH)");
                errors += power != expected;
                chunks++;
            });
    const std::string packets = make_packets();
    {
        spead2::thread_pool thread_pool;
        spead2::recv::chunk_stream stream(thread_pool, spead2::recv::stream_config().set_max_heaps(4),
                                          chunk_config);
        spead2::recv::mem_to_stream(stream, reinterpret_cast<const std::uint8_t *>(packets.data()),
                                    packets.size());
        stream.stop();
    }
    std::printf("%d chunks received into device memory: %s\n", chunks, errors ? "MISMATCH" : "ok");
    return errors || chunks != total_heaps / int(heaps_per_chunk) ? 1 : 0;
}
