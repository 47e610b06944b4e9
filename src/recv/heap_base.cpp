// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Freezing a live heap into items, and the heap kinds built on that.
#include <algorithm>
#include <array>
#include <cinttypes>
#include <span>
#include <stdexcept>
#include <string>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/heap_base.h>
#include <spead2/recv/incomplete_heap.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/mem_to_stream.h>
#include <spead2/recv/stream_base.h>

namespace spead2::recv
{

void heap_base::load(live_heap &&h, bool keep_addressed, bool keep_payload)
{
    cnt_ = h.get_cnt();
    flavour_ = flavour(h.get_heap_address_bits(), h.get_bug_compat());
    const pointer_decoder decoder(h.get_heap_address_bits());

    // (mode flag, address) as one sortable key: addressed items first, in address order.
    const int hab = h.get_heap_address_bits();
    auto key = [hab](item_pointer_t p) { return (p >> 63) << hab | (p & ((item_pointer_t(1) << hab) - 1)); };
    const std::size_t n_pointers = h.get_num_pointers();
    // Typical heaps have a handful of pointers: sort those on the stack by insertion (stable, and
    // no temporary buffer as std::stable_sort allocates), once per heap on the consumer's thread.
    constexpr std::size_t small_heap = 16;
    std::array<item_pointer_t, small_heap> small_pointers;
    std::vector<item_pointer_t> large_pointers;
    std::span<item_pointer_t> pointers;
    if (n_pointers <= small_heap)
    {
        pointers = std::span<item_pointer_t>(small_pointers.data(), n_pointers);
        std::copy(h.pointers_begin(), h.pointers_end(), pointers.begin());
        for (std::size_t i = 1; i < n_pointers; i++)
        {
            const item_pointer_t p = pointers[i];
            const auto k = key(p);
            std::size_t j = i;
            for (; j > 0 && k < key(pointers[j - 1]); j--)
                pointers[j] = pointers[j - 1];
            pointers[j] = p;
        }
    }
    else
    {
        large_pointers.assign(h.pointers_begin(), h.pointers_end());
        std::stable_sort(large_pointers.begin(), large_pointers.end(),
                         [&key](item_pointer_t a, item_pointer_t b) { return key(a) < key(b); });
        pointers = std::span<item_pointer_t>(large_pointers);
    }

    std::size_t n_immediate = 0;
    for (item_pointer_t p : pointers)
        if (pointer_decoder::is_immediate(p) && decoder.get_id(p) != NULL_ID)
            n_immediate++;
    if (n_immediate > 0)
        immediate_payload_ = std::make_unique<std::uint8_t[]>(n_immediate * sizeof(item_pointer_t));

    // Addressed items end where the next addressed pointer (NULL ones included) starts.
    // Only used for contiguous heaps (incomplete ones keep no addressed items), where the received
    // length covers HEAP_LENGTH and every address.
    const s_item_pointer_t heap_end = h.get_received_length();
    payload_ = h.release_payload();
    std::size_t imm_index = 0;
    items_.reserve(pointers.size());
    for (std::size_t i = 0; i < pointers.size(); i++)
    {
        const item_pointer_t p = pointers[i];
        const s_item_pointer_t id = decoder.get_id(p);
        if (pointer_decoder::is_immediate(p))
        {
            if (id == NULL_ID)
                continue;
            std::uint8_t *slot = immediate_payload_.get() + imm_index * sizeof(item_pointer_t);
            imm_index++;
            store_be<item_pointer_t>(slot, p);
            item it;
            it.id = id;
            it.is_immediate = true;
            it.immediate_value = item_pointer_t(decoder.get_immediate(p));
            it.length = std::size_t(hab / 8);
            it.ptr = slot + sizeof(item_pointer_t) - it.length;
            items_.push_back(it);
        }
        else
        {
            if (!keep_addressed || id == NULL_ID)
                continue;
            const s_item_pointer_t start = decoder.get_address(p);
            s_item_pointer_t end = heap_end;
            if (i + 1 < pointers.size() && !pointer_decoder::is_immediate(pointers[i + 1]))
                end = decoder.get_address(pointers[i + 1]);
            // A heap is only frozen with addresses inside it, but be defensive: never point out of it.
            if (end <= start || end > heap_end || !payload_)
                continue;
            item it;
            it.id = id;
            it.ptr = payload_.get() + start;
            it.length = std::size_t(end - start);
            items_.push_back(it);
        }
    }
    if (!keep_payload)
        payload_.reset();
}

namespace
{

bool has_ctrl(const std::vector<item> &items, item_pointer_t value)
{
    for (const item &it : items)
        if (it.id == STREAM_CTRL_ID && it.is_immediate && it.immediate_value == value)
            return true;
    return false;
}

} // namespace

bool heap_base::is_start_of_stream() const
{
    return has_ctrl(items_, CTRL_STREAM_START);
}

bool heap_base::is_end_of_stream() const
{
    return has_ctrl(items_, CTRL_STREAM_STOP);
}

heap::heap(live_heap &&h)
{
    if (!h.is_contiguous())
        throw std::invalid_argument("heap " + std::to_string(h.get_cnt()) + " is not contiguous");
    load(std::move(h), true, true);
}

namespace
{

/// A synchronous stream that keeps the complete heaps it assembles.
class descriptor_stream : public stream_base
{
public:
    std::vector<live_heap> heaps;

