// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for descriptor encoding (byte-exact against reference output) and decoding.
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/endian.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>
#include "protocol_test_util.h"

namespace spead2::test
{
namespace
{

/// One golden case: the descriptor, its flavour and the DESCRIPTOR value the reference sent.
struct golden_descriptor
{
    flavour f;
    descriptor d;
    std::vector<std::uint8_t> value;
};

std::string as_string(const std::vector<std::uint8_t> &v)
{
    return std::string(v.begin(), v.end());
}

golden_descriptor load_golden(const std::string &name)
{
    golden_file g("descriptor_" + name + ".txt");
    golden_descriptor out;
    out.f = flavour(std::stoi(g.get("heap_address_bits")), bug_compat_mask(std::stoul(g.get("bug_compat"))));
    out.d.id = std::stoll(g.get("id"));
    out.d.name = as_string(from_hex(g.get("name")));
    out.d.description = as_string(from_hex(g.get("description")));
    std::istringstream format(g.get("format"));
    std::string field;
    while (format >> field)
        out.d.format.emplace_back(field[0], std::stoll(field.substr(2)));
    std::istringstream shape(g.get("shape"));
    s_item_pointer_t dim;
    while (shape >> dim)
        out.d.shape.push_back(dim);
    out.d.numpy_header = as_string(from_hex(g.get("numpy_header")));

    // The reference heap holds only the descriptor, in one packet: its value runs from the
    // DESCRIPTOR item's address to the end of the heap.
    const auto packets = g.get_all("packet");
    if (packets.size() != 1)
        throw std::runtime_error("expected one packet in " + name);
    const auto packet = from_hex(packets[0]);
    recv::packet_header h;
    if (recv::decode_packet(h, packet.data(), packet.size()) != packet.size())
        throw std::runtime_error("golden packet does not decode: " + name);
    pointer_decoder dec(h.heap_address_bits);
    for (int i = 0; i < h.n_items; i++)
    {
        const auto p = load_be<item_pointer_t>(h.pointers + 8 * i);
        if (!pointer_decoder::is_immediate(p) && dec.get_id(p) == DESCRIPTOR_ID)
            out.value.assign(h.payload + dec.get_address(p), h.payload + h.heap_length);
    }
    if (out.value.empty())
        throw std::runtime_error("no DESCRIPTOR item in " + name);
    return out;
}

const char *const golden_names[] = {"legacy_40",     "variable_40",   "dtype_40",           "structured_40",
                                    "legacy_48",     "dtype_48",      "legacy_56",          "fortran_56",
                                    "bugcompat7_40", "bugcompat7_48", "bugcompat7_dtype_56"};

class ProtocolDescriptorGolden : public ::testing::TestWithParam<const char *>
{
};

TEST_P(ProtocolDescriptorGolden, EncodeMatchesReferenceBytes)
{
    const auto g = load_golden(GetParam());
    EXPECT_EQ(to_hex(encode_descriptor(g.d, g.f)), to_hex(g.value));
}

TEST_P(ProtocolDescriptorGolden, DecodeGivesTheDescriptor)
{
    const auto g = load_golden(GetParam());
    auto decoded = decode_descriptor(g.value.data(), g.value.size(), g.f.get_bug_compat());
    ASSERT_TRUE(decoded);
    descriptor expected = g.d;
    if (!expected.numpy_header.empty())
    {
        expected.format.clear();
        expected.shape.clear();
    }
    EXPECT_EQ(*decoded, expected);
}

TEST_P(ProtocolDescriptorGolden, EveryTruncationIsDropped)
{
    const auto g = load_golden(GetParam());
    protocol_log log;
    for (std::size_t len = 0; len < g.value.size(); len++)
        EXPECT_FALSE(decode_descriptor(g.value.data(), len, g.f.get_bug_compat())) << len;
}

TEST_P(ProtocolDescriptorGolden, ByteFlipsNeverCrash)
{
    const auto g = load_golden(GetParam());
    protocol_log log;
    for (std::size_t i = 0; i < g.value.size(); i++)
        for (std::uint8_t mask : {0x01, 0x80, 0xff})
        {
            auto bytes = g.value;
            bytes[i] ^= mask;
            auto d = decode_descriptor(bytes.data(), bytes.size(), g.f.get_bug_compat());
            if (d && d->id > 0 && d->id < (s_item_pointer_t(1) << (63 - g.f.get_heap_address_bits())))
            {
                // Whatever decodes re-encodes and decodes to the same thing.
                const auto again = encode_descriptor(*d, g.f);
                EXPECT_EQ(decode_descriptor(again.data(), again.size(), g.f.get_bug_compat()), d);
            }
        }
}

INSTANTIATE_TEST_SUITE_P(Reference, ProtocolDescriptorGolden, ::testing::ValuesIn(golden_names));

descriptor simple_descriptor(s_item_pointer_t id = 0x1234)
{
    descriptor d;
    d.id = id;
    d.name = "name";
    d.description = "desc";
    d.format = {{'u', 8}};
    d.shape = {3, -1};
    return d;
}

void expect_id_out_of_range(s_item_pointer_t id, int hab)
{
    try
    {
        encode_descriptor(simple_descriptor(id), flavour(hab));
        FAIL() << "no exception for id " << id;
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_EQ(std::string(e.what()), "Item ID out of range: " + std::to_string(id));
    }
}

TEST(ProtocolDescriptor, ItemIdRange)
{
    expect_id_out_of_range(0, 40);
    expect_id_out_of_range(-1, 40);
    expect_id_out_of_range(s_item_pointer_t(1) << 23, 40);
    expect_id_out_of_range(128, 56);
    expect_id_out_of_range(s_item_pointer_t(1) << 55, 8);
    EXPECT_NO_THROW(encode_descriptor(simple_descriptor((s_item_pointer_t(1) << 23) - 1), flavour(40)));
    EXPECT_NO_THROW(encode_descriptor(simple_descriptor(127), flavour(56)));
    EXPECT_NO_THROW(encode_descriptor(simple_descriptor((s_item_pointer_t(1) << 55) - 1), flavour(8)));
}

TEST(ProtocolDescriptor, ExactLayout40)
{
    // Checked against the reference: API.md §1.5, 4-byte format fields and 6-byte shape fields.
    EXPECT_EQ(to_hex(encode_descriptor(simple_descriptor(), flavour(40))),
              "5304030500000009"
              "8000010000000001800002000000001880000300000000008000040000000018"
              "8000140000001234"
              "00001000000000000000110000000004000013000000000800001200000000"
              "0c"
              "6e616d65"
              "64657363"
              "75000008"
              "000000000003010000000000");
}

TEST(ProtocolDescriptor, DescriptorWidthsBugCompat)
{
    // 64-48 with DESCRIPTOR_WIDTHS: format 1+3 bytes, shape 1+7 bytes (reference output).
    auto d = simple_descriptor(5);
    d.name = "a";
    d.description = "b";
    d.shape = {2, -1};
    const auto bytes = encode_descriptor(d, flavour(48, BUG_COMPAT_DESCRIPTOR_WIDTHS));
    EXPECT_EQ(to_hex(bytes), "5304020600000009"
                             "8001000000000001800200000000001680030000000000008004000000000016"
                             "8014000000000005"
                             "0010000000000000001100000000000100130000000000020012000000000006"
                             "6162"
                             "75000008"
                             "00000000000000020100000000000000");
    EXPECT_EQ(decode_descriptor(bytes.data(), bytes.size(), BUG_COMPAT_DESCRIPTOR_WIDTHS), d);
    // Decoded without the flag, the widths differ (format 1+2, shape 1+6) and the result changes.
    auto wrong = decode_descriptor(bytes.data(), bytes.size(), 0);
    ASSERT_TRUE(wrong);
    EXPECT_NE(*wrong, d);
}

TEST(ProtocolDescriptor, ShapeBit1BugCompat)
{
    auto d = simple_descriptor(5);
    d.name = "a";
    d.description = "b";
    d.shape = {2, -1};
    const auto bytes = encode_descriptor(d, flavour(48, BUG_COMPAT_SHAPE_BIT_1));
    // Reference output: shape fields of 1 + 6 bytes, the variable dimension carries flag 2.
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(bytes.end() - 14, bytes.end())),
              "0000000000000202000000000000");
    EXPECT_EQ(decode_descriptor(bytes.data(), bytes.size(), BUG_COMPAT_SHAPE_BIT_1), d);
    // Without the flag, bit 1 is not the variable marker: the dimension reads as 0.
    auto plain = decode_descriptor(bytes.data(), bytes.size(), 0);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->shape, (std::vector<s_item_pointer_t>{2, 0}));
}

