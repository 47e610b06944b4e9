// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private: the shared list of the 9 core statistics.
#ifndef SPEAD2_SRC_RECV_CORE_STATS_H
#define SPEAD2_SRC_RECV_CORE_STATS_H

#include <memory>
#include <vector>
#include <spead2/recv/stream_stats.h>

namespace spead2::recv::detail
{
const std::shared_ptr<const std::vector<stream_stat_config>> &core_stats_config();
} // namespace spead2::recv::detail

#endif // SPEAD2_SRC_RECV_CORE_STATS_H
