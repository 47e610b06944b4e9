// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Encoding and decoding of item descriptors (API.md §1.5).
#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>

namespace spead2
{

namespace
{

/// Byte widths of the numbers inside FORMAT and SHAPE values.
struct descriptor_widths
{
    /// Bytes of a format field's bit length (after the 1-byte type code).
    std::size_t format_bytes;
    /// Bytes of a shape field's size (after the 1-byte flag).
    std::size_t shape_bytes;
    /// Flag bit that marks a variable-length dimension.
    std::uint8_t variable_tag;
};

descriptor_widths get_widths(int heap_address_bits, bug_compat_mask bug_compat)
{
    descriptor_widths w;
    if (bug_compat & BUG_COMPAT_DESCRIPTOR_WIDTHS)
    {
        // The SPEAD-64-40 layout whatever the flavour.
        w.format_bytes = 3;
        w.shape_bytes = 7;
    }
    else
    {
        w.format_bytes = std::size_t(64 - heap_address_bits) / 8;
        w.shape_bytes = std::size_t(heap_address_bits) / 8;
    }
    w.variable_tag = (bug_compat & BUG_COMPAT_SHAPE_BIT_1) ? 2 : 1;
    return w;
}

/// Writes the low @a bytes bytes of @a value big-endian (higher bits are dropped, as the reference does).
void put_be(std::vector<std::uint8_t> &out, std::uint64_t value, std::size_t bytes)
{
    for (std::size_t i = bytes; i > 0; i--)
        out.push_back(std::uint8_t(value >> (8 * (i - 1))));
}

std::uint64_t get_be(const std::uint8_t *data, std::size_t bytes)
{
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; i++)
        value = (value << 8) | data[i];
    return value;
}

std::string to_string(const descriptor_field &item, int heap_address_bits)
{
    if (item.immediate)
    {
        std::uint8_t buf[8];
        const std::size_t n = std::size_t(heap_address_bits) / 8;
        for (std::size_t i = 0; i < n; i++)
            buf[i] = std::uint8_t(item.immediate_value >> (8 * (n - 1 - i)));
        return std::string(reinterpret_cast<const char *>(buf), n);
    }
    return std::string(reinterpret_cast<const char *>(item.data), item.length);
}

std::vector<std::uint8_t> to_bytes(const descriptor_field &item, int heap_address_bits)
{
    std::string s = to_string(item, heap_address_bits);
    return std::vector<std::uint8_t>(s.begin(), s.end());
}

} // namespace

