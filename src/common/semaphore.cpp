// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Semaphore variants.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <unistd.h>
#include <spead2/common/checked_mutex.h>
#include <spead2/common/semaphore.h>
#include "os/fd.h"

namespace spead2
{

namespace
{

[[noreturn]] void throw_errno(const char *what)
{
    throw std::system_error(errno, std::system_category(), what);
}

/*
 * Shared logic for the fd variants: the fd is non-blocking, and get() polls then reads. The read
 * can still fail with EAGAIN when another consumer won the race, in which case we poll again.
 * @a read_one returns true on success, false on EAGAIN, and sets errno = EINTR/-1 otherwise.
 */
template<typename ReadOne>
int fd_get(int fd, ReadOne &&read_one)
{
    while (true)
    {
        int ret = read_one();
        if (ret == 0)
            return 0;
        if (errno == EINTR)
            return -1;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw_errno("semaphore read");
        if (detail::wait_readable(fd) != 0)
            return -1; // errno is EINTR
    }
}

template<typename ReadOne>
int fd_try_get(ReadOne &&read_one)
{
    while (true)
    {
        int ret = read_one();
        if (ret == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
            errno = EAGAIN;
            return -1;
        }
        throw_errno("semaphore read");
    }
}

} // namespace

// semaphore_spin

semaphore_spin::semaphore_spin(unsigned int initial)
    : value_(initial)
{
}

void semaphore_spin::put()
{
    value_.fetch_add(1, std::memory_order_release);
}

int semaphore_spin::get()
{
    while (try_get() != 0)
        detail::cpu_relax();
    return 0;
}

int semaphore_spin::try_get()
{
    unsigned int cur = value_.load(std::memory_order_relaxed);
    while (cur > 0)
    {
        if (value_.compare_exchange_weak(cur, cur - 1, std::memory_order_acquire, std::memory_order_relaxed))
            return 0;
    }
    errno = EAGAIN;
    return -1;
}

// semaphore_pipe

semaphore_pipe::semaphore_pipe(unsigned int initial)
{
    detail::make_pipe(read_fd_, write_fd_);
    try
    {
        for (unsigned int i = 0; i < initial; i++)
            put();
    }
    catch (...)
    {
        detail::close_fd(read_fd_);
        detail::close_fd(write_fd_);
        throw;
    }
}

semaphore_pipe::~semaphore_pipe()
{
    detail::close_fd(read_fd_);
    detail::close_fd(write_fd_);
}

void semaphore_pipe::put()
{
    // The write end is non-blocking so that put() never blocks; a full pipe is grown instead
    // (a ringbuffer's space semaphore starts with one byte per slot).
    char byte = 0;
    while (true)
    {
        ssize_t ret = ::write(write_fd_, &byte, 1);
        if (ret == 1)
            return;
        if (ret < 0 && errno == EINTR)
            continue;
        if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && detail::grow_pipe(write_fd_))
            continue;
        throw_errno("semaphore_pipe write");
    }
}

int semaphore_pipe::get()
{
    return fd_get(read_fd_,
                  [this]()
                  {
                      char byte;
                      ssize_t ret = ::read(read_fd_, &byte, 1);
                      if (ret == 1)
                          return 0;
                      if (ret == 0)
                          errno = EPIPE;
                      return -1;
                  });
}

int semaphore_pipe::try_get()
{
    return fd_try_get(
        [this]()
        {
            char byte;
            ssize_t ret = ::read(read_fd_, &byte, 1);
            if (ret == 1)
                return 0;
            if (ret == 0)
                errno = EPIPE;
            return -1;
        });
}

// semaphore_eventfd

#if SPEAD2_USE_EVENTFD
semaphore_eventfd::semaphore_eventfd(unsigned int initial)
    : fd_(detail::make_eventfd(0, false))
    , count_(initial)
{
}

semaphore_eventfd::~semaphore_eventfd()
{
    detail::close_fd(fd_);
}

void semaphore_eventfd::signal() const
{
    std::uint64_t one = 1;
    detail::write_all(fd_, &one, sizeof(one), "semaphore_eventfd write");
}

