// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Semaphore variants.
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <unistd.h>
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

inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
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
        cpu_relax();
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
    : fd_(detail::make_eventfd(initial, true))
{
}

semaphore_eventfd::~semaphore_eventfd()
{
    detail::close_fd(fd_);
}

void semaphore_eventfd::put()
{
    std::uint64_t one = 1;
    detail::write_all(fd_, &one, sizeof(one), "semaphore_eventfd write");
}

int semaphore_eventfd::get()
{
    return fd_get(fd_,
                  [this]()
                  {
                      std::uint64_t value;
                      return ::read(fd_, &value, sizeof(value)) == sizeof(value) ? 0 : -1;
                  });
}

int semaphore_eventfd::try_get()
{
    return fd_try_get(
        [this]()
        {
            std::uint64_t value;
            return ::read(fd_, &value, sizeof(value)) == sizeof(value) ? 0 : -1;
        });
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
