// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The send rate limiter's arithmetic.
#include <algorithm>
#include <cmath>
#include "send/rate_limiter.h"

namespace spead2::send::detail
{

namespace
{

constexpr double ticks_per_second =
    double(rate_limiter::clock::period::den) / double(rate_limiter::clock::period::num);

} // namespace

rate_limiter::rate_limiter(std::size_t burst_size, double burst_rate_ratio)
    : burst_size_(burst_size)
    , burst_rate_ratio_(burst_rate_ratio)
{
}

void rate_limiter::idle_wake(time_point now)
{
    if (!started_)
    {
        started_ = true;
        standard_ = now;
        standard_frac_ = 0.0;
        next_ = now;
        return;
    }
    // The partial burst already sent is owed time; pretend it was sent just before now.
    time_point candidate = now - clock::duration(clock::rep(std::ceil(burst_ticks_)));
    if (candidate > standard_)
    {
        standard_ = candidate;
        standard_frac_ = 0.0;
    }
}

void rate_limiter::start_burst(time_point now)
{
    if (burst_bytes_ == 0)
        burst_start_ = now;
}

void rate_limiter::add_packet(std::size_t bytes, double rate)
{
    burst_bytes_ += bytes;
    if (rate > 0.0)
        burst_ticks_ += double(bytes) * ticks_per_second / rate;
}

void rate_limiter::end_burst()
{
    double total = standard_frac_ + burst_ticks_;
    double whole = std::floor(total);
    standard_ += clock::duration(clock::rep(whole));
    standard_frac_ = total - whole;
    // Round up to a whole tick, ignoring floating-point dust (5 × 0.2 is not exactly 1).
    time_point standard_up = standard_ + clock::duration(standard_frac_ > 1e-6 ? 1 : 0);
    time_point catch_up =
        burst_start_ + clock::duration(clock::rep(std::floor(burst_ticks_ / burst_rate_ratio_)));
    next_ = std::max(standard_up, catch_up);
    burst_bytes_ = 0;
    burst_ticks_ = 0.0;
}

} // namespace spead2::send::detail
