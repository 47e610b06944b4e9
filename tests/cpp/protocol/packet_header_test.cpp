// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for decode_packet and get_packet_size (API.md §1.1).
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/endian.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>
#include "protocol_test_util.h"

namespace spead2::test
{
namespace
{

using recv::decode_packet;
using recv::get_packet_size;
using recv::packet_header;

/// Builds a packet: header for @a hab, then the given pointers, then the payload.
std::vector<std::uint8_t> make_packet(int hab, const std::vector<item_pointer_t> &pointers,
                                      const std::vector<std::uint8_t> &payload, int id_bytes = -1,
                                      int addr_bytes = -1)
{
    if (id_bytes < 0)
        id_bytes = (64 - hab) / 8;
    if (addr_bytes < 0)
        addr_bytes = hab / 8;
    std::vector<std::uint8_t> out(8 + 8 * pointers.size());
    store_be<std::uint64_t>(out.data(), (std::uint64_t(0x5304) << 48) | (std::uint64_t(id_bytes) << 40) |
                                            (std::uint64_t(addr_bytes) << 32) | pointers.size());
    for (std::size_t i = 0; i < pointers.size(); i++)
        store_be<std::uint64_t>(out.data() + 8 + 8 * i, pointers[i]);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

const std::vector<std::uint8_t> abc{'a', 'b', 'c'};

/// The standard specials for a 64-40 packet with payload "abc".
std::vector<item_pointer_t> specials40(s_item_pointer_t heap_length = 16, s_item_pointer_t offset = 13,
                                       s_item_pointer_t length = 3)
{
    pointer_encoder enc(40);
    return {enc.make_immediate(HEAP_CNT_ID, 7), enc.make_immediate(HEAP_LENGTH_ID, heap_length),
            enc.make_immediate(PAYLOAD_OFFSET_ID, offset), enc.make_immediate(PAYLOAD_LENGTH_ID, length)};
}

struct known_packet
{
    int hab;
    const char *hex;
};

// Worked out by hand from the protocol document (§8.1, §8.2): header word, then HEAP_CNT = 7,
// HEAP_LENGTH = 16, PAYLOAD_OFFSET = 13, PAYLOAD_LENGTH = 3 as immediates, then "abc".
const known_packet known_packets[] = {
    {8, "5304070100000004 8000000000000107 8000000000000210 800000000000030d 8000000000000403 616263"},
    {16, "5304060200000004 8000000000010007 8000000000020010 800000000003000d 8000000000040003 616263"},
    {24, "5304050300000004 8000000001000007 8000000002000010 800000000300000d 8000000004000003 616263"},
    {32, "5304040400000004 8000000100000007 8000000200000010 800000030000000d 8000000400000003 616263"},
    {40, "5304030500000004 8000010000000007 8000020000000010 800003000000000d 8000040000000003 616263"},
    {48, "5304020600000004 8001000000000007 8002000000000010 800300000000000d 8004000000000003 616263"},
    {56, "5304010700000004 8100000000000007 8200000000000010 830000000000000d 8400000000000003 616263"},
};

class ProtocolKnownPacket : public ::testing::TestWithParam<known_packet>
{
};

TEST_P(ProtocolKnownPacket, DecodesEveryField)
{
    const auto &param = GetParam();
    const auto bytes = from_hex(param.hex);
    packet_header h;
    ASSERT_EQ(decode_packet(h, bytes.data(), bytes.size()), 43u);
    EXPECT_EQ(h.heap_address_bits, param.hab);
    EXPECT_EQ(h.n_items, 4);
    EXPECT_EQ(h.heap_cnt, 7);
    EXPECT_EQ(h.heap_length, 16);
    EXPECT_EQ(h.payload_offset, 13);
    EXPECT_EQ(h.payload_length, 3);
    EXPECT_EQ(h.packet, bytes.data());
    EXPECT_EQ(h.pointers, bytes.data() + 8);
    EXPECT_EQ(h.payload, bytes.data() + 40);
    EXPECT_EQ(get_packet_size(bytes.data(), bytes.size()), 43);
}

TEST_P(ProtocolKnownPacket, EncoderBuildsTheSameBytes)
{
    const auto &param = GetParam();
    pointer_encoder enc(param.hab);
    auto built =
        make_packet(param.hab,
                    {enc.make_immediate(HEAP_CNT_ID, 7), enc.make_immediate(HEAP_LENGTH_ID, 16),
                     enc.make_immediate(PAYLOAD_OFFSET_ID, 13), enc.make_immediate(PAYLOAD_LENGTH_ID, 3)},
                    abc);
    EXPECT_EQ(to_hex(built), to_hex(from_hex(param.hex)));
}

INSTANTIATE_TEST_SUITE_P(AllFlavours, ProtocolKnownPacket, ::testing::ValuesIn(known_packets),
                         [](const auto &param_info) { return "hab" + std::to_string(param_info.param.hab); });

/// Packets made by the reference sender (tests/data/protocol/packet_<hab>.txt): an immediate item
/// 0x22 = 0x12 and an addressed item 0x33 = "Hello, SPEAD".
class ProtocolReferencePacket : public ::testing::TestWithParam<int>
{
};

TEST_P(ProtocolReferencePacket, DecodesReferenceSenderOutput)
{
    const int hab = GetParam();
    golden_file golden("packet_" + std::to_string(hab) + ".txt");
    const auto packets = golden.get_all("packet");
    ASSERT_EQ(packets.size(), 1u);
    const auto bytes = from_hex(packets[0]);
    packet_header h;
    ASSERT_EQ(decode_packet(h, bytes.data(), bytes.size()), bytes.size());
    EXPECT_EQ(h.heap_address_bits, hab);
    EXPECT_EQ(h.heap_cnt, std::stoll(golden.get("heap_cnt")));
    EXPECT_EQ(h.heap_length, 12);
    EXPECT_EQ(h.payload_offset, 0);
    EXPECT_EQ(h.payload_length, 12);
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(h.payload), 12), "Hello, SPEAD");
    ASSERT_EQ(h.n_items, 6);
    pointer_decoder dec(hab);
    const auto imm = load_be<item_pointer_t>(h.pointers + 8 * 4);
    EXPECT_TRUE(pointer_decoder::is_immediate(imm));
    EXPECT_EQ(dec.get_id(imm), 0x22);
    EXPECT_EQ(dec.get_immediate(imm), 0x12);
    const auto addr = load_be<item_pointer_t>(h.pointers + 8 * 5);
    EXPECT_FALSE(pointer_decoder::is_immediate(addr));
    EXPECT_EQ(dec.get_id(addr), 0x33);
    EXPECT_EQ(dec.get_address(addr), 0);
    EXPECT_EQ(get_packet_size(bytes.data(), bytes.size()), s_item_pointer_t(bytes.size()));
}

INSTANTIATE_TEST_SUITE_P(AllFlavours, ProtocolReferencePacket, ::testing::Values(8, 16, 24, 32, 40, 48, 56),
                         [](const auto &param_info) { return "hab" + std::to_string(param_info.param); });

/// Expects decode_packet to reject @a bytes (looking at @a max_size bytes) with a log
/// message containing @a reason.
void expect_rejected(const std::vector<std::uint8_t> &bytes, const std::string &reason, std::size_t max_size)
{
    protocol_log log;
    packet_header h;
    EXPECT_EQ(decode_packet(h, bytes.data(), max_size), 0u);
    ASSERT_EQ(log.messages.size(), 1u) << log.text();
    EXPECT_EQ(log.messages[0].first, log_level::info);
    EXPECT_NE(log.messages[0].second.find(reason), std::string::npos) << log.messages[0].second;
}

void expect_rejected(const std::vector<std::uint8_t> &bytes, const std::string &reason)
{
    expect_rejected(bytes, reason, bytes.size());
}

TEST(ProtocolPacketHeader, RejectsTooShort)
{
    auto bytes = make_packet(40, specials40(), abc);
    for (std::size_t len = 0; len < 8; len++)
        expect_rejected(bytes, "packet rejected because it is too short (" + std::to_string(len) + " bytes)",
                        len);
}

TEST(ProtocolPacketHeader, RejectsBadMagic)
{
    auto bytes = make_packet(40, specials40(), abc);
    bytes[0] = 0x54;
    expect_rejected(bytes, "magic or version did not match (0x5404)");
}

TEST(ProtocolPacketHeader, RejectsBadVersion)
{
    auto bytes = make_packet(40, specials40(), abc);
    bytes[1] = 3;
    expect_rejected(bytes, "magic or version did not match (0x5303)");
}

TEST(ProtocolPacketHeader, RejectsZeroItemIdWidth)
{
    expect_rejected(make_packet(40, specials40(), abc, 0, 8),
                    "a field width is zero (item id 0 bytes, heap address 8 bytes)");
}

TEST(ProtocolPacketHeader, RejectsZeroHeapAddressWidth)
{
    expect_rejected(make_packet(40, specials40(), abc, 8, 0),
                    "a field width is zero (item id 8 bytes, heap address 0 bytes)");
}

TEST(ProtocolPacketHeader, RejectsWidthsNotSummingTo8)
{
    expect_rejected(make_packet(40, specials40(), abc, 3, 4), "widths do not add up to 8 bytes (3 + 4)");
    expect_rejected(make_packet(40, specials40(), abc, 5, 5), "widths do not add up to 8 bytes (5 + 5)");
    expect_rejected(make_packet(40, specials40(), abc, 255, 255),
                    "widths do not add up to 8 bytes (255 + 255)");
}

TEST(ProtocolPacketHeader, RejectsPointersOverrun)
{
    auto bytes = make_packet(40, specials40(), {});
    // Claim 5 pointers where there are 4.
    bytes[7] = 5;
    expect_rejected(bytes, "the 5 item pointers overrun the packet (40 bytes)");
    bytes[6] = 0xff;
    bytes[7] = 0xff;
    expect_rejected(bytes, "the 65535 item pointers overrun the packet (40 bytes)");
}

TEST(ProtocolPacketHeader, RejectsMissingHeapCnt)
{
    auto p = specials40();
    p.erase(p.begin());
    expect_rejected(make_packet(40, p, abc), "does not have required items ( HEAP_CNT missing)");
}

TEST(ProtocolPacketHeader, RejectsMissingPayloadOffset)
{
    auto p = specials40();
    p.erase(p.begin() + 2);
    expect_rejected(make_packet(40, p, abc), "does not have required items ( PAYLOAD_OFFSET missing)");
}

TEST(ProtocolPacketHeader, RejectsMissingPayloadLength)
{
    auto p = specials40();
    p.erase(p.begin() + 3);
    expect_rejected(make_packet(40, p, abc), "does not have required items ( PAYLOAD_LENGTH missing)");
}

TEST(ProtocolPacketHeader, RejectsNoPointers)
{
    expect_rejected(make_packet(40, {}, abc),
                    "does not have required items ( HEAP_CNT PAYLOAD_OFFSET PAYLOAD_LENGTH missing)");
}

TEST(ProtocolPacketHeader, AddressedSpecialsDoNotCount)
{
    pointer_encoder enc(40);
    auto p = specials40();
    p[0] = enc.make_address(HEAP_CNT_ID, 7);
    expect_rejected(make_packet(40, p, abc), "( HEAP_CNT missing)");
    p = specials40();
    p[3] = enc.make_address(PAYLOAD_LENGTH_ID, 3);
    expect_rejected(make_packet(40, p, abc), "( PAYLOAD_LENGTH missing)");
}

TEST(ProtocolPacketHeader, RejectsPayloadOverrun)
{
    auto bytes = make_packet(40, specials40(16, 12, 4), abc);
    expect_rejected(bytes, "payload length 4 overruns the packet (3 bytes available)");
    // The same bytes are fine when max_size includes one more byte.
    bytes.push_back('d');
    packet_header h;
    EXPECT_EQ(decode_packet(h, bytes.data(), bytes.size()), 44u);
    // max_size is honoured even when the buffer is larger.
    expect_rejected(bytes, "payload length 4 overruns the packet (2 bytes available)", 42);
}

TEST(ProtocolPacketHeader, RejectsHugePayloadLength)
{
    auto bytes = make_packet(40, specials40(-1, 0, (s_item_pointer_t(1) << 40) - 1), abc);
    bytes.erase(bytes.begin() + 16, bytes.begin() + 24); // drop HEAP_LENGTH
    bytes[7] = 3;
    expect_rejected(bytes, "payload length 1099511627775 overruns the packet (3 bytes available)");
}

TEST(ProtocolPacketHeader, RejectsPayloadBeyondHeapLength)
{
    expect_rejected(make_packet(40, specials40(15, 13, 3), abc),
                    "payload (offset 13, length 3) exceeds heap length 15");
    expect_rejected(make_packet(40, specials40(0, 0, 3), abc),
                    "payload (offset 0, length 3) exceeds heap length 0");
    const s_item_pointer_t max40 = (s_item_pointer_t(1) << 40) - 1;
    expect_rejected(make_packet(40, specials40(max40, max40, 3), abc),
                    "payload (offset 1099511627775, length 3) exceeds heap length 1099511627775");
}

TEST(ProtocolPacketHeader, AcceptsExactHeapEnd)
{
    auto bytes = make_packet(40, specials40(16, 13, 3), abc);
    packet_header h;
    EXPECT_EQ(decode_packet(h, bytes.data(), bytes.size()), bytes.size());
}

TEST(ProtocolPacketHeader, HeapLengthIsOptional)
{
    pointer_encoder enc(40);
    auto bytes = make_packet(40,
                             {enc.make_immediate(HEAP_CNT_ID, 9), enc.make_immediate(PAYLOAD_OFFSET_ID, 1000),
                              enc.make_immediate(PAYLOAD_LENGTH_ID, 3)},
                             abc);
    packet_header h;
    ASSERT_EQ(decode_packet(h, bytes.data(), bytes.size()), 35u);
    EXPECT_EQ(h.heap_length, -1);
    EXPECT_EQ(h.heap_cnt, 9);
    EXPECT_EQ(h.payload_offset, 1000);
}

TEST(ProtocolPacketHeader, SpecialsAnywhereAndUserItemsKept)
{
    pointer_encoder enc(48);
    std::vector<item_pointer_t> p{
        enc.make_address(0x1000, 0),          enc.make_immediate(PAYLOAD_LENGTH_ID, 3),
        enc.make_immediate(0x1001, 5),        enc.make_immediate(HEAP_CNT_ID, 0x123456789abc),
        enc.make_address(NULL_ID, 2),         enc.make_immediate(PAYLOAD_OFFSET_ID, 0),
        enc.make_immediate(HEAP_LENGTH_ID, 3)};
    auto bytes = make_packet(48, p, abc);
    packet_header h;
    ASSERT_EQ(decode_packet(h, bytes.data(), bytes.size()), 8u + 56u + 3u);
    EXPECT_EQ(h.n_items, 7);
    EXPECT_EQ(h.heap_cnt, 0x123456789abc);
    EXPECT_EQ(h.heap_length, 3);
    EXPECT_EQ(h.payload_offset, 0);
    EXPECT_EQ(h.payload_length, 3);
    EXPECT_EQ(h.heap_address_bits, 48);
}

TEST(ProtocolPacketHeader, LaterSpecialOverridesEarlier)
{
    pointer_encoder enc(40);
    auto p = specials40();
    p.push_back(enc.make_immediate(HEAP_CNT_ID, 99));
    auto bytes = make_packet(40, p, abc);
    packet_header h;
    ASSERT_NE(decode_packet(h, bytes.data(), bytes.size()), 0u);
    EXPECT_EQ(h.heap_cnt, 99);
    // A later, smaller HEAP_LENGTH makes the packet inconsistent.
    p = specials40();
    p.push_back(enc.make_immediate(HEAP_LENGTH_ID, 4));
    expect_rejected(make_packet(40, p, abc), "exceeds heap length 4");
}

TEST(ProtocolPacketHeader, LeadingSpecialsAreReported)
{
    // The usual order: the fast path takes all four, and consumers may skip them.
    auto bytes = make_packet(40, specials40(), abc);
    packet_header h;
    ASSERT_NE(decode_packet(h, bytes.data(), bytes.size()), 0u);
    EXPECT_EQ(h.leading_specials, 4);
    // Any other order decodes to the same values through the general loop.
    auto p = specials40();
    std::swap(p[0], p[3]);
    bytes = make_packet(40, p, abc);
    packet_header g;
    ASSERT_NE(decode_packet(g, bytes.data(), bytes.size()), 0u);
    EXPECT_EQ(g.leading_specials, 0);
    EXPECT_EQ(std::tie(g.heap_cnt, g.heap_length, g.payload_offset, g.payload_length),
              std::tie(h.heap_cnt, h.heap_length, h.payload_offset, h.payload_length));
    // An addressed (not immediate) HEAP_LENGTH is not a special: no fast path, no heap length.
    pointer_encoder enc(40);
    p = specials40();
    p[1] = enc.make_address(HEAP_LENGTH_ID, 16);
    bytes = make_packet(40, p, abc);
    ASSERT_NE(decode_packet(g, bytes.data(), bytes.size()), 0u);
    EXPECT_EQ(g.leading_specials, 0);
    EXPECT_EQ(g.heap_length, -1);
}

TEST(ProtocolPacketHeader, TrailingBytesAreNotPartOfThePacket)
{
    auto bytes = make_packet(40, specials40(), abc);
    bytes.resize(bytes.size() + 100, 0xee);
    packet_header h;
    EXPECT_EQ(decode_packet(h, bytes.data(), bytes.size()), 43u);
}

TEST(ProtocolPacketHeader, EveryTruncationIsRejected)
{
    const auto bytes = make_packet(40, specials40(), abc);
    protocol_log log;
    for (std::size_t len = 0; len < bytes.size(); len++)
    {
        packet_header h;
        EXPECT_EQ(decode_packet(h, bytes.data(), len), 0u) << len;
    }
    EXPECT_EQ(log.messages.size(), bytes.size());
}

TEST(ProtocolPacketHeader, MaximumValuesPerFlavour)
{
    for (int hab = 8; hab < 64; hab += 8)
    {
        pointer_encoder enc(hab);
        const s_item_pointer_t max = (s_item_pointer_t(1) << hab) - 1;
        auto bytes = make_packet(
            hab,
            {enc.make_immediate(HEAP_CNT_ID, max), enc.make_immediate(HEAP_LENGTH_ID, max),
             enc.make_immediate(PAYLOAD_OFFSET_ID, max - 3), enc.make_immediate(PAYLOAD_LENGTH_ID, 3)},
            abc);
        packet_header h;
        ASSERT_EQ(decode_packet(h, bytes.data(), bytes.size()), 43u) << hab;
        EXPECT_EQ(h.heap_cnt, max);
        EXPECT_EQ(h.heap_length, max);
        EXPECT_EQ(h.payload_offset, max - 3);
    }
}

TEST(ProtocolPacketSize, NeedsMoreBytes)
{
    const auto bytes = make_packet(40, specials40(), abc);
    for (std::size_t len = 0; len < 40; len++)
        EXPECT_EQ(get_packet_size(bytes.data(), len), 0) << len;
    // Once the pointers are in, the size is known even without the payload.
    for (std::size_t len = 40; len <= bytes.size(); len++)
        EXPECT_EQ(get_packet_size(bytes.data(), len), 43) << len;
}

TEST(ProtocolPacketSize, BadHeader)
{
    protocol_log log;
    auto bytes = make_packet(40, specials40(), abc);
    bytes[0] = 0;
    EXPECT_EQ(get_packet_size(bytes.data(), bytes.size()), -1);
    bytes = make_packet(40, specials40(), abc, 4, 5);
    EXPECT_EQ(get_packet_size(bytes.data(), bytes.size()), -1);
    EXPECT_EQ(log.messages.size(), 2u);
}

TEST(ProtocolPacketSize, MissingPayloadLength)
{
    protocol_log log;
    auto p = specials40();
    p.pop_back();
    const auto bytes = make_packet(40, p, abc);
    EXPECT_EQ(get_packet_size(bytes.data(), bytes.size()), -1);
    ASSERT_EQ(log.messages.size(), 1u);
    EXPECT_EQ(log.messages[0].second, "packet rejected because it has no PAYLOAD_LENGTH");
}

TEST(ProtocolPacketSize, LargePayloadLength)
{
    // The size is reported even when it is absurd; the TCP reader compares it with max_size.
    const auto bytes = make_packet(56,
                                   []
                                   {
                                       pointer_encoder enc(56);
                                       return std::vector<item_pointer_t>{enc.make_immediate(
                                           PAYLOAD_LENGTH_ID, (s_item_pointer_t(1) << 56) - 1)};
                                   }(),
                                   {});
    EXPECT_EQ(get_packet_size(bytes.data(), bytes.size()), 16 + (s_item_pointer_t(1) << 56) - 1);
}

} // namespace
} // namespace spead2::test
