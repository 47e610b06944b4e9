// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Test helpers for chunk streams: heaps that say where they go, and a matching place callback.
#ifndef SPEAD2_TESTS_RECV_CHUNK_TEST_UTIL_H
#define SPEAD2_TESTS_RECV_CHUNK_TEST_UTIL_H

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/recv/chunk.h>
#include "recv/test_packets.h"

namespace spead2::recv::test
{

constexpr item_pointer_t chunk_item = 0x1000;
constexpr item_pointer_t index_item = 0x1001;

/// One heap of @a hsize bytes (filled with cnt) in @a npk packets, keeping only the packets in @a only.
inline bytes heap_packets(s_item_pointer_t cnt, s_item_pointer_t chunk, s_item_pointer_t idx, int hsize = 4,
                          int npk = 1, std::vector<int> only = {})
{
    bytes out;
    const int per = hsize / npk;
    for (int k = 0; k < npk; k++)
    {
        if (!only.empty() && std::find(only.begin(), only.end(), k) == only.end())
            continue;
        std::vector<item_pointer_t> items;
        if (chunk >= 0)
            items.push_back(imm(chunk_item, chunk));
        items.push_back(imm(index_item, idx));
        auto p = make_packet(cnt, k * per, std::string(per, char(cnt)), hsize, items);
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

/// chunk_id = item 0x1000, heap_index = item 0x1001, heap_offset = heap_index * HEAP_LENGTH.
inline void place_by_items(chunk_place_data *data, std::size_t size)
{
    ASSERT_EQ(size, sizeof(chunk_place_data));
    if (data->items[0] == -1 || data->items[1] == -1)
        return;
    data->chunk_id = data->items[0];
    data->heap_index = std::size_t(data->items[1]);
    data->heap_offset = std::size_t(data->items[1] * data->items[2]);
}

inline std::string fill(std::initializer_list<std::pair<int, int>> runs)
{
    std::string out;
    for (auto [value, count] : runs)
        out.append(std::size_t(count), char(value));
    return out;
}

/// A chunk with zeroed present (@a present_size) and data (@a data_size) buffers.
inline std::unique_ptr<chunk> make_chunk(std::size_t present_size, std::size_t data_size)
{
    auto c = std::make_unique<chunk>();
    c->present = memory_allocator::pointer(new std::uint8_t[present_size](), {});
    c->present_size = present_size;
    c->data = memory_allocator::pointer(new std::uint8_t[data_size](), {});
    c->data_size = data_size;
    return c;
}

/// The presence flags of @a c.
inline std::vector<int> presence(const chunk &c)
{
    return std::vector<int>(c.present.get(), c.present.get() + c.present_size);
}

} // namespace spead2::recv::test

#endif // SPEAD2_TESTS_RECV_CHUNK_TEST_UTIL_H
