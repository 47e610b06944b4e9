// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The send rate limiter's arithmetic (API.md §3.3), kept free of I/O so it can be tested with
/// made-up times.
#ifndef SPEAD2_SEND_RATE_LIMITER_H
#define SPEAD2_SEND_RATE_LIMITER_H

#include <chrono>
#include <cstddef>

namespace spead2::send::detail
{

/**
 * Decides when each burst of packets may start.
 *
 * Packets are sent without pause until at least burst_size bytes have gone (a burst). Each packet
 * costs bytes / rate of time at its heap's rate (0 = free). At the end of a burst two lower bounds
 * on the start of the next burst are computed:
 *  - the standard bound, advanced by the burst's time whatever the real clock did;
 *  - the catch-up bound, the burst's real start plus its time divided by burst_rate_ratio.
 * The next burst starts at the later of the two, so oversleeping is made up at no more than the
 * catch-up rate.
 *
 * The standard bound is a clock tick plus a fraction of a tick in [0, 1), so that bursts whose
 * time is not a whole number of ticks (13107.2 ns for 64 KiB at 5 GB/s) don't drift.
 *
 * When the sender runs out of work and later gets more (idle_wake), the standard bound is moved
 * forward to "now minus the time owed for the partial burst already sent", so idle time is not
 * made up in a burst.
 *
 * Not thread-safe; the writer owns one.
 */
class rate_limiter
{
public:
    typedef std::chrono::steady_clock clock;
    typedef clock::time_point time_point;

private:
    std::size_t burst_size_;
    double burst_rate_ratio_;
    bool started_ = false;
    time_point standard_{};
    double standard_frac_ = 0.0; ///< Fraction of a tick beyond standard_, in [0, 1)
    time_point next_{};          ///< Earliest start of the next burst
    time_point burst_start_{};
    std::size_t burst_bytes_ = 0;
    double burst_ticks_ = 0.0; ///< Time the current burst's bytes cost, in ticks

public:
    rate_limiter(std::size_t burst_size, double burst_rate_ratio);

    /// Work arrives after the queue was empty (or for the first time) at @a now.
    void idle_wake(time_point now);

    /// Earliest time the next burst may start (meaningful when burst_empty()).
    time_point get_next_burst_time() const { return next_; }
    bool burst_empty() const { return burst_bytes_ == 0; }
    bool burst_full() const { return burst_bytes_ >= burst_size_ && burst_bytes_ > 0; }

    /// Marks the start of a burst: its first packet goes out at @a now.
    void start_burst(time_point now);

    /// Accounts a packet of @a bytes at @a rate bytes per second (0 = unlimited).
    void add_packet(std::size_t bytes, double rate);

    /// Closes the current burst and computes get_next_burst_time().
    void end_burst();

    /// The standard bound, rounded down to a tick, and its fractional part (for tests).
    time_point get_standard_bound() const { return standard_; }
    double get_standard_fraction() const { return standard_frac_; }
};

} // namespace spead2::send::detail

#endif // SPEAD2_SEND_RATE_LIMITER_H