TEST(ProtocolDescriptor, OverwideValuesAreMasked)
{
    // As the reference does: a bit length or size wider than its field keeps its low bytes.
    auto d = simple_descriptor(1);
    d.name = "a";
    d.description = "b";
    d.format = {{'u', s_item_pointer_t(1) << 24}};
    d.shape = {2};
    auto bytes = encode_descriptor(d, flavour(40));
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(bytes.end() - 10, bytes.end())), "75000000000000000002");
    d.format = {{'u', 8}};
    d.shape = {s_item_pointer_t(1) << 41};
    bytes = encode_descriptor(d, flavour(40));
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(bytes.end() - 10, bytes.end())), "75000008000000000000");
}

TEST(ProtocolDescriptor, EmptyFields)
{
    descriptor d;
    d.id = 5;
    d.format = {{'u', 8}};
    const auto bytes = encode_descriptor(d, flavour(48));
    // Reference output: NAME, DESCRIPTION and FORMAT all at 0, SHAPE at 3.
    EXPECT_EQ(to_hex(bytes), "5304020600000009"
                             "8001000000000001800200000000000380030000000000008004000000000003"
                             "8014000000000005"
                             "0010000000000000001100000000000000130000000000000012000000000003"
                             "750008");
    EXPECT_EQ(decode_descriptor(bytes.data(), bytes.size(), 0), d);
}

