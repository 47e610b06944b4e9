// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Configuration of a send stream: packet size, rate limiting and queue depth.
#ifndef SPEAD2_SEND_STREAM_CONFIG_H
#define SPEAD2_SEND_STREAM_CONFIG_H

#include <cstddef>

namespace spead2::send
{

/// How the rate limit is enforced.
enum class rate_method
{
    SW,  ///< Software limiter (sleeps between bursts)
    HW,  ///< Hardware limiter where the transport has one, otherwise software
    AUTO ///< Let the library choose (currently always software)
};

/// How heaps sent together by stream::async_send_heaps are interleaved.
enum class group_mode
{
    ROUND_ROBIN, ///< One packet of each unfinished heap in turn
    SERIAL       ///< Each heap entirely before the next
};

/**
 * Send stream configuration (API.md §3.2). Setters validate and return *this so they can be
 * chained. A plain value type.
 */
class stream_config
{
public:
    static constexpr std::size_t DEFAULT_MAX_PACKET_SIZE = 1472;
    static constexpr std::size_t DEFAULT_MAX_HEAPS = 4;
    static constexpr std::size_t DEFAULT_BURST_SIZE = 65536;
    static constexpr double DEFAULT_BURST_RATE_RATIO = 1.05;
    static constexpr rate_method DEFAULT_RATE_METHOD = rate_method::AUTO;

private:
    std::size_t max_packet_size_ = DEFAULT_MAX_PACKET_SIZE;
    double rate_ = 0.0;
    std::size_t burst_size_ = DEFAULT_BURST_SIZE;
    std::size_t max_heaps_ = DEFAULT_MAX_HEAPS;
    double burst_rate_ratio_ = DEFAULT_BURST_RATE_RATIO;
    rate_method rate_method_ = DEFAULT_RATE_METHOD;

public:
    stream_config() = default;

    /**
     * Largest packet (UDP payload) to send; rounded down to a multiple of 8 when used. Values below
     * 56 are accepted here but make sending fail with "packet size is too small".
     */
    stream_config &set_max_packet_size(std::size_t max_packet_size);
    std::size_t get_max_packet_size() const { return max_packet_size_; }

    /// Bytes per second; 0 means unlimited. @throws std::invalid_argument if negative or not finite
    stream_config &set_rate(double rate);
    double get_rate() const { return rate_; }

    /// Bytes sent between rate checks (and sleeps).
    stream_config &set_burst_size(std::size_t burst_size);
    std::size_t get_burst_size() const { return burst_size_; }

    /// Heaps that may be queued at once (a group counts each heap). @throws std::invalid_argument if 0
    stream_config &set_max_heaps(std::size_t max_heaps);
    std::size_t get_max_heaps() const { return max_heaps_; }

    /**
     * Catch-up rate (after oversleeping) as a multiple of the rate.
     * @throws std::invalid_argument if less than 1 or not finite
     */
    stream_config &set_burst_rate_ratio(double burst_rate_ratio);
    double get_burst_rate_ratio() const { return burst_rate_ratio_; }

    stream_config &set_rate_method(rate_method method);
    rate_method get_rate_method() const { return rate_method_; }

    /// rate × burst_rate_ratio.
    double get_burst_rate() const { return rate_ * burst_rate_ratio_; }
};

} // namespace spead2::send

#endif // SPEAD2_SEND_STREAM_CONFIG_H
