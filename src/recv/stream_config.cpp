// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Validation for stream_config.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <spead2/recv/stream_config.h>
#include "recv/core_stats.h"

namespace spead2::recv
{

stream_config::stream_config()
    : allocator_(std::make_shared<memory_allocator>())
    , stats_(std::make_shared<std::vector<stream_stat_config>>(*detail::core_stats_config()))
{
}

stream_config::stream_config(const stream_config &other)
    : max_heaps_(other.max_heaps_)
    , substreams_(other.substreams_)
    , bug_compat_(other.bug_compat_)
    , memcpy_(other.memcpy_)
    , allocator_(other.allocator_)
    , stop_on_stop_item_(other.stop_on_stop_item_)
    , allow_unsized_heaps_(other.allow_unsized_heaps_)
    , allow_out_of_order_(other.allow_out_of_order_)
    , stream_id_(other.stream_id_)
    , explicit_start_(other.explicit_start_)
    , max_heap_size_(other.max_heap_size_)
    , stats_(std::make_shared<std::vector<stream_stat_config>>(*other.stats_))
{
}

stream_config &stream_config::operator=(const stream_config &other)
{
    if (this != &other)
    {
        stream_config tmp(other);
        *this = std::move(tmp);
    }
    return *this;
}

stream_config &stream_config::set_max_heaps(std::size_t max_heaps)
{
    if (max_heaps == 0)
        throw std::invalid_argument("max_heaps must be positive (got 0)");
    max_heaps_ = max_heaps;
    return *this;
}

stream_config &stream_config::set_substreams(std::size_t substreams)
{
    if (substreams == 0)
        throw std::invalid_argument("substreams must be positive (got 0)");
    substreams_ = substreams;
    return *this;
}

stream_config &stream_config::set_bug_compat(bug_compat_mask bug_compat)
{
    if (bug_compat & ~BUG_COMPAT_ALL)
        throw std::invalid_argument("unknown bug_compat flags (got " + std::to_string(bug_compat) + ")");
    bug_compat_ = bug_compat;
    return *this;
}

stream_config &stream_config::set_memcpy(memcpy_function_id id)
{
    return set_memcpy(memcpy_choice(id));
}

stream_config &stream_config::set_memcpy(memcpy_function_t memcpy)
{
    return set_memcpy(memcpy_choice(memcpy));
}

stream_config &stream_config::set_memcpy(memcpy_context_function_t memcpy, void *context)
{
    return set_memcpy(memcpy_choice(memcpy, context));
}

stream_config &stream_config::set_memcpy(packet_memcpy_function memcpy)
{
    return set_memcpy(memcpy_choice(std::move(memcpy)));
}

stream_config &stream_config::set_memcpy(const memcpy_choice &memcpy)
{
    memcpy_ = memcpy;
    return *this;
}

stream_config &stream_config::set_memory_allocator(std::shared_ptr<memory_allocator> allocator)
{
    if (!allocator)
        throw std::invalid_argument("memory_allocator must not be null");
    allocator_ = std::move(allocator);
    return *this;
}

stream_config &stream_config::set_stop_on_stop_item(bool stop)
{
    stop_on_stop_item_ = stop;
    return *this;
}

stream_config &stream_config::set_allow_unsized_heaps(bool allow)
{
    allow_unsized_heaps_ = allow;
    return *this;
}

stream_config &stream_config::set_allow_out_of_order(bool allow)
{
    allow_out_of_order_ = allow;
    return *this;
}

stream_config &stream_config::set_stream_id(std::uintptr_t stream_id)
{
    stream_id_ = stream_id;
    return *this;
}

stream_config &stream_config::set_explicit_start(bool explicit_start)
{
    explicit_start_ = explicit_start;
    return *this;
}

stream_config &stream_config::set_max_heap_size(std::size_t size)
{
    if (size == 0)
        throw std::invalid_argument("max_heap_size must be positive (got 0)");
    max_heap_size_ = size;
    return *this;
}

std::size_t stream_config::add_stat(const std::string &name, stream_stat_config::mode mode)
{
    if (find_stat_index(name))
        throw std::invalid_argument("a statistic called '" + name + "' already exists");
    stats_->emplace_back(name, mode);
    return stats_->size() - 1;
}

std::optional<std::size_t> stream_config::find_stat_index(std::string_view name) const
{
    for (std::size_t i = 0; i < stats_->size(); i++)
        if ((*stats_)[i].get_name() == name)
            return i;
    return std::nullopt;
}

std::size_t stream_config::get_stat_index(const std::string &name) const
{
    if (auto index = find_stat_index(name))
        return *index;
    throw std::out_of_range("no statistic called '" + name + "'");
}

} // namespace spead2::recv
