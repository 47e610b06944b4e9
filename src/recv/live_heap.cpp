// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Reassembly of one heap: consistency checks, range tracking, the single payload copy.
#include <algorithm>
#include <cinttypes>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/pointer_codec.h>
#include <spead2/recv/detail/payload_sink.h>
#include <spead2/recv/live_heap.h>

namespace spead2::recv
{

live_heap::live_heap(const packet_header &initial_packet, bug_compat_mask bug_compat)
    : cnt_(initial_packet.heap_cnt)
    , heap_address_bits_(initial_packet.heap_address_bits)
    , bug_compat_(bug_compat)
{
}

bool live_heap::add_payload_range(s_item_pointer_t first, s_item_pointer_t last)
{
    // Find the first range that ends after `first`: the only one that can overlap or touch it
    // from the left is its predecessor (touching only).
    std::size_t pos = 0;
    while (pos < ranges_.size() && ranges_[pos].second < first)
        pos++;
    if (pos < ranges_.size())
    {
        const payload_range &r = ranges_[pos];
        if (r.first <= first && last <= r.second && r.second != first)
        {
            SPEAD2_LOG_DEBUG("packet rejected because it is a duplicate");
            return false;
        }
        // Overlap (as opposed to merely touching at r.second == first or r.first == last).
        if (r.first < last && first < r.second)
        {
            SPEAD2_LOG_WARNING("packet rejected because it partially overlaps existing payload");
            return false;
        }
        if (pos + 1 < ranges_.size() && ranges_[pos + 1].first < last)
        {
            SPEAD2_LOG_WARNING("packet rejected because it partially overlaps existing payload");
            return false;
        }
    }
    // Insert at pos, merging with a neighbour that touches.
    const bool merge_left = pos < ranges_.size() && ranges_[pos].second == first;
    if (merge_left)
    {
        ranges_[pos].second = last;
        if (pos + 1 < ranges_.size() && ranges_[pos + 1].first == last)
        {
            ranges_[pos].second = ranges_[pos + 1].second;
            ranges_.erase(pos + 1);
        }
    }
    else if (pos < ranges_.size() && ranges_[pos].first == last)
        ranges_[pos].first = first;
    else
        ranges_.insert(pos, payload_range(first, last));
    return true;
}

void live_heap::remove_payload_range(s_item_pointer_t first, s_item_pointer_t last)
{
    // [first, last) was merged into exactly one range.
    for (std::size_t i = 0; i < ranges_.size(); i++)
        if (ranges_[i].first <= first && last <= ranges_[i].second)
        {
            const payload_range r = ranges_[i];
            ranges_.erase(i);
            if (last < r.second)
                ranges_.insert(i, payload_range(last, r.second));
            if (r.first < first)
                ranges_.insert(i, payload_range(r.first, first));
            return;
        }
}

void live_heap::add_pointers(const packet_header &packet)
{
    const pointer_decoder decoder(heap_address_bits_);
    for (int i = packet.leading_specials; i < packet.n_items; i++)
    {
        const item_pointer_t pointer = load_be<item_pointer_t>(packet.pointers + i * sizeof(item_pointer_t));
        const s_item_pointer_t id = decoder.get_id(pointer);
        // The packet specials describe the packet, not the heap; NULL stays (it bounds addresses).
        if (id != NULL_ID && id <= PAYLOAD_LENGTH_ID)
            continue;
        const bool immediate = pointer_decoder::is_immediate(pointer);
        if (!immediate)
            min_length_ = std::max(min_length_, decoder.get_address(pointer));
        else if (id == STREAM_CTRL_ID && decoder.get_immediate(pointer) == CTRL_STREAM_STOP)
            end_of_stream_ = true;

        bool seen;
        if (seen_pointers_)
            seen = !seen_pointers_->insert(pointer).second;
        else
        {
            seen = std::find(pointers_.begin(), pointers_.end(), pointer) != pointers_.end();
            if (!seen && pointers_.size() >= inline_pointers)
            {
                seen_pointers_ =
                    std::make_unique<std::unordered_set<item_pointer_t>>(pointers_.begin(), pointers_.end());
                seen_pointers_->insert(pointer);
            }
        }
        if (!seen)
            pointers_.push_back(pointer);
    }
}

bool live_heap::add_packet(const packet_header &packet, const detail::live_heap_config &config,
                           std::size_t slot, bool first_packet)
{
    if (heap_length_ >= 0 && packet.heap_length >= 0 && packet.heap_length != heap_length_)
    {
        SPEAD2_LOG_INFO("packet rejected because its HEAP_LEN is inconsistent with the heap");
        return false;
    }
    if (packet.heap_length >= 0 && packet.heap_length < min_length_)
    {
        SPEAD2_LOG_INFO("packet rejected because its HEAP_LEN is too small for the heap");
        return false;
    }
    if (packet.heap_address_bits != heap_address_bits_)
    {
        SPEAD2_LOG_INFO("packet rejected because its flavour is inconsistent with the heap");
        return false;
    }
    const s_item_pointer_t first = packet.payload_offset;
    const s_item_pointer_t last = first + packet.payload_length;
    // decode_packet checked the packet against its own HEAP_LENGTH; one without must still fit
    // the length an earlier packet gave.
    if (heap_length_ >= 0 && last > heap_length_)
    {
        SPEAD2_LOG_INFO("packet rejected because payload would overflow given heap length");
        return false;
    }
    const s_item_pointer_t max_size = s_item_pointer_t(config.max_heap_size);
    if (packet.heap_length > max_size || last > max_size)
    {
        SPEAD2_LOG_INFO("packet rejected because heap %" PRId64 " would exceed max_heap_size (%zu bytes)",
                        std::int64_t(cnt_), config.max_heap_size);
        return false;
    }
    if (!config.allow_out_of_order)
    {
        if (first != received_length_)
        {
            if (first < received_length_)
                SPEAD2_LOG_WARNING(
                    "packet rejected because it is out-of-order in the heap (you might need to "
                    "set allow_out_of_order to true in the stream config)");
            else
                SPEAD2_LOG_DEBUG("packet rejected because there is a gap in the heap and allow_out_of_order "
                                 "is false");
            return false;
        }
    }
    else if (packet.payload_length > 0)
    {
        if (!add_payload_range(first, last))
            return false;
        out_of_order_ = true;
    }

    // From here on the packet is accepted, unless the sink refuses it (out of memory, which is
    // rare): then only the length and the range bookkeeping above can have changed, so undo them.
    const s_item_pointer_t old_heap_length = heap_length_;
    if (packet.heap_length >= 0)
        heap_length_ = packet.heap_length;
    if (!config.sink->write(slot, *this, packet, first_packet))
    {
        heap_length_ = old_heap_length;
        if (config.allow_out_of_order && packet.payload_length > 0)
            remove_payload_range(first, last);
        return false;
    }
    add_pointers(packet);
    min_length_ = std::max(min_length_, last);
    received_length_ += packet.payload_length;
    return true;
}

std::vector<live_heap::payload_range> live_heap::get_payload_ranges() const
{
    if (out_of_order_)
        return std::vector<payload_range>(ranges_.begin(), ranges_.end());
    if (received_length_ > 0)
        return {payload_range(0, received_length_)};
    return {};
}

} // namespace spead2::recv
