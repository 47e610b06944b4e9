// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Item descriptors and their wire encoding (a descriptor is itself a one-packet SPEAD heap).
#ifndef SPEAD2_PROTOCOL_DESCRIPTOR_H
#define SPEAD2_PROTOCOL_DESCRIPTOR_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/flavour.h>

namespace spead2
{

/// The metadata that describes one item. Plain value type.
struct descriptor
{
    s_item_pointer_t id = 0;
    std::string name;
    std::string description;
    /// Legacy format: (type code, bit length) per field. Empty when numpy_header is used.
    std::vector<std::pair<char, s_item_pointer_t>> format;
    /// Dimensions; -1 marks a variable-length dimension.
    std::vector<s_item_pointer_t> shape;
    /// Python repr of a numpy header dict, or empty.
    std::string numpy_header;

    bool operator==(const descriptor &other) const = default;
};

/**
 * Encodes @a d as the value of a DESCRIPTOR item in flavour @a f: a complete SPEAD packet
 * (API.md §1.5). @throws std::invalid_argument "Item ID out of range" unless 0 < id < 2^(63-HAB).
 */
std::vector<std::uint8_t> encode_descriptor(const descriptor &d, const flavour &f);

/**
 * Decodes the value of a DESCRIPTOR item received on a stream with @a bug_compat, when that value
 * is one packet holding the whole descriptor heap (what senders write). Returns nothing (and logs
 * why) when the bytes are malformed or DESCRIPTOR_ID_ID is missing. If a numpy header is present,
 * format and shape are cleared. Never throws on bad input. A value of several packets is
 * assembled by a stream first (recv::heap::get_descriptors), then decode_descriptor_fields.
 */
std::optional<descriptor> decode_descriptor(const std::uint8_t *data, std::size_t size,
                                            bug_compat_mask bug_compat);

/// One item of a descriptor heap: an immediate value, or @a length bytes at @a data.
struct descriptor_field
{
    s_item_pointer_t id;
    bool immediate;
    item_pointer_t immediate_value;
    const std::uint8_t *data;
    std::size_t length;
};

/**
 * Builds a descriptor from the items of a descriptor heap, in order (a later field overrides an
 * earlier one with the same ID; empty addressed fields are ignored). Same results and logging as
 * decode_descriptor once the packet is parsed.
 */
std::optional<descriptor> decode_descriptor_fields(const std::vector<descriptor_field> &fields,
                                                   int heap_address_bits, bug_compat_mask bug_compat);

} // namespace spead2

#endif // SPEAD2_PROTOCOL_DESCRIPTOR_H
