// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The rate limiter's arithmetic, with made-up times (no sleeping, no wall clock).
#include <chrono>
#include <gtest/gtest.h>
#include "send/rate_limiter.h"

namespace spead2::send::detail
{
namespace
{

using namespace std::chrono_literals;
typedef rate_limiter::time_point time_point;

const time_point t0 = time_point(1s);

TEST(rate_limiter, first_burst_starts_immediately)
{
    rate_limiter rl(1000, 1.05);
    rl.idle_wake(t0);
    EXPECT_TRUE(rl.burst_empty());
    EXPECT_EQ(rl.get_next_burst_time(), t0);
}

TEST(rate_limiter, standard_bound_paces_bursts)
{
    // 1e9 B/s: 1000 bytes cost 1000 ns.
    rate_limiter rl(1000, 1.05);
    rl.idle_wake(t0);
    rl.start_burst(t0);
    rl.add_packet(600, 1e9);
    EXPECT_FALSE(rl.burst_full());
    rl.add_packet(600, 1e9); // the packet that crosses burst_size is part of the burst
    EXPECT_TRUE(rl.burst_full());
    rl.end_burst();
    // Standard bound: t0 + 1200 ns; catch-up bound: t0 + 1200/1.05 = 1142.857 -> 1142 ns.
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 1200ns);
    EXPECT_TRUE(rl.burst_empty());
}

TEST(rate_limiter, catch_up_bound_limits_recovery)
{
    rate_limiter rl(1000, 2.0);
    rl.idle_wake(t0);
    rl.start_burst(t0);
    rl.add_packet(1000, 1e9);
    rl.end_burst();
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 1000ns);
    // We overslept by 10 us: the standard bound stays behind, so the catch-up bound decides.
    time_point late = t0 + 11000ns;
    rl.start_burst(late);
    rl.add_packet(1000, 1e9);
    rl.end_burst();
    EXPECT_EQ(rl.get_standard_bound(), t0 + 2000ns);
    EXPECT_EQ(rl.get_next_burst_time(), late + 500ns); // 1000 ns / ratio 2
}

TEST(rate_limiter, fractional_ticks_accumulate)
{
    // 65536 bytes at 5e9 B/s = 13107.2 ns: five bursts are exactly 65536 ns.
    rate_limiter rl(65536, 1.0);
    rl.idle_wake(t0);
    for (int i = 0; i < 5; i++)
    {
        rl.start_burst(rl.get_next_burst_time());
        rl.add_packet(65536, 5e9);
        rl.end_burst();
    }
    EXPECT_EQ(rl.get_standard_bound(), t0 + 65536ns);
    EXPECT_NEAR(rl.get_standard_fraction(), 0.0, 1e-6);
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 65536ns);
    // After one more the fraction shows, and the next time rounds up.
    rl.start_burst(rl.get_next_burst_time());
    rl.add_packet(65536, 5e9);
    rl.end_burst();
    EXPECT_EQ(rl.get_standard_bound(), t0 + 78643ns);
    EXPECT_NEAR(rl.get_standard_fraction(), 0.2, 1e-6);
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 78644ns);
}

TEST(rate_limiter, per_packet_rates)
{
    rate_limiter rl(3000, 1.0);
    rl.idle_wake(t0);
    rl.start_burst(t0);
    rl.add_packet(1000, 1e9); // 1000 ns
    rl.add_packet(1000, 0.0); // unlimited: free
    rl.add_packet(1000, 2e9); // 500 ns
    ASSERT_TRUE(rl.burst_full());
    rl.end_burst();
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 1500ns);
}

TEST(rate_limiter, unlimited_never_waits)
{
    rate_limiter rl(100, 1.05);
    rl.idle_wake(t0);
    rl.start_burst(t0);
    rl.add_packet(1000, 0.0);
    rl.end_burst();
    EXPECT_EQ(rl.get_next_burst_time(), t0);
}

TEST(rate_limiter, idle_time_is_not_made_up)
{
    rate_limiter rl(1000, 1.0);
    rl.idle_wake(t0);
    rl.start_burst(t0);
    rl.add_packet(1000, 1e9);
    rl.end_burst();
    // A partial burst of 400 bytes (400 ns owed), then the queue runs dry for 1 ms.
    rl.start_burst(t0 + 1000ns);
    rl.add_packet(400, 1e9);
    time_point wake = t0 + 1000000ns;
    rl.idle_wake(wake);
    EXPECT_EQ(rl.get_standard_bound(), wake - 400ns);
    rl.add_packet(600, 1e9);
    rl.end_burst();
    // The burst is paced from the back-dated bound, not from t0 + 1000 ns.
    EXPECT_EQ(rl.get_next_burst_time(), wake + 600ns);
}

TEST(rate_limiter, idle_wake_never_moves_bound_back)
{
    rate_limiter rl(1000, 1.0);
    rl.idle_wake(t0);
    rl.start_burst(t0);
    rl.add_packet(1000, 1e6); // 1 ms
    rl.end_burst();
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 1ms);
    rl.idle_wake(t0 + 10us); // woken before the bound: it stays
    EXPECT_EQ(rl.get_standard_bound(), t0 + 1ms);
    EXPECT_EQ(rl.get_next_burst_time(), t0 + 1ms);
}

} // namespace
} // namespace spead2::send::detail