std::vector<std::uint8_t> encode_descriptor(const descriptor &d, const flavour &f)
{
    const int hab = f.get_heap_address_bits();
    if (d.id <= 0 || d.id >= (s_item_pointer_t(1) << (63 - hab)))
        throw std::invalid_argument("Item ID out of range: " + std::to_string(d.id));
    const descriptor_widths w = get_widths(hab, f.get_bug_compat());

    std::vector<std::uint8_t> payload;
    payload.insert(payload.end(), d.name.begin(), d.name.end());
    payload.insert(payload.end(), d.description.begin(), d.description.end());
    const std::size_t format_offset = payload.size();
    for (const auto &[code, bits] : d.format)
    {
        payload.push_back(std::uint8_t(code));
        put_be(payload, std::uint64_t(bits), w.format_bytes);
    }
    const std::size_t shape_offset = payload.size();
    for (s_item_pointer_t size : d.shape)
    {
        if (size < 0)
        {
            payload.push_back(w.variable_tag);
            put_be(payload, 0, w.shape_bytes);
        }
        else
        {
            payload.push_back(0);
            put_be(payload, std::uint64_t(size), w.shape_bytes);
        }
    }
    const std::size_t dtype_offset = payload.size();
    payload.insert(payload.end(), d.numpy_header.begin(), d.numpy_header.end());
    const s_item_pointer_t heap_size = s_item_pointer_t(payload.size());

    const pointer_encoder enc(hab);
    std::vector<item_pointer_t> pointers{
        enc.make_immediate(HEAP_CNT_ID, 1),
        enc.make_immediate(HEAP_LENGTH_ID, heap_size),
        enc.make_immediate(PAYLOAD_OFFSET_ID, 0),
        enc.make_immediate(PAYLOAD_LENGTH_ID, heap_size),
        enc.make_immediate(DESCRIPTOR_ID_ID, d.id),
        enc.make_address(DESCRIPTOR_NAME_ID, 0),
        enc.make_address(DESCRIPTOR_DESCRIPTION_ID, s_item_pointer_t(d.name.size())),
        enc.make_address(DESCRIPTOR_FORMAT_ID, s_item_pointer_t(format_offset)),
        enc.make_address(DESCRIPTOR_SHAPE_ID, s_item_pointer_t(shape_offset)),
    };
    if (!d.numpy_header.empty())
        pointers.push_back(enc.make_address(DESCRIPTOR_DTYPE_ID, s_item_pointer_t(dtype_offset)));

    std::vector<std::uint8_t> out;
    out.reserve(packet_header_size + pointers.size() * sizeof(item_pointer_t) + payload.size());
    put_be(out,
           (std::uint64_t(magic_version) << 48) | (std::uint64_t((64 - hab) / 8) << 40) |
               (std::uint64_t(hab / 8) << 32) | pointers.size(),
           8);
    for (item_pointer_t p : pointers)
        put_be(out, p, 8);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

std::optional<descriptor> decode_descriptor(const std::uint8_t *data, std::size_t size,
                                            bug_compat_mask bug_compat)
{
    // The reference feeds the value to a private stream as one heap; the rules below reproduce
    // what that stream accepts (checked against spead2 4.5.1 as a black box).
    recv::packet_header h;
    if (recv::decode_packet(h, data, size) == 0)
    {
        log_info("descriptor dropped because its packet is invalid");
        return std::nullopt;
    }
    s_item_pointer_t heap_length = h.heap_length >= 0 ? h.heap_length : h.payload_length;
    if (h.payload_offset != 0 || h.payload_length != heap_length)
    {
        log_info("descriptor dropped because its heap is incomplete (offset %" PRId64 ", length %" PRId64
                 ", heap length %" PRId64 ")",
                 std::int64_t(h.payload_offset), std::int64_t(h.payload_length), std::int64_t(heap_length));
        return std::nullopt;
    }

    const pointer_decoder dec(h.heap_address_bits);
    // Exact duplicate pointers count once (first copy kept); specials are not items at all.
    std::vector<std::pair<item_pointer_t, int>> by_value;
    by_value.reserve(h.n_items);
    for (int i = 0; i < h.n_items; i++)
    {
        const item_pointer_t p = load_be<item_pointer_t>(h.pointers + i * sizeof(item_pointer_t));
        const s_item_pointer_t id = dec.get_id(p);
        if (id >= HEAP_CNT_ID && id <= PAYLOAD_LENGTH_ID)
            continue;
        if (!pointer_decoder::is_immediate(p) && dec.get_address(p) > heap_length)
        {
            log_info("descriptor dropped because item %#" PRIx64 " has address %" PRId64
                     " beyond the heap length %" PRId64,
                     std::uint64_t(id), std::int64_t(dec.get_address(p)), std::int64_t(heap_length));
            return std::nullopt;
        }
        if (pointer_decoder::is_immediate(p) && id == STREAM_CTRL_ID &&
            dec.get_immediate(p) == CTRL_STREAM_STOP)
        {
            // The reference's private stream swallows a stop heap, so the descriptor is lost.
            log_info("descriptor dropped because it carries a stream stop item");
            return std::nullopt;
        }
        by_value.emplace_back(p, i);
    }
    std::sort(by_value.begin(), by_value.end());
    by_value.erase(std::unique(by_value.begin(), by_value.end(),
                               [](const auto &a, const auto &b) { return a.first == b.first; }),
                   by_value.end());
    std::sort(by_value.begin(), by_value.end(),
              [](const auto &a, const auto &b) { return a.second < b.second; });

    // Addressed items first, then immediates, each by address/value; lengths are address differences.
    auto key = [&dec](item_pointer_t p)
    { return std::make_pair(!pointer_decoder::is_immediate(p) ? 0 : 1, dec.get_value(p)); };
    std::stable_sort(by_value.begin(), by_value.end(),
                     [&key](const auto &a, const auto &b) { return key(a.first) < key(b.first); });

    std::vector<descriptor_field> fields;
    fields.reserve(by_value.size());
    for (std::size_t i = 0; i < by_value.size(); i++)
    {
        const item_pointer_t p = by_value[i].first;
        descriptor_field item{dec.get_id(p), pointer_decoder::is_immediate(p), 0, nullptr, 0};
        if (item.immediate)
            item.immediate_value = item_pointer_t(dec.get_immediate(p));
        else
        {
            const s_item_pointer_t start = dec.get_address(p);
            s_item_pointer_t end = heap_length;
            if (i + 1 < by_value.size() && !pointer_decoder::is_immediate(by_value[i + 1].first))
                end = dec.get_address(by_value[i + 1].first);
            item.data = h.payload + start;
            item.length = std::size_t(end - start);
        }
        fields.push_back(item);
    }
    return decode_descriptor_fields(fields, h.heap_address_bits, bug_compat);
}

std::optional<descriptor> decode_descriptor_fields(const std::vector<descriptor_field> &fields,
                                                   int heap_address_bits, bug_compat_mask bug_compat)
{
    std::optional<descriptor> out(std::in_place);
    descriptor &d = *out;
    const descriptor_widths w = get_widths(heap_address_bits, bug_compat);
    for (const descriptor_field &item : fields)
    {
        if (!item.immediate && item.length == 0)
            continue;
        switch (item.id)
        {
        case NULL_ID:
            break;
        case DESCRIPTOR_ID_ID:
            if (item.immediate)
                d.id = s_item_pointer_t(item.immediate_value);
            else
                log_info("ignoring descriptor ID that is not an immediate");
            break;
        case DESCRIPTOR_NAME_ID:
            d.name = to_string(item, heap_address_bits);
            break;
        case DESCRIPTOR_DESCRIPTION_ID:
            d.description = to_string(item, heap_address_bits);
            break;
        case DESCRIPTOR_FORMAT_ID:
        {
            const std::vector<std::uint8_t> raw = to_bytes(item, heap_address_bits);
            const std::size_t entry = 1 + w.format_bytes;
            d.format.clear();
            // A partial trailing field is ignored.
            for (std::size_t pos = 0; pos + entry <= raw.size(); pos += entry)
                d.format.emplace_back(char(raw[pos]),
                                      s_item_pointer_t(get_be(&raw[pos + 1], w.format_bytes)));
            break;
        }
        case DESCRIPTOR_SHAPE_ID:
        {
            const std::vector<std::uint8_t> raw = to_bytes(item, heap_address_bits);
            const std::size_t entry = 1 + w.shape_bytes;
            d.shape.clear();
            for (std::size_t pos = 0; pos + entry <= raw.size(); pos += entry)
            {
                if (raw[pos] & w.variable_tag)
                    d.shape.push_back(-1);
                else
                    d.shape.push_back(s_item_pointer_t(get_be(&raw[pos + 1], w.shape_bytes)));
            }
            break;
        }
        case DESCRIPTOR_DTYPE_ID:
            d.numpy_header = to_string(item, heap_address_bits);
            break;
        default:
            log_info("ignoring unknown descriptor sub-item %#" PRIx64, std::uint64_t(item.id));
            break;
        }
    }
    if (d.id == 0)
    {
        log_info("descriptor dropped because it has no immediate DESCRIPTOR_ID");
        return std::nullopt;
    }
    if (!d.numpy_header.empty())
    {
        d.format.clear();
        d.shape.clear();
    }
    return out;
}

} // namespace spead2
