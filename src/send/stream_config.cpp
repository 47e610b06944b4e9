// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Validation of send stream configuration.
#include <cmath>
#include <stdexcept>
#include <spead2/send/stream_config.h>

namespace spead2::send
{

stream_config &stream_config::set_max_packet_size(std::size_t max_packet_size)
{
    // Checked when a heap is sent (as spead2 does), so that configs can be built in any order.
    max_packet_size_ = max_packet_size;
    return *this;
}

stream_config &stream_config::set_rate(double rate)
{
    if (!std::isfinite(rate) || rate < 0.0)
        throw std::invalid_argument("rate must be non-negative"); // spead2's exact message
    rate_ = rate;
    return *this;
}

stream_config &stream_config::set_burst_size(std::size_t burst_size)
{
    burst_size_ = burst_size;
    return *this;
}

stream_config &stream_config::set_max_heaps(std::size_t max_heaps)
{
    if (max_heaps == 0)
        throw std::invalid_argument("max_heaps must be positive");
    max_heaps_ = max_heaps;
    return *this;
}

stream_config &stream_config::set_burst_rate_ratio(double burst_rate_ratio)
{
    if (!std::isfinite(burst_rate_ratio) || burst_rate_ratio < 1.0)
        throw std::invalid_argument("burst rate ratio must be at least 1.0 and finite");
    burst_rate_ratio_ = burst_rate_ratio;
    return *this;
}

stream_config &stream_config::set_rate_method(rate_method method)
{
    rate_method_ = method;
    return *this;
}

} // namespace spead2::send
