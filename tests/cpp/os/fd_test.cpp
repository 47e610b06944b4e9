// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for the private fd and affinity helpers.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <system_error>
#include <thread>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <spead2/features.h>
#include "os/fd.h"

namespace spead2::detail
{

TEST(fd, pipe_is_nonblocking_and_cloexec)
{
    int r, w;
    make_pipe(r, w);
    EXPECT_TRUE(fcntl(r, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(w, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(r, F_GETFD) & FD_CLOEXEC);
    EXPECT_FALSE(is_readable(r));
    write_all(w, "ab", 2, "test");
    EXPECT_TRUE(is_readable(r));
    EXPECT_EQ(wait_readable(r), 0);
    char buf[2];
    EXPECT_EQ(read(r, buf, 2), 2);
    EXPECT_EQ(read(r, buf, 2), -1);
    EXPECT_EQ(errno, EAGAIN);
    close_fd(r);
    close_fd(w);
    close_fd(-1); // ignored
}

TEST(fd, grow_pipe_doubles)
{
    int r, w;
    make_pipe(r, w);
    int before = fcntl(w, F_GETPIPE_SZ);
    ASSERT_TRUE(grow_pipe(w));
    EXPECT_EQ(fcntl(w, F_GETPIPE_SZ), 2 * before);
    close_fd(r);
    close_fd(w);
}

#if SPEAD2_USE_EVENTFD
TEST(fd, eventfd_modes)
{
    int sem = make_eventfd(2, true);
    std::uint64_t v;
    EXPECT_EQ(read(sem, &v, 8), 8);
    EXPECT_EQ(v, 1u); // semaphore mode takes one at a time
    EXPECT_TRUE(is_readable(sem));
    EXPECT_EQ(read(sem, &v, 8), 8);
    EXPECT_FALSE(is_readable(sem));
    close_fd(sem);

    int counter = make_eventfd(3, false);
    EXPECT_EQ(read(counter, &v, 8), 8);
    EXPECT_EQ(v, 3u); // counter mode drains everything
    EXPECT_EQ(read(counter, &v, 8), -1);
    EXPECT_EQ(errno, EAGAIN);
    close_fd(counter);
}
#endif

extern "C" void fd_test_noop_handler(int) {}

TEST(fd, wait_readable_interrupted)
{
    struct sigaction sa
    {
    }, old{};
    sa.sa_handler = fd_test_noop_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, &old);
    int r, w;
    make_pipe(r, w);
    std::atomic<bool> done{false};
    int result = 0, err = 0;
    std::thread waiter(
        [&]
        {
            result = wait_readable(r);
            err = errno;
            done = true;
        });
    while (!done)
    {
        pthread_kill(waiter.native_handle(), SIGUSR2);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    waiter.join();
    EXPECT_EQ(result, -1);
    EXPECT_EQ(err, EINTR);
    sigaction(SIGUSR2, &old, nullptr);
    close_fd(r);
    close_fd(w);
}

TEST(fd, write_all_bad_fd_throws)
{
    EXPECT_THROW(write_all(-1, "x", 1, "test"), std::system_error);
}

TEST(affinity, invalid_core_reports_errno)
{
    EXPECT_EQ(set_thread_affinity(-1), EINVAL);
    EXPECT_EQ(set_thread_affinity(CPU_SETSIZE), EINVAL);
}

TEST(affinity, valid_core_pins)
{
    cpu_set_t original;
    ASSERT_EQ(sched_getaffinity(0, sizeof(original), &original), 0);
    int core = -1;
    for (int i = 0; i < CPU_SETSIZE && core < 0; i++)
        if (CPU_ISSET(i, &original))
            core = i;
    std::thread t(
        [&]
        {
            EXPECT_EQ(set_thread_affinity(core), 0);
            cpu_set_t now;
            pthread_getaffinity_np(pthread_self(), sizeof(now), &now);
            EXPECT_EQ(CPU_COUNT(&now), 1);
            EXPECT_TRUE(CPU_ISSET(core, &now));
        });
    t.join();
}

} // namespace spead2::detail
