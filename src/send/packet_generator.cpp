// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Packetisation of send heaps (API.md §3.4).
#include <algorithm>
#include <stdexcept>
#include <spead2/common/endian.h>
#include <spead2/protocol/pointer_codec.h>
#include <spead2/send/packet_generator.h>

namespace spead2::send
{

namespace
{

// Padding comes from here; a packet needing more is given several pieces of it.
constexpr std::size_t zeros_size = 64;
constexpr std::uint8_t zeros[zeros_size] = {};

std::size_t round_packet_size(std::size_t max_packet_size)
{
    return max_packet_size & ~std::size_t(7);
}

// Pointers that fit in one packet while leaving room for 8 bytes of payload.
std::size_t max_pointers(std::size_t rounded)
{
    return (rounded - 48) / 8;
}

} // namespace

void packet_generator::check(const heap &h, std::size_t max_packet_size)
{
    std::size_t rounded = round_packet_size(max_packet_size);
    if (rounded < min_packet_size)
        throw std::invalid_argument("packet size is too small");
    // One slot is kept for a possible NULL padding pointer, as spead2 does.
    if (h.get_repeat_pointers() && h.get_items().size() + 1 > max_pointers(rounded))
        throw std::invalid_argument("packet size is too small to repeat item pointers");
}

packet_generator::packet_generator(const heap &h, item_pointer_t cnt, std::size_t max_packet_size)
    : heap_(&h)
    , max_packet_size_(round_packet_size(max_packet_size))
    , heap_address_bits_(h.get_flavour().get_heap_address_bits())
{
    check(h, max_packet_size);
    cnt_ = cnt & ((item_pointer_t(1) << heap_address_bits_) - 1);
    max_item_pointers_ = max_pointers(max_packet_size_);
    const auto &items = h.get_items();
    for (const item &it : items)
        if (!is_immediate(it))
            payload_size_ += it.data.buffer.length;

    /* Every packet needs at least one byte of payload. Pointer packets other than the last are
     * full, each with room for (max_packet_size - 40 - 8 * max pointers) bytes, so the payload
     * must reach one byte into the last pointer packet. spead2 counts the pointer packets as if
     * the NULL pointer were always present; we do the same so the bytes match.
     */
    std::size_t n = items.size();
    std::size_t pointer_packets =
        h.get_repeat_pointers() ? 1 : (n + 1 + max_item_pointers_ - 1) / max_item_pointers_;
    item_pointer_t full_payload = max_packet_size_ - send_packet_prefix_size - 8 * max_item_pointers_;
    item_pointer_t needed = (pointer_packets - 1) * full_payload + 1;
    need_null_ = payload_size_ < needed;
    heap_length_ = need_null_ ? needed : payload_size_;
    n_pointers_ = n + (need_null_ ? 1 : 0);
}

bool packet_generator::is_immediate(const item &it) const
{
    return it.is_inline ||
           (it.allow_immediate && it.data.buffer.length <= std::size_t(heap_address_bits_ / 8));
}

item_pointer_t packet_generator::make_pointer(const item &it, item_pointer_t &address) const
{
    pointer_encoder encoder(heap_address_bits_);
    // Not masked to the ID width: spead2 shifts the ID as it is, and we match its bytes.
    s_item_pointer_t id = it.id;
    if (it.is_inline)
        return encoder.make_immediate(id, it.data.immediate);
    if (is_immediate(it))
    {
        // Right-aligned: the value is the bytes read as a big-endian number.
        item_pointer_t value = 0;
        for (std::size_t i = 0; i < it.data.buffer.length; i++)
            value = (value << 8) | it.data.buffer.ptr[i];
        return encoder.make_immediate(id, value);
    }
    item_pointer_t pointer = encoder.make_address(id, address);
    address += it.data.buffer.length;
    return pointer;
}

std::size_t packet_generator::next_packet(std::uint8_t *scratch, std::vector<packet_piece> &pieces)
{
    pointer_encoder encoder(heap_address_bits_);
    const auto &items = heap_->get_items();
    std::size_t first_pointer, end_pointer;
    if (heap_->get_repeat_pointers())
    {
        first_pointer = 0;
        end_pointer = n_pointers_;
        next_address_ = 0;
        next_pointer_ = n_pointers_;
    }
    else
    {
        first_pointer = next_pointer_;
        end_pointer = std::min(n_pointers_, next_pointer_ + max_item_pointers_);
        next_pointer_ = end_pointer;
    }
    std::size_t n_item_pointers = end_pointer - first_pointer;
    item_pointer_t room = max_packet_size_ - send_packet_prefix_size - 8 * n_item_pointers;
    item_pointer_t payload = std::min(room, heap_length_ - payload_offset_);

    std::uint8_t *out = scratch;
    auto put = [&out](item_pointer_t word)
    {
        store_be<std::uint64_t>(out, word);
        out += 8;
    };
    put((item_pointer_t(magic_version) << 48) | (item_pointer_t(8 - heap_address_bits_ / 8) << 40) |
        (item_pointer_t(heap_address_bits_ / 8) << 32) | (4 + n_item_pointers));
    put(encoder.make_immediate(HEAP_CNT_ID, cnt_));
    put(encoder.make_immediate(HEAP_LENGTH_ID, heap_length_));
    put(encoder.make_immediate(PAYLOAD_OFFSET_ID, payload_offset_));
    put(encoder.make_immediate(PAYLOAD_LENGTH_ID, payload));
    for (std::size_t i = first_pointer; i < end_pointer; i++)
    {
        if (i < items.size())
            put(make_pointer(items[i], next_address_));
        else
            put(encoder.make_address(NULL_ID, payload_size_));
    }
    std::size_t header_size = out - scratch;
    pieces.push_back({scratch, header_size});

    // Payload: addressed items in order, then zero padding.
    item_pointer_t left = payload;
    while (left > 0 && payload_item_ < items.size())
    {
        const item &it = items[payload_item_];
        if (is_immediate(it) || payload_item_offset_ == it.data.buffer.length)
        {
            payload_item_++;
            payload_item_offset_ = 0;
            continue;
        }
        std::size_t chunk = std::min<item_pointer_t>(left, it.data.buffer.length - payload_item_offset_);
        pieces.push_back({it.data.buffer.ptr + payload_item_offset_, chunk});
        payload_item_offset_ += chunk;
        left -= chunk;
    }
    while (left > 0)
    {
        std::size_t chunk = std::min<item_pointer_t>(left, zeros_size);
        pieces.push_back({zeros, chunk});
        left -= chunk;
    }
    payload_offset_ += payload;
    return header_size + payload;
}

std::vector<std::uint8_t> packet_generator::next_packet()
{
    std::vector<std::uint8_t> scratch(get_max_header_size());
    std::vector<packet_piece> pieces;
    std::size_t size = next_packet(scratch.data(), pieces);
    std::vector<std::uint8_t> out;
    out.reserve(size);
    for (const packet_piece &piece : pieces)
        out.insert(out.end(), piece.data, piece.data + piece.size);
    return out;
}

} // namespace spead2::send
