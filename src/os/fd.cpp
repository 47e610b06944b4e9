// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// File-descriptor and thread-affinity syscalls (the OS seam for the common layer).
#include <cerrno>
#include <system_error>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <spead2/features.h>
#if SPEAD2_USE_EVENTFD
#include <sys/eventfd.h>
#endif
#include "os/fd.h"

namespace spead2::detail
{

namespace
{

[[noreturn]] void throw_errno(const char *what)
{
    throw std::system_error(errno, std::system_category(), what);
}

} // namespace

void make_pipe(int &read_fd, int &write_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw_errno("pipe2");
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0)
    {
        int saved = errno;
        close_fd(fds[0]);
        close_fd(fds[1]);
        errno = saved;
        throw_errno("fcntl(O_NONBLOCK)");
    }
    read_fd = fds[0];
    write_fd = fds[1];
}

bool grow_pipe(int fd) noexcept
{
    int size = fcntl(fd, F_GETPIPE_SZ);
    if (size <= 0 || size > (1 << 29))
        return false;
    return fcntl(fd, F_SETPIPE_SZ, 2 * size) >= 2 * size;
}

int make_eventfd([[maybe_unused]] unsigned int initial, [[maybe_unused]] bool semaphore_mode)
{
#if SPEAD2_USE_EVENTFD
    int fd = eventfd(initial, EFD_CLOEXEC | EFD_NONBLOCK | (semaphore_mode ? EFD_SEMAPHORE : 0));
    if (fd < 0)
        throw_errno("eventfd");
    return fd;
#else
    throw std::system_error(ENOSYS, std::system_category(), "eventfd");
#endif
}

void close_fd(int fd) noexcept
{
    if (fd >= 0)
        ::close(fd);
}

int wait_readable(int fd)
{
    pollfd pfd{};
    pfd.fd = fd;
    pfd.events = POLLIN;
    while (true)
    {
        int ret = poll(&pfd, 1, -1);
        if (ret > 0)
            return 0;
        if (ret < 0)
        {
            if (errno == EINTR)
                return -1;
            throw_errno("poll");
        }
    }
}

bool is_readable(int fd)
{
    pollfd pfd{};
    pfd.fd = fd;
    pfd.events = POLLIN;
    int ret;
    do
    {
        ret = poll(&pfd, 1, 0);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0)
        throw_errno("poll");
    return ret > 0 && (pfd.revents & POLLIN);
}

void write_all(int fd, const void *data, std::size_t size, const char *what)
{
    const char *p = static_cast<const char *>(data);
    while (size > 0)
    {
        ssize_t ret = ::write(fd, p, size);
        if (ret < 0)
        {
            if (errno == EINTR)
                continue;
            throw_errno(what);
        }
        p += ret;
        size -= ret;
    }
}

int set_thread_affinity([[maybe_unused]] int core) noexcept
{
#if SPEAD2_USE_PTHREAD_SETAFFINITY_NP
    if (core < 0 || core >= CPU_SETSIZE)
        return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
#else
    return ENOSYS;
#endif
}

} // namespace spead2::detail
