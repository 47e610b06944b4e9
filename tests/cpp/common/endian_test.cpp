// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// htobe/betoh and the unaligned big-endian loads and stores.
#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <spead2/common/endian.h>

namespace spead2
{

TEST(endian, value_conversions_match_loads_and_stores)
{
    static_assert(betoh(htobe(std::uint32_t(0x01020304))) == 0x01020304);
    const std::uint64_t value = 0x0102030405060708;
    const std::uint64_t wire = htobe(value);
    std::uint8_t bytes[8];
    std::memcpy(bytes, &wire, 8);
    EXPECT_EQ(bytes[0], 0x01);
    EXPECT_EQ(bytes[7], 0x08);
    EXPECT_EQ(load_be<std::uint64_t>(bytes), value);
    EXPECT_EQ(betoh(wire), value);
    EXPECT_EQ(htobe(std::uint16_t(0x0102)), load_be<std::uint16_t>("\x02\x01"));
    EXPECT_EQ(htobe(std::uint8_t(7)), 7);
}

} // namespace spead2
