// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Wire constants of SPEAD: item IDs, stream-control values and bug-compatibility flags.
#ifndef SPEAD2_PROTOCOL_CONSTANTS_H
#define SPEAD2_PROTOCOL_CONSTANTS_H

#include <cstddef>
#include <cstdint>

namespace spead2
{

/// One 64-bit item pointer, in host byte order.
typedef std::uint64_t item_pointer_t;
/// Signed counterpart of @ref item_pointer_t (heap counts and lengths that may be -1).
typedef std::int64_t s_item_pointer_t;
/// Bit mask of BUG_COMPAT_* flags.
typedef std::uint32_t bug_compat_mask;

/// The SPEAD versions a flavour may name (spead2's names; only version 4 exists).
static constexpr int minimum_version = 4;
static constexpr int maximum_version = 4;

/// Magic (0x53) and version (4) as the top 16 bits of the header word.
static constexpr std::uint16_t magic_version = 0x5304;
/// Bytes in the packet header (one item pointer's worth).
static constexpr std::size_t packet_header_size = 8;
/// Bytes the send side always spends on the header plus the 4 special items.
static constexpr std::size_t send_packet_prefix_size = 40;

/// Descriptor format fields are 4 bytes and shape fields 8 bytes (the SPEAD-64-40 layout).
static constexpr bug_compat_mask BUG_COMPAT_DESCRIPTOR_WIDTHS = 1;
/// Variable-length shape elements are marked with bit 1 instead of bit 0.
static constexpr bug_compat_mask BUG_COMPAT_SHAPE_BIT_1 = 2;
/// numpy-header items are in the opposite byte order to the one the header states.
static constexpr bug_compat_mask BUG_COMPAT_SWAP_ENDIAN = 4;
/// All the bugs of PySPEAD 0.5.2.
static constexpr bug_compat_mask BUG_COMPAT_PYSPEAD_0_5_2 = 7;
/// Every defined flag; other bits are invalid.
static constexpr bug_compat_mask BUG_COMPAT_ALL = 7;

/// Item IDs with a meaning defined by the protocol.
enum item_id : unsigned int
{
    NULL_ID = 0x00,
    HEAP_CNT_ID = 0x01,
    HEAP_LENGTH_ID = 0x02,
    PAYLOAD_OFFSET_ID = 0x03,
    PAYLOAD_LENGTH_ID = 0x04,
    DESCRIPTOR_ID = 0x05,
    STREAM_CTRL_ID = 0x06,

    DESCRIPTOR_NAME_ID = 0x10,
    DESCRIPTOR_DESCRIPTION_ID = 0x11,
    DESCRIPTOR_SHAPE_ID = 0x12,
    DESCRIPTOR_FORMAT_ID = 0x13,
    DESCRIPTOR_ID_ID = 0x14,
    DESCRIPTOR_DTYPE_ID = 0x15
};

/// Values of the STREAM_CTRL item.
enum ctrl_mode : unsigned int
{
    CTRL_STREAM_START = 0,
    CTRL_DESCRIPTOR_REISSUE = 1,
    CTRL_STREAM_STOP = 2,
    CTRL_DESCRIPTOR_UPDATE = 3
};

/// Which copy routine moves payload into heap memory.
enum memcpy_function_id : unsigned int
{
    MEMCPY_STD = 0,        ///< Ordinary (cached) stores (an AVX2 loop from 256 bytes where the CPU has it)
    MEMCPY_NONTEMPORAL = 1 ///< Streaming stores (memcpy_nontemporal)
};

} // namespace spead2

#endif // SPEAD2_PROTOCOL_CONSTANTS_H
