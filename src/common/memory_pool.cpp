// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The recycling memory pool.
#include <algorithm>
#include <exception>
#include <utility>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/common/memory_pool.h>

namespace spead2
{

namespace
{

std::shared_ptr<memory_allocator> default_allocator(std::shared_ptr<memory_allocator> allocator)
{
    return allocator ? std::move(allocator) : std::make_shared<memory_allocator>();
}

} // namespace

memory_pool::memory_pool()
    : memory_pool(0, 0, 0, 0)
{
}

memory_pool::memory_pool(std::size_t lower, std::size_t upper, std::size_t max_free, std::size_t initial,
                         std::shared_ptr<memory_allocator> allocator)
    : lower_(lower)
    , upper_(upper)
    , max_free_(max_free)
    , initial_(initial)
    , base_allocator_(default_allocator(std::move(allocator)))
{
    pool_.reserve(std::max(max_free, initial));
    for (std::size_t i = 0; i < initial; i++)
        pool_.push_back(allocate_for_pool());
}

memory_pool::memory_pool(io_context_ref io_context, std::size_t lower, std::size_t upper,
                         std::size_t max_free, std::size_t initial, std::size_t low_water,
                         std::shared_ptr<memory_allocator> allocator)
    : memory_pool(lower, upper, max_free, initial, std::move(allocator))
{
    low_water_ = low_water;
    io_context_.emplace(std::move(io_context));
}

memory_pool::~memory_pool() = default;

memory_allocator::pointer memory_pool::allocate_for_pool()
{
    return base_allocator_->allocate(upper_, nullptr);
}

memory_allocator::pointer memory_pool::allocate(std::size_t size, void *hint)
{
    if (size < lower_ || size > upper_)
        return base_allocator_->allocate(size, hint);

    pointer buffer;
    bool start_refill = false;
    {
        std::lock_guard<detail::checked_mutex> lock(mutex_);
        if (!pool_.empty())
        {
            buffer = std::move(pool_.back());
            pool_.pop_back();
        }
        if (io_context_ && !refilling_ && pool_.size() < low_water_)
        {
            refilling_ = true;
            start_refill = true;
        }
    }
    if (start_refill)
    {
        // The task holds only a weak reference so that it never keeps a dropped pool alive.
        std::weak_ptr<memory_allocator> weak = weak_from_this();
        if (weak.expired())
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            refilling_ = false; // not owned by a shared_ptr: nothing can refer to us later
        }
        else
            asio::post(**io_context_,
                       [weak = std::move(weak)]
                       {
                           if (auto self = std::static_pointer_cast<memory_pool>(weak.lock()))
                               self->refill();
                       });
    }
    if (!buffer)
    {
        if (get_warn_on_empty())
            log_warning("memory pool is empty when allocating %zu bytes", size);
        buffer = allocate_for_pool();
    }
    std::uint8_t *ptr = buffer.get();
    void *user = buffer.get_deleter().get_user();
    buffer.release();
    return prepare_for_deallocate(ptr, user);
}

void memory_pool::refill()
{
    while (true)
    {
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            // Capped at max_free so that the loop ends even if initial > max_free.
            if (pool_.size() >= std::min(initial_, max_free_))
            {
                refilling_ = false;
                return;
            }
        }
        // Allocated outside the lock: the base allocator may be slow (page faults, mmap).
        pointer buffer;
        try
        {
            buffer = allocate_for_pool();
        }
        catch (std::exception &e)
        {
            log_warning("memory pool refill failed: %s", e.what());
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            refilling_ = false;
            return;
        }
        std::lock_guard<detail::checked_mutex> lock(mutex_);
        if (pool_.size() < max_free_)
            pool_.push_back(std::move(buffer));
    }
}

void memory_pool::free(std::uint8_t *ptr, void *user)
{
    pointer buffer(ptr, deleter(base_allocator_, user));
    {
        std::lock_guard<detail::checked_mutex> lock(mutex_);
        if (pool_.size() < max_free_)
        {
            pool_.push_back(std::move(buffer));
            return;
        }
    }
    // buffer goes back to the base allocator here, outside the lock
}

void memory_pool::set_warn_on_empty(bool warn)
{
    std::lock_guard<detail::checked_mutex> lock(mutex_);
    warn_on_empty_ = warn;
}

bool memory_pool::get_warn_on_empty() const
{
    std::lock_guard<detail::checked_mutex> lock(mutex_);
    return warn_on_empty_;
}

std::size_t memory_pool::get_num_free() const
{
    std::lock_guard<detail::checked_mutex> lock(mutex_);
    return pool_.size();
}

} // namespace spead2