    using stream_base::stream_base;
    ~descriptor_stream() override { stop(); }

protected:
    void heap_ready(live_heap &&h) override
    {
        if (h.is_contiguous())
            heaps.push_back(std::move(h));
    }
};

/// The items of @a h, as fields of the descriptor that @a h is.
std::optional<descriptor> decode_descriptor_heap(const heap &h, bug_compat_mask bug_compat)
{
    std::vector<descriptor_field> fields;
    for (const item &it : h.get_items())
        fields.push_back({it.id, it.is_immediate, it.immediate_value, it.ptr, it.length});
    return decode_descriptor_fields(fields, h.get_flavour().get_heap_address_bits(), bug_compat);
}

/**
 * Decodes a DESCRIPTOR value of several packets as spead2 does: through a private stream of one
 * heap at a time, each complete heap giving a descriptor (several back to back, or one split).
 */
void decode_descriptor_packets(const std::uint8_t *data, std::size_t size, bug_compat_mask bug_compat,
                               std::vector<descriptor> &out)
{
    // No heap in the value can hold more payload than the value itself.
    descriptor_stream s(stream_config().set_max_heaps(1).set_bug_compat(bug_compat).set_max_heap_size(size));
    mem_to_stream(s, data, size);
    for (live_heap &assembled : s.heaps)
    {
        auto d = decode_descriptor_heap(heap(std::move(assembled)), bug_compat);
        if (d)
            out.push_back(std::move(*d));
    }
}

} // namespace

std::vector<descriptor> heap::get_descriptors() const
{
    std::vector<descriptor> out;
    const bug_compat_mask bug_compat = get_flavour().get_bug_compat();
    for (const item &it : get_items())
    {
        if (it.id != DESCRIPTOR_ID || it.is_immediate)
            continue;
        // Senders write the whole descriptor heap as one packet: decode that directly.
        packet_header first;
        if (decode_packet(first, it.ptr, it.length) == it.length)
        {
            auto d = decode_descriptor(it.ptr, it.length, bug_compat);
            if (d)
                out.push_back(std::move(*d));
        }
        else
            decode_descriptor_packets(it.ptr, it.length, bug_compat, out);
    }
    return out;
}

descriptor heap::to_descriptor() const
{
    return decode_descriptor_heap(*this, get_flavour().get_bug_compat()).value_or(descriptor{});
}

incomplete_heap::incomplete_heap(live_heap &&h, bool keep_payload, bool keep_payload_ranges)
    : heap_length_(h.get_heap_length())
    , received_length_(h.get_received_length())
{
    if (keep_payload_ranges)
        payload_ranges_ = h.get_payload_ranges();
    load(std::move(h), false, keep_payload);
}

} // namespace spead2::recv