// --- Decoding of hand-made descriptor packets. Each expectation below was checked against
// --- spead2 4.5.1 by feeding the same bytes through its receive path as a black box.

struct item
{
    bool immediate;
    s_item_pointer_t id;
    s_item_pointer_t value;
};

std::vector<std::uint8_t> make_value(const std::vector<item> &items, const std::string &payload, int hab = 40)
{
    std::vector<std::uint8_t> out(8 + 8 * items.size());
    store_be<std::uint64_t>(out.data(), (std::uint64_t(0x5304) << 48) |
                                            (std::uint64_t((64 - hab) / 8) << 40) |
                                            (std::uint64_t(hab / 8) << 32) | items.size());
    pointer_encoder enc(hab);
    for (std::size_t i = 0; i < items.size(); i++)
        store_be<std::uint64_t>(out.data() + 8 + 8 * i, items[i].immediate
                                                            ? enc.make_immediate(items[i].id, items[i].value)
                                                            : enc.make_address(items[i].id, items[i].value));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

std::vector<item> specials(s_item_pointer_t n)
{
    return {{true, 1, 1}, {true, 2, n}, {true, 3, 0}, {true, 4, n}};
}

std::vector<item> operator+(std::vector<item> a, const std::vector<item> &b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

const std::string payload12("ab"
                            "u\0\0\x08"
                            "\0\0\0\0\0\x02",
                            12);
const std::vector<item> base_items =
    specials(12) +
    std::vector<item>{
        {true, 0x14, 0x99}, {false, 0x10, 0}, {false, 0x11, 1}, {false, 0x13, 2}, {false, 0x12, 6}};

std::optional<descriptor> decode(const std::vector<item> &items, const std::string &payload,
                                 bug_compat_mask bug_compat = 0, int hab = 40)
{
    const auto bytes = make_value(items, payload, hab);
    return decode_descriptor(bytes.data(), bytes.size(), bug_compat);
}

descriptor base_descriptor()
{
    descriptor d;
    d.id = 0x99;
    d.name = "a";
    d.description = "b";
    d.format = {{'u', 8}};
    d.shape = {2};
    return d;
}

TEST(ProtocolDescriptorDecode, Base)
{
    EXPECT_EQ(decode(base_items, payload12), base_descriptor());
}

TEST(ProtocolDescriptorDecode, DroppedCases)
{
    protocol_log log;
    auto without_id =
        specials(12) +
        std::vector<item>{{false, 0x10, 0}, {false, 0x11, 1}, {false, 0x13, 2}, {false, 0x12, 6}};
    EXPECT_FALSE(decode(without_id, payload12));
    EXPECT_FALSE(decode(without_id + std::vector<item>{{false, 0x14, 0}}, payload12)); // addressed ID
    EXPECT_FALSE(decode(without_id + std::vector<item>{{true, 0x14, 0}}, payload12));  // ID 0
    EXPECT_FALSE(decode(base_items + std::vector<item>{{true, 6, 2}}, payload12));     // stop item
    auto incomplete = base_items;
    incomplete[1].value = 20;
    EXPECT_FALSE(decode(incomplete, payload12));
    auto offset = base_items;
    offset[1].value = 20;
    offset[2].value = 8;
    EXPECT_FALSE(decode(offset, payload12));
    EXPECT_FALSE(decode(base_items + std::vector<item>{{false, 0x30, 13}}, payload12)); // address beyond heap
    // A later HEAP_LENGTH immediate overrides the first and makes the packet inconsistent.
    EXPECT_FALSE(decode(base_items + std::vector<item>{{true, 2, 4}}, payload12));
    const std::string text = log.text();
    EXPECT_NE(text.find("descriptor dropped because it has no immediate DESCRIPTOR_ID"), std::string::npos);
    EXPECT_NE(text.find("descriptor dropped because it carries a stream stop item"), std::string::npos);
    EXPECT_NE(
        text.find("descriptor dropped because its heap is incomplete (offset 0, length 12, heap length 20)"),
        std::string::npos);
    EXPECT_NE(text.find("descriptor dropped because item 0x30 has address 13 beyond the heap length 12"),
              std::string::npos);
    EXPECT_NE(text.find("descriptor dropped because its packet is invalid"), std::string::npos);
}

TEST(ProtocolDescriptorDecode, AcceptedVariants)
{
    protocol_log log;
    auto expected = base_descriptor();
    // Trailing bytes, a HEAP_CNT other than 1, STREAM_CTRL start, and an unknown item are ignored.
    auto bytes = make_value(base_items, payload12);
    bytes.resize(bytes.size() + 14, 'g');
    EXPECT_EQ(decode_descriptor(bytes.data(), bytes.size(), 0), expected);
    auto cnt = base_items;
    cnt[0].value = 12345;
    EXPECT_EQ(decode(cnt, payload12), expected);
    EXPECT_EQ(decode(base_items + std::vector<item>{{true, 6, 0}}, payload12), expected);
    EXPECT_EQ(decode(base_items + std::vector<item>{{true, 0x77, 5}}, payload12), expected);
    EXPECT_NE(log.text().find("ignoring unknown descriptor sub-item 0x77"), std::string::npos);
    // No HEAP_LENGTH: the payload is the heap.
    auto no_length = base_items;
    no_length.erase(no_length.begin() + 1);
    EXPECT_EQ(decode(no_length, payload12), expected);
    // An unknown item exactly at the end of the heap has zero length.
    EXPECT_EQ(decode(base_items + std::vector<item>{{false, 0x30, 12}}, payload12), expected);
    // Addressed specials are not items and do not split other items.
    for (s_item_pointer_t id : {1, 2, 4})
        EXPECT_EQ(decode(base_items + std::vector<item>{{false, id, 4}}, payload12), expected) << id;
}

TEST(ProtocolDescriptorDecode, LengthsFromSortedAddresses)
{
    // A NULL item still ends the item before it: FORMAT becomes 1 byte, too short for a field.
    auto d = decode(base_items + std::vector<item>{{false, 0, 3}}, payload12);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->format.empty());
    EXPECT_EQ(d->shape, std::vector<s_item_pointer_t>{2});
    // FORMAT of 3 bytes and SHAPE of 7: partial trailing fields are ignored.
    auto partial =
        specials(12) +
        std::vector<item>{
            {true, 0x14, 0x99}, {false, 0x10, 0}, {false, 0x11, 1}, {false, 0x13, 2}, {false, 0x12, 5}};
    d = decode(partial, payload12);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->format.empty());
    EXPECT_EQ(d->shape, std::vector<s_item_pointer_t>{0});
}

