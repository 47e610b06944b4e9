// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Decoding and validation of SPEAD packet headers (API.md §1.1).
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>

namespace spead2::recv
{

namespace
{

/// The fields of a valid 8-byte header word.
struct header_fields
{
    int heap_address_bits;
    int n_items;

    explicit header_fields(std::uint64_t header)
        : heap_address_bits(int(8 * ((header >> 32) & 0xff)))
        , n_items(int(header & 0xffff))
    {
    }
};

/**
 * Whether magic, version and widths are usable. Small enough to inline, so that the fields stay in
 * registers: read back from memory they would wait for the store buffer to drain, which behind a
 * streaming copy of the previous packet costs a memory round trip.
 */
bool header_ok(std::uint64_t header)
{
    const unsigned item_id_bytes = (header >> 40) & 0xff;
    const unsigned heap_address_bytes = (header >> 32) & 0xff;
    return (header >> 48) == magic_version && item_id_bytes != 0 && heap_address_bytes != 0 &&
           item_id_bytes + heap_address_bytes == 8;
}

/// Logs why header_ok refused @a header (out of line: only bad packets get here).
[[gnu::cold, gnu::noinline]] void log_bad_header(std::uint64_t header)
{
    const unsigned item_id_bytes = (header >> 40) & 0xff;
    const unsigned heap_address_bytes = (header >> 32) & 0xff;
    if ((header >> 48) != magic_version)
        SPEAD2_LOG_INFO("packet rejected because magic or version did not match (0x%04x)",
                        unsigned(header >> 48));
    else if (item_id_bytes == 0 || heap_address_bytes == 0)
        SPEAD2_LOG_INFO(
            "packet rejected because a field width is zero (item id %u bytes, heap address %u bytes)",
            item_id_bytes, heap_address_bytes);
    else
        SPEAD2_LOG_INFO("packet rejected because widths do not add up to 8 bytes (%u + %u)", item_id_bytes,
                        heap_address_bytes);
}

} // namespace

std::size_t decode_packet(packet_header &out, const std::uint8_t *raw, std::size_t max_size)
{
    if (max_size < packet_header_size)
    {
        SPEAD2_LOG_INFO("packet rejected because it is too short (%zu bytes)", max_size);
        return 0;
    }
    const std::uint64_t header = load_be<std::uint64_t>(raw);
    if (!header_ok(header))
    {
        log_bad_header(header);
        return 0;
    }
    const header_fields fields(header);
    // n_items <= 65535, so this cannot overflow.
    const std::size_t pointers_end =
        packet_header_size + std::size_t(fields.n_items) * sizeof(item_pointer_t);
    if (pointers_end > max_size)
    {
        SPEAD2_LOG_INFO("packet rejected because the %d item pointers overrun the packet (%zu bytes)",
                        fields.n_items, max_size);
        return 0;
    }

    // Specials count only as immediates; a later copy overrides an earlier one. Senders put them
    // first, so in practice this loop finds them in the first iterations, but it must still look
    // at every pointer for duplicates.
    const pointer_decoder decoder(fields.heap_address_bits);
    s_item_pointer_t heap_cnt = -1, heap_length = -1, payload_offset = -1, payload_length = -1;
    const std::uint8_t *pointers = raw + packet_header_size;
    // Fast path: every sender puts the four specials first, immediate, in this order.
    int leading_specials = 0;
    if (fields.n_items >= 4)
    {
        const item_pointer_t p0 = load_be<item_pointer_t>(pointers);
        const item_pointer_t p1 = load_be<item_pointer_t>(pointers + 8);
        const item_pointer_t p2 = load_be<item_pointer_t>(pointers + 16);
        const item_pointer_t p3 = load_be<item_pointer_t>(pointers + 24);
        if (pointer_decoder::is_immediate(p0 & p1 & p2 & p3) && decoder.get_id(p0) == HEAP_CNT_ID &&
            decoder.get_id(p1) == HEAP_LENGTH_ID && decoder.get_id(p2) == PAYLOAD_OFFSET_ID &&
            decoder.get_id(p3) == PAYLOAD_LENGTH_ID)
        {
            heap_cnt = decoder.get_immediate(p0);
            heap_length = decoder.get_immediate(p1);
            payload_offset = decoder.get_immediate(p2);
            payload_length = decoder.get_immediate(p3);
            leading_specials = 4;
        }
    }
    for (int i = leading_specials; i < fields.n_items; i++)
    {
        const item_pointer_t pointer = load_be<item_pointer_t>(pointers + i * sizeof(item_pointer_t));
        if (!pointer_decoder::is_immediate(pointer))
            continue;
        switch (decoder.get_id(pointer))
        {
        case HEAP_CNT_ID:
            heap_cnt = decoder.get_immediate(pointer);
            break;
        case HEAP_LENGTH_ID:
            heap_length = decoder.get_immediate(pointer);
            break;
        case PAYLOAD_OFFSET_ID:
            payload_offset = decoder.get_immediate(pointer);
            break;
        case PAYLOAD_LENGTH_ID:
            payload_length = decoder.get_immediate(pointer);
            break;
        default:
            break;
        }
    }
    if (heap_cnt == -1 || payload_offset == -1 || payload_length == -1)
    {
        SPEAD2_LOG_INFO("packet rejected because it does not have required items (%s%s%s missing)",
                        heap_cnt == -1 ? " HEAP_CNT" : "", payload_offset == -1 ? " PAYLOAD_OFFSET" : "",
                        payload_length == -1 ? " PAYLOAD_LENGTH" : "");
        return 0;
    }
    // Immediates have at most 56 bits, so none of these sums can overflow.
    const std::size_t size = pointers_end + std::size_t(payload_length);
    if (size > max_size)
    {
        SPEAD2_LOG_INFO("packet rejected because payload length %" PRId64
                        " overruns the packet (%zu bytes available)",
                        std::int64_t(payload_length), max_size - pointers_end);
        return 0;
    }
    if (heap_length >= 0 && payload_offset + payload_length > heap_length)
    {
        SPEAD2_LOG_INFO("packet rejected because payload (offset %" PRId64 ", length %" PRId64
                        ") exceeds heap length %" PRId64,
                        std::int64_t(payload_offset), std::int64_t(payload_length),
                        std::int64_t(heap_length));
        return 0;
    }

    out.heap_address_bits = fields.heap_address_bits;
    out.n_items = fields.n_items;
    out.heap_cnt = heap_cnt;
    out.heap_length = heap_length;
    out.payload_offset = payload_offset;
    out.payload_length = payload_length;
    out.pointers = pointers;
    out.payload = raw + pointers_end;
    out.packet = raw;
    out.leading_specials = leading_specials;
    return size;
}

s_item_pointer_t get_packet_size(const std::uint8_t *data, std::size_t length)
{
    if (length < packet_header_size)
        return 0;
    const std::uint64_t header = load_be<std::uint64_t>(data);
    if (!header_ok(header))
    {
        log_bad_header(header);
        return -1;
    }
    const header_fields fields(header);
    const std::size_t pointers_end =
        packet_header_size + std::size_t(fields.n_items) * sizeof(item_pointer_t);
    if (length < pointers_end)
        return 0;
    const pointer_decoder decoder(fields.heap_address_bits);
    s_item_pointer_t payload_length = -1;
    for (int i = 0; i < fields.n_items; i++)
    {
        const item_pointer_t pointer =
            load_be<item_pointer_t>(data + packet_header_size + i * sizeof(item_pointer_t));
        if (pointer_decoder::is_immediate(pointer) && decoder.get_id(pointer) == PAYLOAD_LENGTH_ID)
            payload_length = decoder.get_immediate(pointer);
    }
    if (payload_length < 0)
    {
        SPEAD2_LOG_INFO("packet rejected because it has no PAYLOAD_LENGTH");
        return -1;
    }
    return s_item_pointer_t(pointers_end) + payload_length;
}

} // namespace spead2::recv
