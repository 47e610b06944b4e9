// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for flavour validation.
#include <stdexcept>
#include <string>
#include <gtest/gtest.h>
#include <spead2/protocol/flavour.h>

namespace spead2::test
{
namespace
{

void expect_invalid(int version, int ipb, int hab, const std::string &message)
{
    try
    {
        flavour f(version, ipb, hab);
        FAIL() << "no exception for " << version << ", " << ipb << ", " << hab;
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(ProtocolFlavour, Default)
{
    flavour f;
    EXPECT_EQ(f.get_version(), 4);
    EXPECT_EQ(f.get_item_pointer_bits(), 64);
    EXPECT_EQ(f.get_heap_address_bits(), 40);
    EXPECT_EQ(f.get_bug_compat(), 0u);
}

TEST(ProtocolFlavour, AllValidWidths)
{
    for (int hab = 8; hab < 64; hab += 8)
    {
        flavour f(4, 64, hab, BUG_COMPAT_PYSPEAD_0_5_2);
        EXPECT_EQ(f.get_heap_address_bits(), hab);
        EXPECT_EQ(f.get_bug_compat(), 7u);
        EXPECT_EQ(flavour(hab, 7), f);
    }
}

TEST(ProtocolFlavour, VersionConstants)
{
    // The idiom of code written for spead2: the only version there is.
    flavour f(maximum_version, 64, 48, BUG_COMPAT_PYSPEAD_0_5_2);
    EXPECT_EQ(f.get_version(), 4);
    EXPECT_EQ(minimum_version, 4);
    EXPECT_EQ(flavour(minimum_version, 64, 48), flavour(48));
}

TEST(ProtocolFlavour, Rejects)
{
    expect_invalid(3, 64, 40, "Version is not supported: 3");
    expect_invalid(5, 64, 40, "Version is not supported: 5");
    expect_invalid(4, 32, 40, "item_pointer_bits not supported: 32");
    expect_invalid(4, 64, 0, "heap_address_bits out of range: 0");
    expect_invalid(4, 64, 64, "heap_address_bits out of range: 64");
    expect_invalid(4, 64, -8, "heap_address_bits out of range: -8");
    expect_invalid(4, 64, 41, "heap_address_bits not a multiple of 8: 41");
    expect_invalid(4, 64, 7, "heap_address_bits not a multiple of 8: 7");
}

TEST(ProtocolFlavour, BugCompatIsNotValidatedHere)
{
    // As in the reference: the receive config rejects unknown bits, the flavour keeps them.
    EXPECT_EQ(flavour(40, 8).get_bug_compat(), 8u);
}

TEST(ProtocolFlavour, Equality)
{
    EXPECT_EQ(flavour(), flavour(4, 64, 40, 0));
    EXPECT_NE(flavour(48), flavour(40));
    EXPECT_NE(flavour(40, 1), flavour(40, 2));
}

} // namespace
} // namespace spead2::test
