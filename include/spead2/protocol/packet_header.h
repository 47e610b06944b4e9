// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Decoding and validating the header of one received SPEAD packet (API.md §1.1). Pure code:
/// no allocation, no I/O, never throws. The first fuzz target.
#ifndef SPEAD2_PROTOCOL_PACKET_HEADER_H
#define SPEAD2_PROTOCOL_PACKET_HEADER_H

#include <cstddef>
#include <cstdint>
#include <spead2/protocol/constants.h>

namespace spead2::recv
{

/// What decode_packet() learns from a packet. Pointers point into the caller's buffer.
struct packet_header
{
    int heap_address_bits = 0;
    /// Number of item pointers, the 4 specials included.
    int n_items = 0;
    s_item_pointer_t heap_cnt = 0;
    /// -1 when the packet has no HEAP_LENGTH item.
    s_item_pointer_t heap_length = -1;
    s_item_pointer_t payload_offset = 0;
    s_item_pointer_t payload_length = 0;
    /// First item pointer (big-endian on the wire; n_items of them).
    const std::uint8_t *pointers = nullptr;
    const std::uint8_t *payload = nullptr;
    /// Start of the packet (the header).
    const std::uint8_t *packet = nullptr;
    /// How many leading pointers are the four specials in the usual order (0 or 4): consumers of
    /// the heap's own pointers may start after them.
    int leading_specials = 0;
};

/**
 * Decodes the packet at @a raw, reading at most @a max_size bytes. Returns the packet's size
 * (header + pointers + payload) and fills @a out, or returns 0 when the packet must be rejected
 * (the reason is logged at info level). Checks everything in API.md §1.1.
 */
std::size_t decode_packet(packet_header &out, const std::uint8_t *raw, std::size_t max_size);

/**
 * For stream transports (TCP): the size of the packet starting at @a data from its header and
 * pointers. Returns 0 if more bytes are needed to tell, -1 if the bytes cannot start a packet.
 */
s_item_pointer_t get_packet_size(const std::uint8_t *data, std::size_t length);

} // namespace spead2::recv

#endif // SPEAD2_PROTOCOL_PACKET_HEADER_H
