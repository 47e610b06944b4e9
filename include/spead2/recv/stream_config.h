// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Configuration of a receive stream (API.md §2.2).
#ifndef SPEAD2_RECV_STREAM_CONFIG_H
#define SPEAD2_RECV_STREAM_CONFIG_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/constants.h>
#include <spead2/recv/memcpy_choice.h>
#include <spead2/recv/stream_stats.h>

namespace spead2::recv
{

/**
 * Settings for a receive stream. A plain value type with fluent setters that validate their
 * argument (@throws std::invalid_argument naming the bad value). A stream copies its config at
 * construction. Copies deep-copy the list of statistics.
 */
class stream_config
{
public:
    static constexpr std::size_t default_max_heaps = 4;
    /// Default limit on the payload size of one heap (see set_max_heap_size).
    static constexpr std::size_t default_max_heap_size = std::size_t(1) << 32;

private:
    std::size_t max_heaps_ = default_max_heaps;
    std::size_t substreams_ = 1;
    bug_compat_mask bug_compat_ = 0;
    memcpy_choice memcpy_;
    std::shared_ptr<memory_allocator> allocator_;
    bool stop_on_stop_item_ = true;
    bool allow_unsized_heaps_ = true;
    bool allow_out_of_order_ = false;
    std::uintptr_t stream_id_ = 0;
    bool explicit_start_ = false;
    std::size_t max_heap_size_ = default_max_heap_size;
    std::shared_ptr<std::vector<stream_stat_config>> stats_;

public:
    stream_config();
    stream_config(const stream_config &other);
    stream_config(stream_config &&other) noexcept = default;
    stream_config &operator=(const stream_config &other);
    stream_config &operator=(stream_config &&other) noexcept = default;
    ~stream_config() = default;

    /// Partial heaps kept alive per substream. @throws std::invalid_argument if 0
    stream_config &set_max_heaps(std::size_t max_heaps);
    std::size_t get_max_heaps() const { return max_heaps_; }

    /// Heaps go to substream cnt % substreams, each with its own window. @throws std::invalid_argument if 0
    stream_config &set_substreams(std::size_t substreams);
    std::size_t get_substreams() const { return substreams_; }

    /// @throws std::invalid_argument if a bit outside BUG_COMPAT_ALL is set
    stream_config &set_bug_compat(bug_compat_mask bug_compat);
    bug_compat_mask get_bug_compat() const { return bug_compat_; }

    /// Built-in copy routine. @throws std::invalid_argument for an unknown id
    stream_config &set_memcpy(memcpy_function_id id);
    /// A plain memcpy-like function. @throws std::invalid_argument if null
    stream_config &set_memcpy(memcpy_function_t memcpy);
    /// A memcpy-like function called with @a context first. @throws std::invalid_argument if null
    stream_config &set_memcpy(memcpy_context_function_t memcpy, void *context);
    /// A per-packet copy function. @throws std::invalid_argument if empty
    stream_config &set_memcpy(packet_memcpy_function memcpy);
    stream_config &set_memcpy(const memcpy_choice &memcpy);
    /// The built-in routine in use. @throws std::invalid_argument if a custom function is installed
    memcpy_function_id get_memcpy() const { return memcpy_.get_id(); }
    /**
     * The copy in use; automatic until set_memcpy is called (chunk streams then choose streaming
     * stores for large chunks by themselves, other streams use MEMCPY_STD).
     */
    const memcpy_choice &get_memcpy_choice() const { return memcpy_; }

    /// Allocator for heap payloads. @throws std::invalid_argument if null
    stream_config &set_memory_allocator(std::shared_ptr<memory_allocator> allocator);
    const std::shared_ptr<memory_allocator> &get_memory_allocator() const { return allocator_; }

    /// Whether a STREAM_CTRL = stop item stops the stream (the stop heap is then not delivered).
    stream_config &set_stop_on_stop_item(bool stop);
    bool get_stop_on_stop_item() const { return stop_on_stop_item_; }

    /// Whether packets without HEAP_LENGTH are accepted.
    stream_config &set_allow_unsized_heaps(bool allow);
    bool get_allow_unsized_heaps() const { return allow_unsized_heaps_; }

    /// Whether the packets of one heap may arrive in any order.
    stream_config &set_allow_out_of_order(bool allow);
    bool get_allow_out_of_order() const { return allow_out_of_order_; }

    /// A user tag, copied into chunks.
    stream_config &set_stream_id(std::uintptr_t stream_id);
    std::uintptr_t get_stream_id() const { return stream_id_; }

    /// Readers do not listen until stream::start() is called.
    stream_config &set_explicit_start(bool explicit_start);
    bool get_explicit_start() const { return explicit_start_; }

    /**
     * Largest heap payload the stream will allocate (an extension over spead2, which has no
     * limit): a packet whose HEAP_LENGTH, or whose payload end for a heap without length, is
     * larger is rejected, so that the wire cannot size an allocation without bound.
     * @throws std::invalid_argument if 0
     */
    stream_config &set_max_heap_size(std::size_t size);
    std::size_t get_max_heap_size() const { return max_heap_size_; }

    /// Registers a custom statistic and returns its index. @throws std::invalid_argument on a duplicate name
    std::size_t add_stat(const std::string &name,
                         stream_stat_config::mode mode = stream_stat_config::mode::COUNTER);
    const std::vector<stream_stat_config> &get_stats() const { return *stats_; }
    /// @throws std::out_of_range if no statistic is called @a name
    std::size_t get_stat_index(const std::string &name) const;
    /// The index of the statistic called @a name, or nullopt if there is none.
    std::optional<std::size_t> find_stat_index(std::string_view name) const;
    /// The index the next add_stat will return.
    std::size_t next_stat_index() const { return stats_->size(); }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_STREAM_CONFIG_H
