// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Receive-stream statistics: the names and combining modes of the counters, and value sets.
#ifndef SPEAD2_RECV_STREAM_STATS_H
#define SPEAD2_RECV_STREAM_STATS_H

#include <cstddef>
#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace spead2::recv
{

/// Indices of the core statistics, which every stream has, in this order (API.md §2.8).
namespace stream_stat_indices
{
static constexpr std::size_t HEAPS = 0;
static constexpr std::size_t INCOMPLETE_HEAPS_EVICTED = 1;
static constexpr std::size_t INCOMPLETE_HEAPS_FLUSHED = 2;
static constexpr std::size_t PACKETS = 3;
static constexpr std::size_t BATCHES = 4;
static constexpr std::size_t MAX_BATCH = 5;
static constexpr std::size_t SINGLE_PACKET_HEAPS = 6;
static constexpr std::size_t SEARCH_DIST = 7;
static constexpr std::size_t WORKER_BLOCKED = 8;
/// Number of core statistics (the index of the first custom one).
static constexpr std::size_t custom = 9;
} // namespace stream_stat_indices

/// Name and combining rule of one statistic. Immutable value type.
class stream_stat_config
{
public:
    enum class mode
    {
        /// Batch values are added.
        COUNTER,
        /// The maximum is kept.
        MAXIMUM
    };

private:
    std::string name_;
    mode mode_;

public:
    explicit stream_stat_config(std::string name, mode m = mode::COUNTER);

    const std::string &get_name() const { return name_; }
    mode get_mode() const { return mode_; }
    /// Combines two values of this statistic according to its mode.
    std::uint64_t combine(std::uint64_t a, std::uint64_t b) const
    {
        return mode_ == mode::MAXIMUM ? (a > b ? a : b) : a + b;
    }

    bool operator==(const stream_stat_config &other) const = default;
};

class stream_stats;

namespace detail
{

/**
 * Iterator over a stream_stats as over a map from name to value, in index order: `*it` is a
 * (name, value) pair of references, as `for (const auto &[name, value] : stats)` wants.
 */
template<typename Stats, typename Value>
class stream_stats_iterator
{
private:
    Stats *owner_ = nullptr;
    std::size_t index_ = 0;

public:
    // Forward in the C++20 sense; a legacy input iterator, since *it is a proxy, not a reference.
    typedef std::input_iterator_tag iterator_category;
    typedef std::forward_iterator_tag iterator_concept;
    typedef std::pair<const std::string, std::uint64_t> value_type;
    typedef std::pair<const std::string &, Value &> reference;
    typedef std::ptrdiff_t difference_type;

    /// What operator-> returns: the pair, held for the expression.
    struct pointer
    {
        reference pair;
        const reference *operator->() const { return &pair; }
    };

    stream_stats_iterator() = default;
    stream_stats_iterator(Stats &owner, std::size_t index)
        : owner_(&owner)
        , index_(index)
    {
    }
    /// A const iterator from a mutable one (not the other way).
    template<typename S, typename V>
    requires(std::is_const_v<Stats> &&std::is_same_v<S, std::remove_const_t<Stats>>)
        stream_stats_iterator(const stream_stats_iterator<S, V> &other)
        : owner_(other.owner_)
        , index_(other.index_)
    {
    }

    reference operator*() const { return {owner_->get_config()[index_].get_name(), (*owner_)[index_]}; }
    pointer operator->() const { return {**this}; }
    stream_stats_iterator &operator++()
    {
        index_++;
        return *this;
    }
    stream_stats_iterator operator++(int)
    {
        stream_stats_iterator old = *this;
        index_++;
        return old;
    }
    bool operator==(const stream_stats_iterator &other) const = default;
    /// Position of the statistic (its index in the stream's stream_stat_config list).
    std::size_t index() const { return index_; }

    template<typename S, typename V>
    friend class stream_stats_iterator;
};

} // namespace detail

/**
 * A set of statistic values together with their (shared, immutable) configuration. A stream's
 * get_stats() returns one as a consistent snapshot. Plain value type; not thread-safe.
 *
 * The core statistics are also reachable through the reference members (heaps, packets, ...),
 * which always refer to this object's own values. As in spead2 it is also a map from name to
 * value: begin()/end() give (name, value) pairs in index order, find() an iterator.
 */
class stream_stats
{
public:
    typedef detail::stream_stats_iterator<stream_stats, std::uint64_t> iterator;
    typedef detail::stream_stats_iterator<const stream_stats, const std::uint64_t> const_iterator;

private:
    std::shared_ptr<const std::vector<stream_stat_config>> config_;
    // The core values live in a fixed array so that the reference members below never dangle.
    std::array<std::uint64_t, stream_stat_indices::custom> core_{};
    std::vector<std::uint64_t> custom_;

public:
    std::uint64_t &heaps;
    std::uint64_t &incomplete_heaps_evicted;
    std::uint64_t &incomplete_heaps_flushed;
    std::uint64_t &packets;
    std::uint64_t &batches;
    std::uint64_t &max_batch;
    std::uint64_t &single_packet_heaps;
    std::uint64_t &search_dist;
    std::uint64_t &worker_blocked;

    /// All zero, with the core statistics only.
    stream_stats();
    /// All zero. @throws std::invalid_argument if @a config lacks the core statistics
    explicit stream_stats(std::shared_ptr<const std::vector<stream_stat_config>> config);
    /// @throws std::invalid_argument if the sizes differ or @a config lacks the core statistics
    stream_stats(std::shared_ptr<const std::vector<stream_stat_config>> config,
                 std::vector<std::uint64_t> values);
    stream_stats(const stream_stats &other);
    stream_stats(stream_stats &&other) noexcept;
    stream_stats &operator=(const stream_stats &other);
    stream_stats &operator=(stream_stats &&other) noexcept;

    const std::vector<stream_stat_config> &get_config() const { return *config_; }
    const std::shared_ptr<const std::vector<stream_stat_config>> &get_config_ptr() const { return config_; }
    /// All values in index order (a copy).
    std::vector<std::uint64_t> get_values() const;

    std::size_t size() const { return core_.size() + custom_.size(); }
    std::uint64_t &operator[](std::size_t index)
    {
        return index < core_.size() ? core_[index] : custom_[index - core_.size()];
    }
    const std::uint64_t &operator[](std::size_t index) const
    {
        return index < core_.size() ? core_[index] : custom_[index - core_.size()];
    }
    /// @throws std::out_of_range if @a index >= size()
    std::uint64_t &at(std::size_t index);
    const std::uint64_t &at(std::size_t index) const;
    /// @throws std::out_of_range if no statistic is called @a name
    std::uint64_t &operator[](const std::string &name) { return at(name); }
    const std::uint64_t &operator[](const std::string &name) const { return at(name); }
    std::uint64_t &at(const std::string &name);
    const std::uint64_t &at(const std::string &name) const;
    /// Index of @a name, or size() if there is none.
    std::size_t find_index(const std::string &name) const;
    bool contains(const std::string &name) const { return find_index(name) != size(); }
    /// 1 if there is a statistic called @a name, else 0 (as std::map::count).
    std::size_t count(const std::string &name) const { return contains(name) ? 1 : 0; }

    iterator begin() { return iterator(*this, 0); }
    iterator end() { return iterator(*this, size()); }
    const_iterator begin() const { return const_iterator(*this, 0); }
    const_iterator end() const { return const_iterator(*this, size()); }
    const_iterator cbegin() const { return begin(); }
    const_iterator cend() const { return end(); }
    /// The statistic called @a name, or end().
    iterator find(const std::string &name) { return iterator(*this, find_index(name)); }
    const_iterator find(const std::string &name) const { return const_iterator(*this, find_index(name)); }

    /// Combines value by value. @throws std::invalid_argument if the configurations differ
    stream_stats operator+(const stream_stats &other) const;
    stream_stats &operator+=(const stream_stats &other);
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_STREAM_STATS_H