void semaphore_eventfd::drain()
{
    std::uint64_t value;
    while (::read(fd_, &value, sizeof(value)) < 0 && errno == EINTR)
    {
    }
    // A put() that came between the read and now may have found the fd still readable.
    if (watched_.load() && count_.load() > 0)
        signal();
}

bool semaphore_eventfd::take()
{
    std::int64_t c = count_.load(std::memory_order_relaxed);
    while (c > 0)
    {
        if (count_.compare_exchange_weak(c, c - 1))
        {
            if (c == 1 && watched_.load())
                drain(); // now empty: pollers must not see the fd readable
            return true;
        }
    }
    return false;
}

void semaphore_eventfd::put()
{
    // Sequentially consistent with the loads in get() and get_fd(): either they see the token,
    // or this sees them and signals.
    const std::int64_t previous = count_.fetch_add(1);
    if (sleepers_.load() > 0 || (previous == 0 && watched_.load()))
        signal();
}

int semaphore_eventfd::get()
{
    if (take())
        return 0;
    // The other side is often running on another core and about to put: a short spin saves a
    // sleep and a wake-up (system calls and a context switch on each side). The spin adapts:
    // it doubles when it pays off and halves when we had to sleep anyway, so that a slow stream
    // costs next to no spinning.
    const std::int64_t budget = spin_ns_.load(std::memory_order_relaxed);
    const auto start = std::chrono::steady_clock::now();
    const auto spin_until = start + std::chrono::nanoseconds(budget);
    do
    {
        for (int i = 0; i < 16; i++)
        {
            detail::cpu_relax();
            if (count_.load(std::memory_order_relaxed) > 0 && take())
            {
                spin_ns_.store(std::min(max_spin_ns, 2 * budget), std::memory_order_relaxed);
                return 0;
            }
        }
    } while (std::chrono::steady_clock::now() < spin_until);
    sleepers_.fetch_add(1);
    int result = 0;
    while (!take())
    {
        if (detail::wait_readable(fd_) != 0)
        {
            result = -1; // errno is EINTR
            break;
        }
        drain();
    }
    const int saved_errno = errno;
    sleepers_.fetch_sub(1);
    // A wait that a longer spin would have covered makes the next spin long enough; a long one
    // (the other side was idle) halves it.
    const std::int64_t waited =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
            .count();
    spin_ns_.store(waited < max_spin_ns ? std::min(max_spin_ns, std::max(budget, 2 * waited))
                                        : std::max(min_spin_ns, budget / 2),
                   std::memory_order_relaxed);
    // Another sleeper woken by the same write may have gone back to sleep after our drain:
    // pass the wake-up on if tokens are left for it.
    if (sleepers_.load() > 0 && count_.load() > 0)
        signal();
    errno = saved_errno;
    return result;
}

int semaphore_eventfd::try_get()
{
    if (take())
        return 0;
    if (watched_.load())
        drain(); // the fd may have been left readable by a token someone else took
    errno = EAGAIN;
    return -1;
}

int semaphore_eventfd::get_fd() const
{
    if (!watched_.exchange(true) && count_.load() > 0)
        signal();
    return fd_;
}
#endif

// semaphore_posix

semaphore_posix::semaphore_posix(unsigned int initial)
{
    if (sem_init(&sem_, 0, initial) != 0)
        throw_errno("sem_init");
}

semaphore_posix::~semaphore_posix()
{
    sem_destroy(&sem_);
}

void semaphore_posix::put()
{
    if (sem_post(&sem_) != 0)
        throw_errno("sem_post");
}

int semaphore_posix::get()
{
    if (sem_wait(&sem_) == 0)
        return 0;
    if (errno == EINTR)
        return -1;
    throw_errno("sem_wait");
}

int semaphore_posix::try_get()
{
    while (sem_trywait(&sem_) != 0)
    {
        if (errno == EAGAIN)
            return -1;
        if (errno != EINTR)
            throw_errno("sem_trywait");
    }
    return 0;
}

} // namespace spead2
