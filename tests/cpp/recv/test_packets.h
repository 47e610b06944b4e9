// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Test helpers: a tiny SPEAD packet encoder and a stream that collects its heaps.
#ifndef SPEAD2_TESTS_RECV_TEST_PACKETS_H
#define SPEAD2_TESTS_RECV_TEST_PACKETS_H

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/protocol/pointer_codec.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/incomplete_heap.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/mem_to_stream.h>
#include <spead2/recv/stream_base.h>

namespace spead2::recv::test
{

inline item_pointer_t imm(s_item_pointer_t id, s_item_pointer_t value, int hab = 40)
{
    return pointer_encoder(hab).make_immediate(id, value);
}

inline item_pointer_t addr(s_item_pointer_t id, s_item_pointer_t address, int hab = 40)
{
    return pointer_encoder(hab).make_address(id, address);
}

typedef std::vector<std::uint8_t> bytes;

/// HEAP_CNT, [HEAP_LENGTH], PAYLOAD_OFFSET, PAYLOAD_LENGTH, then @a items, then the payload.
inline bytes make_packet(s_item_pointer_t cnt, s_item_pointer_t offset, const std::string &payload,
                         s_item_pointer_t heap_length, std::vector<item_pointer_t> items = {}, int hab = 40)
{
    std::vector<item_pointer_t> ptrs{imm(HEAP_CNT_ID, cnt, hab)};
    if (heap_length >= 0)
        ptrs.push_back(imm(HEAP_LENGTH_ID, heap_length, hab));
    ptrs.push_back(imm(PAYLOAD_OFFSET_ID, offset, hab));
    ptrs.push_back(imm(PAYLOAD_LENGTH_ID, s_item_pointer_t(payload.size()), hab));
    ptrs.insert(ptrs.end(), items.begin(), items.end());
    bytes out(8 + 8 * ptrs.size() + payload.size());
    store_be<std::uint64_t>(out.data(), std::uint64_t(0x5304) << 48 | std::uint64_t((64 - hab) / 8) << 40 |
                                            std::uint64_t(hab / 8) << 32 | ptrs.size());
    for (std::size_t i = 0; i < ptrs.size(); i++)
        store_be<std::uint64_t>(out.data() + 8 + 8 * i, ptrs[i]);
    std::copy(payload.begin(), payload.end(), out.begin() + 8 + 8 * ptrs.size());
    return out;
}

inline bytes concat(std::initializer_list<bytes> parts)
{
    bytes out;
    for (const auto &p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

/// A short text form of a heap: "H<cnt>:id=bytes,id#value" or "I<cnt> len/received [ranges] items".
inline std::string describe_items(const heap_base &h)
{
    std::string out;
    for (const item &it : h.get_items())
    {
        if (!out.empty())
            out += ',';
        out += std::to_string(it.id);
        if (it.is_immediate)
            out += '#' + std::to_string(it.immediate_value);
        else
            out += '=' + std::string(reinterpret_cast<const char *>(it.ptr), it.length);
    }
    return out;
}

inline std::string describe(live_heap &&h)
{
    if (h.is_contiguous())
    {
        heap fh(std::move(h));
        return "H" + std::to_string(fh.get_cnt()) + ":" + describe_items(fh);
    }
    incomplete_heap ih(std::move(h), false, true);
    std::string out = "I" + std::to_string(ih.get_cnt()) + " " + std::to_string(ih.get_heap_length()) + "/" +
                      std::to_string(ih.get_received_length()) + " [";
    for (const auto &r : ih.get_payload_ranges())
        out += "(" + std::to_string(r.first) + "," + std::to_string(r.second) + ")";
    return out + "] " + describe_items(ih);
}

/// Collects heap descriptions synchronously (heap_ready runs in the feeding thread).
class collecting_stream : public stream_base
{
public:
    std::vector<std::string> heaps;
    std::vector<bool> complete;

    using stream_base::stream_base;
    ~collecting_stream() override { stop(); }

protected:
    void heap_ready(live_heap &&h) override
    {
        complete.push_back(h.is_complete());
        heaps.push_back(describe(std::move(h)));
    }
};

/// Core statistics in index order.
inline std::vector<std::uint64_t> core_stats(const stream_base &s)
{
    auto v = s.get_stats().get_values();
    v.resize(stream_stat_indices::custom);
    return v;
}

} // namespace spead2::recv::test

#endif // SPEAD2_TESTS_RECV_TEST_PACKETS_H