TEST(ProtocolDescriptorDecode, DuplicatesLastInSortedOrderWins)
{
    // NAME@0 and NAME@1: sorted, DESCRIPTION@1 comes before NAME@1 and gets zero length.
    auto d = decode(base_items + std::vector<item>{{false, 0x10, 1}}, payload12);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "b");
    EXPECT_EQ(d->description, "");
    // NAME@1 listed before NAME@0: sorting still puts NAME@1 last.
    d = decode(
        specials(12) +
            std::vector<item>{
                {true, 0x14, 0x99}, {false, 0x10, 1}, {false, 0x13, 2}, {false, 0x12, 6}, {false, 0x10, 0}},
        payload12);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "b");
    // Immediates sort by value, so the larger ID wins whatever the order.
    for (auto ids : {std::pair{0x99, 0x77}, std::pair{0x77, 0x99}})
    {
        d = decode(specials(12) + std::vector<item>{{true, 0x14, ids.first},
                                                    {true, 0x14, ids.second},
                                                    {false, 0x10, 0},
                                                    {false, 0x11, 1},
                                                    {false, 0x13, 2},
                                                    {false, 0x12, 6}},
                   payload12);
        ASSERT_TRUE(d);
        EXPECT_EQ(d->id, 0x99);
    }
}

TEST(ProtocolDescriptorDecode, ExactDuplicatePointersCountOnce)
{
    // NAME@0, DESCRIPTION@0, NAME@0: the repeated pointer is dropped, so DESCRIPTION gets "ab".
    auto d = decode(specials(12) + std::vector<item>{{true, 0x14, 0x99},
                                                     {false, 0x10, 0},
                                                     {false, 0x11, 0},
                                                     {false, 0x10, 0},
                                                     {false, 0x13, 2},
                                                     {false, 0x12, 6}},
                    payload12);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "");
    EXPECT_EQ(d->description, "ab");
}

