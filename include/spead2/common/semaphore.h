// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Counting semaphores, some of which expose a file descriptor that can be polled.
#ifndef SPEAD2_COMMON_SEMAPHORE_H
#define SPEAD2_COMMON_SEMAPHORE_H

#include <atomic>
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
/// Uses a Linux eventfd in semaphore mode.
class semaphore_eventfd
{
private:
    int fd_ = -1;

public:
    explicit semaphore_eventfd(unsigned int initial = 0);
    ~semaphore_eventfd();
    semaphore_eventfd(const semaphore_eventfd &) = delete;
    semaphore_eventfd &operator=(const semaphore_eventfd &) = delete;

    void put();
    int get();
    int try_get();
    int get_fd() const { return fd_; }
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
