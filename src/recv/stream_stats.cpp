// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Statistic configurations and value sets.
#include <algorithm>
#include <stdexcept>
#include <utility>
#include <spead2/recv/stream_stats.h>

namespace spead2::recv
{

namespace
{

std::shared_ptr<const std::vector<stream_stat_config>> make_core_config()
{
    using mode = stream_stat_config::mode;
    return std::make_shared<const std::vector<stream_stat_config>>(std::vector<stream_stat_config>{
        stream_stat_config("heaps"), stream_stat_config("incomplete_heaps_evicted"),
        stream_stat_config("incomplete_heaps_flushed"), stream_stat_config("packets"),
        stream_stat_config("batches"), stream_stat_config("max_batch", mode::MAXIMUM),
        stream_stat_config("single_packet_heaps"), stream_stat_config("search_dist"),
        stream_stat_config("worker_blocked")});
}

const std::shared_ptr<const std::vector<stream_stat_config>> &core_config()
{
    static const auto config = make_core_config();
    return config;
}

std::shared_ptr<const std::vector<stream_stat_config>>
check_config(std::shared_ptr<const std::vector<stream_stat_config>> config)
{
    if (!config)
        throw std::invalid_argument("stream_stats: config is null");
    const auto &core = *core_config();
    if (config->size() < core.size() || !std::equal(core.begin(), core.end(), config->begin()))
        throw std::invalid_argument("stream_stats: config does not start with the core statistics");
    return config;
}

} // namespace

stream_stat_config::stream_stat_config(std::string name, mode m)
    : name_(std::move(name))
    , mode_(m)
{
}

#define SPEAD2_STATS_REFS                                                                                    \
    heaps(core_[stream_stat_indices::HEAPS]),                                                                \
        incomplete_heaps_evicted(core_[stream_stat_indices::INCOMPLETE_HEAPS_EVICTED]),                      \
        incomplete_heaps_flushed(core_[stream_stat_indices::INCOMPLETE_HEAPS_FLUSHED]),                      \
        packets(core_[stream_stat_indices::PACKETS]), batches(core_[stream_stat_indices::BATCHES]),          \
        max_batch(core_[stream_stat_indices::MAX_BATCH]),                                                    \
        single_packet_heaps(core_[stream_stat_indices::SINGLE_PACKET_HEAPS]),                                \
        search_dist(core_[stream_stat_indices::SEARCH_DIST]),                                                \
        worker_blocked(core_[stream_stat_indices::WORKER_BLOCKED])

stream_stats::stream_stats()
    : stream_stats(core_config())
{
}

stream_stats::stream_stats(std::shared_ptr<const std::vector<stream_stat_config>> config)
    : config_(check_config(std::move(config)))
    , custom_(config_->size() - stream_stat_indices::custom)
    , SPEAD2_STATS_REFS
{
}

stream_stats::stream_stats(std::shared_ptr<const std::vector<stream_stat_config>> config,
                           std::vector<std::uint64_t> values)
    : stream_stats(std::move(config))
{
    if (values.size() != config_->size())
        throw std::invalid_argument("stream_stats: " + std::to_string(values.size()) + " values for " +
                                    std::to_string(config_->size()) + " statistics");
    for (std::size_t i = 0; i < values.size(); i++)
        (*this)[i] = values[i];
}

stream_stats::stream_stats(const stream_stats &other)
    : config_(other.config_)
    , core_(other.core_)
    , custom_(other.custom_)
    , SPEAD2_STATS_REFS
{
}

stream_stats::stream_stats(stream_stats &&other) noexcept
    : config_(other.config_)
    , core_(other.core_)
    , custom_(std::move(other.custom_))
    , SPEAD2_STATS_REFS
{
}

#undef SPEAD2_STATS_REFS

stream_stats &stream_stats::operator=(const stream_stats &other)
{
    config_ = other.config_;
    core_ = other.core_;
    custom_ = other.custom_;
    return *this;
}

stream_stats &stream_stats::operator=(stream_stats &&other) noexcept
{
    config_ = other.config_;
    core_ = other.core_;
    custom_ = std::move(other.custom_);
    return *this;
}

std::vector<std::uint64_t> stream_stats::get_values() const
{
    std::vector<std::uint64_t> out(core_.begin(), core_.end());
    out.insert(out.end(), custom_.begin(), custom_.end());
    return out;
}

std::uint64_t &stream_stats::at(std::size_t index)
{
    if (index >= size())
        throw std::out_of_range("stream_stats: index " + std::to_string(index) + " is out of range");
    return (*this)[index];
}

const std::uint64_t &stream_stats::at(std::size_t index) const
{
    return const_cast<stream_stats *>(this)->at(index);
}

std::size_t stream_stats::find_index(const std::string &name) const
{
    const auto &config = *config_;
    for (std::size_t i = 0; i < config.size(); i++)
        if (config[i].get_name() == name)
            return i;
    return config.size();
}

std::uint64_t &stream_stats::at(const std::string &name)
{
    const std::size_t index = find_index(name);
    if (index == size())
        throw std::out_of_range("stream_stats: no statistic called '" + name + "'");
    return (*this)[index];
}

const std::uint64_t &stream_stats::at(const std::string &name) const
{
    return const_cast<stream_stats *>(this)->at(name);
}

stream_stats stream_stats::operator+(const stream_stats &other) const
{
    stream_stats out(*this);
    out += other;
    return out;
}

stream_stats &stream_stats::operator+=(const stream_stats &other)
{
    if (config_ != other.config_ && *config_ != *other.config_)
        throw std::invalid_argument("stream_stats: cannot combine statistics with different configurations");
    const auto &config = *config_;
    for (std::size_t i = 0; i < size(); i++)
        (*this)[i] = config[i].combine((*this)[i], other[i]);
    return *this;
}

namespace detail
{
const std::shared_ptr<const std::vector<stream_stat_config>> &core_stats_config()
{
    return core_config();
}
} // namespace detail

} // namespace spead2::recv
