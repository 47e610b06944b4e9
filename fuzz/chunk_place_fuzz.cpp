// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Fuzz target: arbitrary bytes as back-to-back packets into a chunk_stream whose place callback
/// takes chunk ID, heap index, heap offset and extra placement straight from item values, so
/// that every bound the stream checks (window, presence, data and extra sizes) gets exercised.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <spead2/common/logging.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/mem_to_stream.h>

namespace
{

using namespace spead2;
using namespace spead2::recv;

volatile std::uint8_t sink;
constexpr std::size_t present_size = 8;
constexpr std::size_t data_size = 256;
constexpr std::size_t extra_size = 16;

std::unique_ptr<chunk> allocate(std::int64_t chunk_id, std::uint64_t *)
{
    if (chunk_id % 5 == 3)
        return nullptr; // exercise skipped chunks
    auto c = std::make_unique<chunk>();
    c->present = memory_allocator::pointer(new std::uint8_t[present_size](), {});
    c->present_size = present_size;
    c->data = memory_allocator::pointer(new std::uint8_t[data_size](), {});
    c->data_size = data_size;
    c->extra = memory_allocator::pointer(new std::uint8_t[extra_size](), {});
    c->extra_size = extra_size;
    return c;
}

void ready(std::unique_ptr<chunk> &&c, std::uint64_t *)
{
    std::uint8_t acc = 0;
    for (std::size_t i = 0; i < c->present_size; i++)
        acc ^= c->present[i];
    for (std::size_t i = 0; i < data_size; i++)
        acc ^= c->data[i];
    for (std::size_t i = 0; i < extra_size; i++)
        acc ^= c->extra[i];
    sink = acc;
}

void place(chunk_place_data *data, std::size_t)
{
    // items: 0x1000 chunk ID, 0x1001 heap index, 0x1002 heap offset, 0x1003 extra spec.
    if (data->items[0] == -1)
        return;
    data->chunk_id = data->items[0] - 2; // lets the wire ask for negative IDs too
    data->heap_index = std::size_t(data->items[1]);
    data->heap_offset = std::size_t(data->items[2]);
    if (data->items[3] != -1 && data->extra)
    {
        data->extra[0] = data->packet[data->packet_size - 1];
        data->extra_offset = std::size_t(data->items[3] >> 4);
        data->extra_size = std::size_t(data->items[3] & 7);
    }
    data->batch_stats[stream_stat_indices::custom]++; // too_old_heaps, through the batch
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static bool quiet = []
    {
        set_log_function([](log_level, const std::string &) {});
        return true;
    }();
    (void)quiet;
    static thread_pool pool(1);
    if (size < 1)
        return 0;
    // The first byte picks the configuration; the rest is the packet stream.
    const std::uint8_t mode = data[0];
    stream_config config;
    config.set_max_heaps(1 + (mode & 3)).set_allow_out_of_order(mode & 4).set_max_heap_size(1 << 16);
    chunk_stream_config chunk_config;
    chunk_config.set_items({0x1000, 0x1001, 0x1002, 0x1003})
        .set_max_chunks(1 + ((mode >> 3) & 3))
        .set_max_heap_extra(mode & 32 ? 4 : 0)
        .set_place(place)
        .set_allocate(allocate)
        .set_ready(ready);
    if (mode & 64)
        chunk_config.enable_packet_presence(1 + (mode >> 7) * 31);
    chunk_stream s(pool, config, chunk_config);
    mem_to_stream(s, data + 1, size - 1);
    sink = std::uint8_t(s.get_stats().heaps);
    return 0;
}