TEST(ProtocolDescriptorDecode, ImmediateSubItems)
{
    auto d = decode(specials(12) + std::vector<item>{{true, 0x14, 0x99},
                                                     {true, 0x10, 0x6869},
                                                     {false, 0x11, 1},
                                                     {false, 0x13, 2},
                                                     {false, 0x12, 6}},
                    payload12);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, std::string("\0\0\0hi", 5));
    d = decode(base_items + std::vector<item>{{true, 0x15, 0x41}}, payload12);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->numpy_header, std::string("\0\0\0\0A", 5));
    EXPECT_TRUE(d->format.empty());
    EXPECT_TRUE(d->shape.empty());
}

TEST(ProtocolDescriptorDecode, NumpyHeaderClearsFormatAndShape)
{
    std::string payload = payload12 + "{'x'}";
    auto d = decode(specials(17) + std::vector<item>{{true, 0x14, 0x99},
                                                     {false, 0x10, 0},
                                                     {false, 0x11, 1},
                                                     {false, 0x13, 2},
                                                     {false, 0x12, 6},
                                                     {false, 0x15, 12}},
                    payload);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->numpy_header, "{'x'}");
    EXPECT_TRUE(d->format.empty());
    EXPECT_TRUE(d->shape.empty());
    // A zero-length DTYPE is no DTYPE.
    d = decode(base_items + std::vector<item>{{false, 0x15, 12}}, payload12);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, base_descriptor());
}

TEST(ProtocolDescriptorDecode, VariableDimensionMask)
{
    const std::string payload = std::string("ab"
                                            "u\0\0\x08",
                                            6) +
                                std::string("\x03\0\0\0\0\x02"
                                            "\x02\0\0\0\0\x05"
                                            "\x01\0\0\0\0\x05",
                                            18);
    auto items =
        specials(24) +
        std::vector<item>{
            {true, 0x14, 0x99}, {false, 0x10, 0}, {false, 0x11, 1}, {false, 0x13, 2}, {false, 0x12, 6}};
    EXPECT_EQ(decode(items, payload, 0)->shape, (std::vector<s_item_pointer_t>{-1, 5, -1}));
    EXPECT_EQ(decode(items, payload, BUG_COMPAT_SHAPE_BIT_1)->shape,
              (std::vector<s_item_pointer_t>{-1, -1, 5}));
    EXPECT_EQ(decode(items, payload, BUG_COMPAT_DESCRIPTOR_WIDTHS)->shape,
              (std::vector<s_item_pointer_t>{-1, 21491613696}));
}

TEST(ProtocolDescriptorDecode, NarrowFormatFieldsFor56)
{
    // In 64-56 a format field is 1 + 1 bytes; the ID is not range-checked on receive.
    auto d = decode({{true, 1, 1},
                     {true, 2, 12},
                     {true, 3, 0},
                     {true, 4, 12},
                     {true, 0x14, 1000},
                     {false, 0x10, 0},
                     {false, 0x11, 1},
                     {false, 0x13, 2},
                     {false, 0x12, 6}},
                    payload12, 0, 56);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->id, 1000);
    EXPECT_EQ(d->format, (std::vector<std::pair<char, s_item_pointer_t>>{{'u', 0}, {'\0', 8}}));
    EXPECT_TRUE(d->shape.empty());
}

TEST(ProtocolDescriptorDecode, EmptyHeap)
{
    auto d = decode({{true, 1, 1}, {true, 3, 0}, {true, 4, 0}, {true, 0x14, 0x99}}, "");
    ASSERT_TRUE(d);
    descriptor expected;
    expected.id = 0x99;
    EXPECT_EQ(*d, expected);
}

TEST(ProtocolDescriptorDecode, Garbage)
{
    protocol_log log;
    const std::string garbage = "\x53\x04\x03\x05garbage";
    EXPECT_FALSE(
        decode_descriptor(reinterpret_cast<const std::uint8_t *>(garbage.data()), garbage.size(), 0));
    EXPECT_FALSE(decode_descriptor(nullptr, 0, 0));
}

} // namespace
} // namespace spead2::test
