// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for memcpy_nontemporal and each of its instruction-set variants, and for memcpy_cached
/// (the default payload copy).
#include <deque>
#include <string>
#include <cstdint>
#include <cstring>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/memcpy.h>
#include "common/memcpy_impl.h"

namespace spead2
{

namespace
{

constexpr std::size_t max_size = 4100;
constexpr std::size_t guard = 64;

/// Copies with @a fn and checks that exactly [dest, dest + n) changed, to match memcpy.
void check_copy(detail::memcpy_function_ptr fn, std::size_t n, std::size_t dest_offset,
                std::size_t src_offset, std::vector<std::uint8_t> &src_buf,
                std::vector<std::uint8_t> &dest_buf, std::vector<std::uint8_t> &expected)
{
    std::fill(dest_buf.begin(), dest_buf.end(), 0xee);
    expected = dest_buf;
    std::memcpy(expected.data() + guard + dest_offset, src_buf.data() + src_offset, n);
    void *ret = fn(dest_buf.data() + guard + dest_offset, src_buf.data() + src_offset, n);
    ASSERT_EQ(ret, dest_buf.data() + guard + dest_offset);
    ASSERT_TRUE(dest_buf == expected)
        << "n=" << n << " dest_offset=" << dest_offset << " src_offset=" << src_offset;
}

class memcpy_variants : public ::testing::Test
{
protected:
    std::vector<std::uint8_t> src_buf, dest_buf, expected;
    std::vector<detail::memcpy_variant> variants;
    std::deque<std::string> names; ///< Names of the unfenced entries (a deque keeps c_str() stable)

    void SetUp() override
    {
        src_buf.resize(max_size + 128);
        for (std::size_t i = 0; i < src_buf.size(); i++)
            src_buf[i] = std::uint8_t(i * 7 + (i >> 8) + 1);
        dest_buf.resize(max_size + 128 + 2 * guard);
        std::size_t count;
        const detail::memcpy_variant *v = detail::get_memcpy_variants(count);
        for (std::size_t i = 0; i < count; i++)
            if (v[i].supported)
            {
                variants.push_back(v[i]);
                // The unfenced form, checked as a variant of its own (same thread: no fence needed).
                names.push_back(std::string(v[i].name) + " unfenced");
                variants.push_back({names.back().c_str(), v[i].unfenced, v[i].unfenced, true});
            }
        variants.push_back({"public", memcpy_nontemporal, detail::memcpy_nontemporal_unfenced, true});
        variants.push_back({"public unfenced", detail::memcpy_nontemporal_unfenced,
                            detail::memcpy_nontemporal_unfenced, true});
        variants.push_back({"cached", detail::memcpy_cached, detail::memcpy_cached, true});
    }
};

} // namespace

TEST_F(memcpy_variants, all_sizes_few_alignments)
{
    const std::size_t offsets[][2] = {{0, 0}, {1, 0}, {0, 1}, {3, 61}, {17, 17}, {32, 7}, {63, 63}, {48, 16}};
    for (const auto &variant : variants)
    {
        SCOPED_TRACE(variant.name);
        for (std::size_t n = 0; n <= max_size; n++)
            for (const auto &off : offsets)
            {
                check_copy(variant.function, n, off[0], off[1], src_buf, dest_buf, expected);
                if (HasFatalFailure())
                    return;
            }
    }
}

TEST_F(memcpy_variants, all_alignments_few_sizes)
{
    for (const auto &variant : variants)
    {
        SCOPED_TRACE(variant.name);
        for (std::size_t n :
             {std::size_t(255), std::size_t(256), std::size_t(300), std::size_t(1000), std::size_t(4096)})
            for (std::size_t d = 0; d < 64; d++)
                for (std::size_t s = 0; s < 64; s++)
                {
                    check_copy(variant.function, n, d, s, src_buf, dest_buf, expected);
                    if (HasFatalFailure())
                        return;
                }
    }
}

TEST(memcpy_nontemporal, zero_length_null_pointers)
{
    EXPECT_EQ(memcpy_nontemporal(nullptr, nullptr, 0), nullptr);
    EXPECT_EQ(detail::memcpy_cached(nullptr, nullptr, 0), nullptr);
}

TEST(memcpy_nontemporal, variants_listed)
{
    std::size_t count;
    const detail::memcpy_variant *v = detail::get_memcpy_variants(count);
    ASSERT_GE(count, 1u);
    EXPECT_STREQ(v[0].name, "std");
#if defined(__x86_64__)
    ASSERT_EQ(count, 4u);
    EXPECT_TRUE(v[1].supported); // SSE2 is baseline on x86-64
    EXPECT_EQ(v[2].supported, bool(__builtin_cpu_supports("avx2")));
#endif
}

} // namespace spead2
