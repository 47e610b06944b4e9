// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for the item-pointer codec of every flavour.
#include <cstdint>
#include <random>
#include <gtest/gtest.h>
#include <spead2/protocol/pointer_codec.h>

namespace spead2::test
{
namespace
{

TEST(ProtocolPointerCodec, KnownPointers40)
{
    pointer_encoder enc(40);
    pointer_decoder dec(40);
    // From the protocol document's SPEAD-64-40 example: mode(1) | id(23) | address(40).
    EXPECT_EQ(enc.make_immediate(0x167, 0x104), 0x8001670000000104ULL);
    EXPECT_EQ(enc.make_address(0x168, 0), 0x0001680000000000ULL);
    EXPECT_TRUE(pointer_decoder::is_immediate(0x8001670000000104ULL));
    EXPECT_FALSE(pointer_decoder::is_immediate(0x0001680000000000ULL));
    EXPECT_EQ(dec.get_id(0x8001670000000104ULL), 0x167);
    EXPECT_EQ(dec.get_immediate(0x8001670000000104ULL), 0x104);
    EXPECT_EQ(dec.get_id(0xffffffffffffffffULL), 0x7fffff);
    EXPECT_EQ(dec.get_value(0xffffffffffffffffULL), 0xffffffffff);
}

TEST(ProtocolPointerCodec, FieldBoundariesPerFlavour)
{
    for (int hab = 8; hab < 64; hab += 8)
    {
        pointer_encoder enc(hab);
        pointer_decoder dec(hab);
        EXPECT_EQ(enc.get_heap_address_bits(), hab);
        EXPECT_EQ(dec.get_heap_address_bits(), hab);
        const s_item_pointer_t max_id = (s_item_pointer_t(1) << (63 - hab)) - 1;
        const s_item_pointer_t max_value = (s_item_pointer_t(1) << hab) - 1;
        const item_pointer_t all = enc.make_immediate(max_id, max_value);
        EXPECT_EQ(all, ~item_pointer_t(0)) << hab;
        EXPECT_EQ(enc.make_address(max_id, max_value), ~item_pointer_t(0) >> 1) << hab;
        EXPECT_EQ(enc.make_immediate(1, 0), (item_pointer_t(1) << 63) | (item_pointer_t(1) << hab));
        // A value wider than the field is masked and never spills into the ID.
        const item_pointer_t masked = enc.make_address(5, max_value + 1);
        EXPECT_EQ(dec.get_id(masked), 5);
        EXPECT_EQ(dec.get_address(masked), 0);
    }
}

TEST(ProtocolPointerCodec, RandomRoundTrip)
{
    std::mt19937_64 rng(1234);
    for (int hab = 8; hab < 64; hab += 8)
    {
        pointer_encoder enc(hab);
        pointer_decoder dec(hab);
        for (int i = 0; i < 1000; i++)
        {
            const auto id = s_item_pointer_t(rng() & ((item_pointer_t(1) << (63 - hab)) - 1));
            const auto value = s_item_pointer_t(rng() & ((item_pointer_t(1) << hab) - 1));
            const item_pointer_t imm = enc.make_immediate(id, value);
            const item_pointer_t addr = enc.make_address(id, value);
            ASSERT_TRUE(pointer_decoder::is_immediate(imm));
            ASSERT_FALSE(pointer_decoder::is_immediate(addr));
            ASSERT_EQ(dec.get_id(imm), id);
            ASSERT_EQ(dec.get_id(addr), id);
            ASSERT_EQ(dec.get_immediate(imm), value);
            ASSERT_EQ(dec.get_address(addr), value);
            // Every 64-bit pattern decodes and re-encodes to itself.
            const item_pointer_t raw = rng();
            const item_pointer_t back = pointer_decoder::is_immediate(raw)
                                            ? enc.make_immediate(dec.get_id(raw), dec.get_value(raw))
                                            : enc.make_address(dec.get_id(raw), dec.get_value(raw));
            ASSERT_EQ(back, raw);
        }
    }
}

} // namespace
} // namespace spead2::test
