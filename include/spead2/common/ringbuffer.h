// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A bounded, thread-safe FIFO whose waiting is done on (optionally pollable) semaphores.
#ifndef SPEAD2_COMMON_RINGBUFFER_H
#define SPEAD2_COMMON_RINGBUFFER_H

#include <cstddef>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <spead2/common/checked_mutex.h>
#include <spead2/common/semaphore.h>

namespace spead2
{

/// Thrown when pushing to a stopped ringbuffer, or popping from one that is stopped and empty.
class ringbuffer_stopped : public std::runtime_error
{
public:
    ringbuffer_stopped()
        : std::runtime_error("ring buffer has been stopped")
    {
    }
};

/// Thrown by try_pop on an empty (but not stopped) ringbuffer.
class ringbuffer_empty : public std::runtime_error
{
public:
    ringbuffer_empty()
        : std::runtime_error("ring buffer is empty")
    {
    }
};

/// Thrown by try_push on a full (but not stopped) ringbuffer.
class ringbuffer_full : public std::runtime_error
{
public:
    ringbuffer_full()
        : std::runtime_error("ring buffer is full")
    {
    }
};

namespace detail
{

/**
 * Input iterator over what @a Source::pop() returns (a @a T), popping on increment; it reaches the
 * end sentinel once pop() throws ringbuffer_stopped. Dereferencing gives an rvalue, so that
 * `for (T x : source)` moves each item out (T may be move-only).
 */
template<typename Source, typename T>
class popping_iterator
{
private:
    Source *owner_ = nullptr;
    mutable std::optional<T> value_;

    void advance()
    {
        try
        {
            value_.emplace(owner_->pop());
        }
        catch (ringbuffer_stopped &)
        {
            value_.reset();
            owner_ = nullptr;
        }
    }

public:
    typedef std::input_iterator_tag iterator_category;
    typedef T value_type;
    typedef std::ptrdiff_t difference_type;
    typedef T *pointer;
    typedef T &&reference;

    popping_iterator() = default;
    /// Blocks for the first item.
    explicit popping_iterator(Source &owner)
        : owner_(&owner)
    {
        advance();
    }
    T &&operator*() const { return std::move(*value_); }
    T *operator->() const { return &*value_; }
    popping_iterator &operator++()
    {
        advance();
        return *this;
    }
    void operator++(int) { advance(); }
    bool operator==(const popping_iterator &other) const { return owner_ == other.owner_ && !owner_; }
    bool operator==(std::default_sentinel_t) const { return owner_ == nullptr; }
};

} // namespace detail

/// What ringbuffer::try_push_status did.
enum class ringbuffer_push_status
{
    pushed,
    full,
    stopped
};

/**
 * A bounded FIFO for any number of producers and consumers. A mutex guards the storage; the
 * waiting is done on two semaphores: @a DataSemaphore counts items (so its fd, when it has one, is
 * readable while pop would not block) and @a SpaceSemaphore counts free slots.
 *
 * Stopping: after stop(), pushes throw ringbuffer_stopped, pops return the items still queued and
 * then throw ringbuffer_stopped, and every blocked call wakes. Once stopped, the data semaphore
 * stays positive (so a poller sees the stop) and the space semaphore stays positive.
 *
 * Producer counting: add_producer()/remove_producer() let several producers share a ring; the
 * last one to leave stops it.
 *
 * Signals: the blocking calls without an @a on_interrupt argument retry when a signal interrupts
 * the wait. The overloads taking @a on_interrupt call it each time the wait is interrupted; it may
 * throw (e.g. to turn a pending KeyboardInterrupt into an exception), otherwise the wait resumes.
 *
 * All methods may be called from any thread. The ringbuffer must outlive every call on it.
 * @a T must be move-constructible.
 */
template<typename T, typename DataSemaphore = semaphore, typename SpaceSemaphore = semaphore>
class ringbuffer
{
public:
    typedef T value_type;
    typedef DataSemaphore data_semaphore_type;
    typedef SpaceSemaphore space_semaphore_type;
    typedef ringbuffer_push_status push_status;

private:
    struct no_interrupt
    {
        void operator()() const {}
    };

    const std::size_t capacity_;
    std::unique_ptr<std::optional<T>[]> storage_;
    mutable detail::checked_mutex mutex_;
    std::size_t head_ = 0; ///< Index of the oldest item
    std::size_t size_ = 0;
    bool stopped_ = false;
    int producers_ = 0;
    DataSemaphore data_sem_;
    SpaceSemaphore space_sem_;

    template<typename Sem, typename F>
    static void wait(Sem &sem, F &on_interrupt)
    {
        detail::check_may_block("ringbuffer push/pop");
        while (sem.get() != 0)
            on_interrupt();
    }

    // Called with a space token held. Returns the token if construction fails or we are stopped.
    template<typename... Args>
    void emplace_locked_slot(Args &&...args)
    {
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            if (!stopped_)
            {
                std::size_t tail = head_ + size_;
                if (tail >= capacity_)
                    tail -= capacity_;
                try
                {
                    storage_[tail].emplace(std::forward<Args>(args)...);
                }
                catch (...)
                {
                    space_sem_.put();
                    throw;
                }
                size_++;
                data_sem_.put();
                return;
            }
        }
        // Pass the token on so that other blocked producers also wake up and see the stop.
        space_sem_.put();
        throw ringbuffer_stopped();
    }

