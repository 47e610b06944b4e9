// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Defaults and validation of send::stream_config.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <gtest/gtest.h>
#include <spead2/send/stream_config.h>

namespace spead2::send
{
namespace
{

TEST(stream_config, defaults)
{
    stream_config c;
    EXPECT_EQ(c.get_max_packet_size(), 1472u);
    EXPECT_EQ(c.get_rate(), 0.0);
    EXPECT_EQ(c.get_burst_size(), 65536u);
    EXPECT_EQ(c.get_max_heaps(), 4u);
    EXPECT_EQ(c.get_burst_rate_ratio(), 1.05);
    EXPECT_EQ(c.get_rate_method(), rate_method::AUTO);
    EXPECT_EQ(stream_config::DEFAULT_MAX_PACKET_SIZE, 1472u);
    EXPECT_EQ(stream_config::DEFAULT_MAX_HEAPS, 4u);
    EXPECT_EQ(stream_config::DEFAULT_BURST_SIZE, 65536u);
    EXPECT_EQ(stream_config::DEFAULT_BURST_RATE_RATIO, 1.05);
}

TEST(stream_config, fluent_setters)
{
    stream_config c = stream_config()
                          .set_max_packet_size(9000)
                          .set_rate(1e9)
                          .set_burst_size(1000)
                          .set_max_heaps(8)
                          .set_burst_rate_ratio(2.0)
                          .set_rate_method(rate_method::SW);
    EXPECT_EQ(c.get_max_packet_size(), 9000u);
    EXPECT_EQ(c.get_rate(), 1e9);
    EXPECT_EQ(c.get_burst_size(), 1000u);
    EXPECT_EQ(c.get_max_heaps(), 8u);
    EXPECT_EQ(c.get_burst_rate_ratio(), 2.0);
    EXPECT_EQ(c.get_burst_rate(), 2e9);
    EXPECT_EQ(c.get_rate_method(), rate_method::SW);
}

TEST(stream_config, small_packet_size_accepted_until_send)
{
    stream_config c;
    EXPECT_NO_THROW(c.set_max_packet_size(10));
    EXPECT_EQ(c.get_max_packet_size(), 10u);
}

template<typename F>
std::string message_of(F &&f)
{
    try
    {
        f();
    }
    catch (const std::invalid_argument &e)
    {
        return e.what();
    }
    return "<no exception>";
}

TEST(stream_config, validation)
{
    stream_config c;
    EXPECT_EQ(message_of([&] { c.set_rate(-1.0); }), "rate must be non-negative");
    EXPECT_EQ(message_of([&] { c.set_rate(std::numeric_limits<double>::infinity()); }),
              "rate must be non-negative");
    EXPECT_EQ(message_of([&] { c.set_rate(std::nan("")); }), "rate must be non-negative");
    EXPECT_EQ(message_of([&] { c.set_max_heaps(0); }), "max_heaps must be positive");
    EXPECT_EQ(message_of([&] { c.set_burst_rate_ratio(0.99); }),
              "burst rate ratio must be at least 1.0 and finite");
    EXPECT_EQ(message_of([&] { c.set_burst_rate_ratio(std::numeric_limits<double>::infinity()); }),
              "burst rate ratio must be at least 1.0 and finite");
    // Failed setters leave the value alone
    EXPECT_EQ(c.get_rate(), 0.0);
    EXPECT_EQ(c.get_max_heaps(), 4u);
    EXPECT_EQ(c.get_burst_rate_ratio(), 1.05);
    EXPECT_NO_THROW(c.set_rate(0.0));
    EXPECT_NO_THROW(c.set_burst_rate_ratio(1.0));
}

} // namespace
} // namespace spead2::send
