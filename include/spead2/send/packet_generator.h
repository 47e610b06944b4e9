// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Splits a heap into SPEAD packets, lazily and without copying the payload.
#ifndef SPEAD2_SEND_PACKET_GENERATOR_H
#define SPEAD2_SEND_PACKET_GENERATOR_H

#include <cstddef>
#include <cstdint>
#include <vector>
#include <spead2/protocol/constants.h>
#include <spead2/send/heap.h>

namespace spead2::send
{

/// One contiguous piece of a packet (scatter-gather element).
struct packet_piece
{
    const std::uint8_t *data;
    std::size_t size;
};

/**
 * Turns a heap into packets, one at a time (API.md §3.4, byte-compatible with spead2):
 *
 * - max_packet_size is rounded down to a multiple of 8;
 * - every packet starts with the header and the immediates HEAP_CNT, HEAP_LENGTH, PAYLOAD_OFFSET,
 *   PAYLOAD_LENGTH, then as many item pointers (in insertion order) as fit, at most
 *   (max_packet_size - 48) / 8, then max_packet_size - 40 - 8 * pointers bytes of payload;
 * - every packet carries at least one byte of payload: when the real payload is too short, a
 *   NULL_ID pointer addressing the end of the real payload is added, with zero padding;
 * - with heap::get_repeat_pointers(), every packet carries every pointer.
 *
 * Header and pointers are written into a caller-supplied scratch buffer; payload pieces point
 * straight into the items' memory. No allocation per packet.
 *
 * Lifetime: refers to the heap, which must outlive the generator. Not thread-safe; copyable.
 */
class packet_generator
{
private:
    const heap *heap_;
    item_pointer_t cnt_;
    std::size_t max_packet_size_;
    std::size_t max_item_pointers_;
    int heap_address_bits_;
    /// Total bytes of addressed items (without padding).
    item_pointer_t payload_size_ = 0;
    /// HEAP_LENGTH: payload_size_ plus padding.
    item_pointer_t heap_length_ = 0;
    /// Pointers per heap: the items plus the NULL padding pointer when needed.
    std::size_t n_pointers_ = 0;
    bool need_null_ = false;

    // Progress
    item_pointer_t payload_offset_ = 0;
    std::size_t next_pointer_ = 0;    ///< Index of the next pointer to emit (non-repeat mode)
    item_pointer_t next_address_ = 0; ///< Address of the next addressed item pointer
    std::size_t payload_item_ = 0;    ///< Item currently supplying payload
    std::size_t payload_item_offset_ = 0;

    bool is_immediate(const item &it) const;
    item_pointer_t make_pointer(const item &it, item_pointer_t &address) const;

public:
    /// Smallest max_packet_size accepted (header, 4 specials, one pointer, 8 bytes of payload).
    static constexpr std::size_t min_packet_size = 56;

    /**
     * @a cnt is masked to HAB bits.
     * @throws std::invalid_argument "packet size is too small" if @a max_packet_size < 56
     * @throws std::invalid_argument "packet size is too small to repeat item pointers"
     */
    packet_generator(const heap &h, item_pointer_t cnt, std::size_t max_packet_size);

    /// Checks that a heap can be packetised, throwing as the constructor does.
    static void check(const heap &h, std::size_t max_packet_size);

    bool has_next_packet() const { return payload_offset_ < heap_length_ || next_pointer_ < n_pointers_; }

    /**
     * Produces the next packet: writes its header and item pointers to @a scratch (which must hold
     * get_max_header_size() bytes) and appends its pieces to @a pieces (the first piece is in
     * @a scratch). Only call when has_next_packet() is true.
     * @returns the packet size in bytes
     */
    std::size_t next_packet(std::uint8_t *scratch, std::vector<packet_piece> &pieces);

    /// Convenience: the next packet as one contiguous buffer (allocates; for tests and Python).
    std::vector<std::uint8_t> next_packet();

    /// max_packet_size rounded down to a multiple of 8.
    std::size_t get_max_packet_size() const { return max_packet_size_; }
    /**
     * The most bytes next_packet writes to its scratch buffer: the header, the four special
     * items and every pointer of the heap, bounded by the packet size. Scratch buffers are sized
     * by this, not by max_packet_size, which may be far larger than any header.
     */
    std::size_t get_max_header_size() const
    {
        const std::size_t all = 40 + 8 * n_pointers_;
        return all < max_packet_size_ ? all : max_packet_size_;
    }
    /// The HEAP_LENGTH written in every packet (payload plus padding).
    item_pointer_t get_heap_length() const { return heap_length_; }
};

} // namespace spead2::send

#endif // SPEAD2_SEND_PACKET_GENERATOR_H