    // Called with a data token held: takes the oldest item, or throws if stopped and empty.
    T pop_locked_slot()
    {
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            if (size_ > 0)
            {
                std::optional<T> &slot = storage_[head_];
                T value(std::move(*slot));
                slot.reset();
                head_++;
                if (head_ == capacity_)
                    head_ = 0;
                size_--;
                space_sem_.put();
                return value;
            }
        }
        // Only reachable after stop (a token without an item): pass it on to the next waiter.
        data_sem_.put();
        throw ringbuffer_stopped();
    }

public:
    /// @throws std::invalid_argument if @a capacity is 0
    explicit ringbuffer(std::size_t capacity)
        : capacity_(capacity ? capacity : throw std::invalid_argument("ringbuffer capacity must be positive"))
        , storage_(new std::optional<T>[capacity])
        , data_sem_(0)
        , space_sem_(static_cast<unsigned int>(capacity))
    {
    }

    ringbuffer(const ringbuffer &) = delete;
    ringbuffer &operator=(const ringbuffer &) = delete;

    /// Appends @a value, blocking while full. @throws ringbuffer_stopped
    void push(T &&value) { emplace(std::move(value)); }

    /// Like push, but calls @a on_interrupt whenever a signal interrupts the wait.
    template<typename F>
    void push(T &&value, F &&on_interrupt)
    {
        wait(space_sem_, on_interrupt);
        emplace_locked_slot(std::move(value));
    }

    /// Constructs an item in place from @a args, blocking while full. @throws ringbuffer_stopped
    template<typename... Args>
    void emplace(Args &&...args)
    {
        no_interrupt ni;
        wait(space_sem_, ni);
        emplace_locked_slot(std::forward<Args>(args)...);
    }

    /// Appends @a value without blocking. @throws ringbuffer_full, ringbuffer_stopped
    void try_push(T &&value) { try_emplace(std::move(value)); }

    /**
     * Like try_push, but reports a full or stopped ringbuffer in the return value rather than by
     * an exception, for producers that find the ring full often (a throw costs microseconds).
     * @a value is moved from only when the result is pushed.
     */
    push_status try_push_status(T &&value)
    {
        if (space_sem_.try_get() != 0)
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            return stopped_ ? push_status::stopped : push_status::full;
        }
        try
        {
            emplace_locked_slot(std::move(value));
        }
        catch (ringbuffer_stopped &)
        {
            return push_status::stopped; // stopped between taking the token and the lock (rare)
        }
        return push_status::pushed;
    }

    /// Constructs an item in place without blocking. @throws ringbuffer_full, ringbuffer_stopped
    template<typename... Args>
    void try_emplace(Args &&...args)
    {
        if (space_sem_.try_get() != 0)
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            if (stopped_)
                throw ringbuffer_stopped();
            throw ringbuffer_full();
        }
        emplace_locked_slot(std::forward<Args>(args)...);
    }

    /// Removes the oldest item, blocking while empty. @throws ringbuffer_stopped once stopped and drained
    T pop()
    {
        no_interrupt ni;
        wait(data_sem_, ni);
        return pop_locked_slot();
    }

    /// Like pop, but calls @a on_interrupt whenever a signal interrupts the wait.
    template<typename F>
    T pop(F &&on_interrupt)
    {
        wait(data_sem_, on_interrupt);
        return pop_locked_slot();
    }

    /// Removes the oldest item without blocking. @throws ringbuffer_empty, ringbuffer_stopped
    T try_pop()
    {
        if (data_sem_.try_get() != 0)
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            if (stopped_)
                throw ringbuffer_stopped();
            throw ringbuffer_empty();
        }
        return pop_locked_slot();
    }

    /**
     * Stops the ringbuffer and wakes every blocked caller. Queued items can still be popped.
     * @returns true if this call stopped it, false if it was already stopped.
     */
    bool stop()
    {
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            if (stopped_)
                return false;
            stopped_ = true;
        }
        // One extra token each; every waiter that wakes on it and finds the stop passes it on.
        data_sem_.put();
        space_sem_.put();
        return true;
    }

    /// Registers a producer (see remove_producer).
    void add_producer()
    {
        std::lock_guard<detail::checked_mutex> lock(mutex_);
        producers_++;
    }

    /// Unregisters a producer; the last one to leave stops the ring. @returns true if this call stopped it
    bool remove_producer()
    {
        {
            std::lock_guard<detail::checked_mutex> lock(mutex_);
            if (producers_ <= 0)
                throw std::logic_error("ringbuffer::remove_producer called without a matching add_producer");
            if (--producers_ > 0)
                return false;
        }
        return stop();
    }

    /// Number of queued items (a snapshot).
    std::size_t size() const
    {
        std::lock_guard<detail::checked_mutex> lock(mutex_);
        return size_;
    }

    std::size_t capacity() const { return capacity_; }

    bool is_stopped() const
    {
        std::lock_guard<detail::checked_mutex> lock(mutex_);
        return stopped_;
    }

    /// Semaphore counting queued items (plus one once stopped); poll its fd to wait for pop.
    const DataSemaphore &get_data_sem() const { return data_sem_; }
    /// Semaphore counting free slots (plus one once stopped); poll its fd to wait for push.
    const SpaceSemaphore &get_space_sem() const { return space_sem_; }

    /// Input iterator that pops on increment and reaches end() once the ring is stopped and drained.
    typedef detail::popping_iterator<ringbuffer, T> iterator;

    /// Blocks for the first item (see iterator).
    iterator begin() { return iterator(*this); }
    std::default_sentinel_t end() { return std::default_sentinel; }
};

} // namespace spead2

#endif // SPEAD2_COMMON_RINGBUFFER_H
