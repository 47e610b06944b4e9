// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Validation for ring_stream_config.
#include <stdexcept>
#include <spead2/recv/ring_stream_config.h>

namespace spead2::recv
{

ring_stream_config &ring_stream_config::set_heaps(std::size_t heaps)
{
    if (heaps == 0)
        throw std::invalid_argument("heaps must be positive (got 0)");
    heaps_ = heaps;
    return *this;
}

ring_stream_config &ring_stream_config::set_contiguous_only(bool contiguous_only)
{
    contiguous_only_ = contiguous_only;
    return *this;
}

ring_stream_config &ring_stream_config::set_incomplete_keep_payload_ranges(bool keep)
{
    incomplete_keep_payload_ranges_ = keep;
    return *this;
}

} // namespace spead2::recv
