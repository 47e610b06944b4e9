// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A pool of equal-sized buffers in front of another allocator.
#ifndef SPEAD2_COMMON_MEMORY_POOL_H
#define SPEAD2_COMMON_MEMORY_POOL_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>
#include <spead2/common/checked_mutex.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/common/memory_allocator.h>

namespace spead2
{

/**
 * Recycles buffers of @a upper bytes. A request of lower <= size <= upper gets a pooled buffer
 * (allocating a fresh one, with the warning "memory pool is empty when allocating N bytes" if
 * enabled, when none is free); other sizes go straight to the underlying allocator. Freed buffers
 * return to the pool while it holds fewer than @a max_free; @a initial are allocated up front.
 *
 * With an io_context, whenever an allocation leaves fewer than @a low_water free buffers, a task
 * posted to it refills the pool up to @a initial. That task holds only a weak reference, so it
 * never keeps the pool alive.
 *
 * Thread-safe. Must be owned by a std::shared_ptr (buffers keep it alive through their deleters,
 * so it may be dropped while allocations are outstanding). The underlying allocator's deleter
 * must refer to that allocator itself (true for any allocator using prepare_for_deallocate).
 */
class memory_pool : public memory_allocator
{
private:
    const std::size_t lower_;
    const std::size_t upper_;
    const std::size_t max_free_;
    const std::size_t initial_;
    std::size_t low_water_ = 0; ///< Set only by the constructors
    const std::shared_ptr<memory_allocator> base_allocator_;
    std::optional<io_context_ref> io_context_;

    mutable detail::checked_mutex mutex_;
    std::vector<pointer> pool_; ///< Free buffers, each owned through the base allocator
    bool refilling_ = false;
    bool warn_on_empty_ = true;

    pointer allocate_for_pool();
    void refill();

public:
    /// An empty pool with lower = upper = max_free = initial = 0: everything bypasses it.
    memory_pool();
    /**
     * Like the reference implementation, no combination of sizes is rejected: with lower > upper
     * every request bypasses the pool, and with initial > max_free the extra initial buffers are
     * released as they come back.
     */
    memory_pool(std::size_t lower, std::size_t upper, std::size_t max_free, std::size_t initial,
                std::shared_ptr<memory_allocator> allocator = nullptr);
    /// Adds background refill (see the class comment); refills stop at min(initial, max_free).
    memory_pool(io_context_ref io_context, std::size_t lower, std::size_t upper, std::size_t max_free,
                std::size_t initial, std::size_t low_water,
                std::shared_ptr<memory_allocator> allocator = nullptr);
    ~memory_pool() override;

    pointer allocate(std::size_t size, void *hint) override;

    /// Whether an allocation from an empty pool logs a warning (default true).
    void set_warn_on_empty(bool warn);
    bool get_warn_on_empty() const;

    /// Number of free buffers currently held (a snapshot; for tests and statistics).
    std::size_t get_num_free() const;

private:
    void free(std::uint8_t *ptr, void *user) override;
};

} // namespace spead2

#endif // SPEAD2_COMMON_MEMORY_POOL_H
