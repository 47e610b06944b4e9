// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Counting semaphores, some of which expose a file descriptor that can be polled.
#ifndef SPEAD2_COMMON_SEMAPHORE_H
#define SPEAD2_COMMON_SEMAPHORE_H

#include <atomic>
#include <cstdint>
#include <semaphore.h>
#include <spead2/features.h>

namespace spead2
{

/*
 * Every variant has the same interface:
 *   put()      adds one to the count (never blocks).
 *   get()      waits until the count is positive and takes one. Returns 0, or -1 with errno set to
 *              EINTR when a signal interrupted the wait (so Python can check for Ctrl-C); the count
 *              is unchanged in that case.
 *   try_get()  takes one if the count is positive and returns 0, otherwise returns -1 with errno
 *              EAGAIN.
 * The fd-based ones add get_fd(): a descriptor that polls readable while the count is positive.
 * All methods may be called from any thread. Not copyable or movable.
 * @throws std::system_error from the constructor if the OS refuses the resources.
 */

/// Busy-waits: lowest latency, burns a core while waiting. get() is never interrupted.
class semaphore_spin
{
private:
    std::atomic<unsigned int> value_;

public:
    explicit semaphore_spin(unsigned int initial = 0);
    semaphore_spin(const semaphore_spin &) = delete;
    semaphore_spin &operator=(const semaphore_spin &) = delete;

    void put();
    int get();
    int try_get();
};

/// Uses a pipe holding one byte per count. Portable; the count is limited by the pipe capacity.
class semaphore_pipe
{
private:
    int read_fd_ = -1;
    int write_fd_ = -1;

public:
    explicit semaphore_pipe(unsigned int initial = 0);
    ~semaphore_pipe();
    semaphore_pipe(const semaphore_pipe &) = delete;
    semaphore_pipe &operator=(const semaphore_pipe &) = delete;

    void put();
    int get();
    int try_get();
    int get_fd() const { return read_fd_; }
};

#if SPEAD2_USE_EVENTFD
/**
 * An atomic count with a Linux eventfd to sleep on. A system call happens only when it is needed:
 * put() writes the eventfd only while some thread sleeps in get(), or (once get_fd() has been
 * called) when the count goes from 0 to 1; a get() that finds a token takes it without a system
 * call. So a producer handing items to a consumer that is already running costs no system call
 * and no wake-up. Before sleeping, get() spins for up to 50 µs (less after waits that the spin
 * did not save), since the other side is often about to put.
 *
 * The descriptor: from the first get_fd() call on, it polls readable whenever the count is
 * positive (briefly also when it is not: the next try_get() that finds nothing clears that).
 */
class semaphore_eventfd
{
private:
    int fd_ = -1;
    std::atomic<std::int64_t> count_;
    /// Threads sleeping in get() (or about to).
    std::atomic<int> sleepers_{0};
    /// get_fd() has been called: someone may poll the fd instead of calling get().
    mutable std::atomic<bool> watched_{false};
    /// How long get() spins before it sleeps (adapted to how long waits turn out to be).
    static constexpr std::int64_t min_spin_ns = 1000, max_spin_ns = 50000;
    std::atomic<std::int64_t> spin_ns_{max_spin_ns};

    /// Makes the fd readable.
    void signal() const;
    /// Clears the fd, then makes it readable again if a token arrived meanwhile (watched only).
    void drain();
    /// Takes a token if there is one.
    bool take();

public:
    explicit semaphore_eventfd(unsigned int initial = 0);
    ~semaphore_eventfd();
    semaphore_eventfd(const semaphore_eventfd &) = delete;
    semaphore_eventfd &operator=(const semaphore_eventfd &) = delete;

    void put();
    int get();
    int try_get();
    int get_fd() const;
};
#endif

/// Wraps a POSIX unnamed semaphore (sem_t): no file descriptor, cheap when uncontended.
class semaphore_posix
{
private:
    sem_t sem_;

public:
    explicit semaphore_posix(unsigned int initial = 0);
    ~semaphore_posix();
    semaphore_posix(const semaphore_posix &) = delete;
    semaphore_posix &operator=(const semaphore_posix &) = delete;

    void put();
    int get();
    int try_get();
};

#if SPEAD2_USE_EVENTFD
typedef semaphore_eventfd semaphore_fd;
#else
typedef semaphore_pipe semaphore_fd;
#endif

/// The default semaphore: pollable, so Python's asyncio can wait on it.
typedef semaphore_fd semaphore;

} // namespace spead2

#endif // SPEAD2_COMMON_SEMAPHORE_H
