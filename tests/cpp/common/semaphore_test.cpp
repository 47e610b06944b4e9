// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for the semaphore variants, including fd readability and interruption by signals.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/semaphore.h>

namespace spead2
{

namespace
{

bool fd_readable(int fd)
{
    pollfd pfd{fd, POLLIN, 0};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

extern "C" void noop_handler(int) {}

/// Installs a SIGUSR1 handler without SA_RESTART so that blocking calls see EINTR.
class sigusr1_guard
{
private:
    struct sigaction old_
    {
    };

public:
    sigusr1_guard()
    {
        struct sigaction sa
        {
        };
        sa.sa_handler = noop_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(SIGUSR1, &sa, &old_);
    }
    ~sigusr1_guard() { sigaction(SIGUSR1, &old_, nullptr); }
};

/// Signals @a thread until @a done becomes true (the first signal may arrive before it blocks).
void signal_until(std::thread &thread, const std::atomic<bool> &done)
{
    while (!done)
    {
        pthread_kill(thread.native_handle(), SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

} // namespace

template<typename S>
class semaphore_test : public ::testing::Test
{
};

#if SPEAD2_USE_EVENTFD
typedef ::testing::Types<semaphore_spin, semaphore_pipe, semaphore_eventfd, semaphore_posix> all_semaphores;
typedef ::testing::Types<semaphore_pipe, semaphore_eventfd, semaphore_posix> interruptible_semaphores;
typedef ::testing::Types<semaphore_pipe, semaphore_eventfd> fd_semaphores;
#else
typedef ::testing::Types<semaphore_spin, semaphore_pipe, semaphore_posix> all_semaphores;
typedef ::testing::Types<semaphore_pipe, semaphore_posix> interruptible_semaphores;
typedef ::testing::Types<semaphore_pipe> fd_semaphores;
#endif
TYPED_TEST_SUITE(semaphore_test, all_semaphores);

TYPED_TEST(semaphore_test, counts)
{
    TypeParam sem(2);
    EXPECT_EQ(sem.try_get(), 0);
    EXPECT_EQ(sem.get(), 0);
    errno = 0;
    EXPECT_EQ(sem.try_get(), -1);
    EXPECT_EQ(errno, EAGAIN);
    sem.put();
    sem.put();
    sem.put();
    EXPECT_EQ(sem.get(), 0);
    EXPECT_EQ(sem.try_get(), 0);
    EXPECT_EQ(sem.try_get(), 0);
    EXPECT_EQ(sem.try_get(), -1);
}

TYPED_TEST(semaphore_test, default_is_zero)
{
    TypeParam sem;
    EXPECT_EQ(sem.try_get(), -1);
}

TYPED_TEST(semaphore_test, get_blocks_until_put)
{
    TypeParam sem;
    std::atomic<bool> got{false};
    std::thread waiter(
        [&]
        {
            EXPECT_EQ(sem.get(), 0);
            got = true;
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_FALSE(got);
    sem.put();
    waiter.join();
    EXPECT_TRUE(got);
    EXPECT_EQ(sem.try_get(), -1);
}

TYPED_TEST(semaphore_test, many_threads_exact_count)
{
    TypeParam sem;
    constexpr int per_thread = 2000;
    std::atomic<int> taken{0};
    std::thread p1(
        [&]
        {
            for (int i = 0; i < per_thread; i++)
                sem.put();
        });
    std::thread p2(
        [&]
        {
            for (int i = 0; i < per_thread; i++)
                sem.put();
        });
    std::thread c1(
        [&]
        {
            for (int i = 0; i < per_thread; i++)
                if (sem.get() == 0)
                    taken++;
        });
    std::thread c2(
        [&]
        {
            for (int i = 0; i < per_thread; i++)
                if (sem.get() == 0)
                    taken++;
        });
    p1.join();
    p2.join();
    c1.join();
    c2.join();
    EXPECT_EQ(taken, 2 * per_thread);
    EXPECT_EQ(sem.try_get(), -1);
}

TYPED_TEST(semaphore_test, many_sleepers_no_lost_wakeup)
{
    // Consumers mostly asleep, producers in bursts: every token must wake someone.
    TypeParam sem;
    constexpr int consumers = 4, per_consumer = 3000;
    std::atomic<int> taken{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < consumers; c++)
        threads.emplace_back(
            [&]
            {
                for (int i = 0; i < per_consumer; i++)
                    if (sem.get() == 0)
                        taken++;
            });
    for (int burst = 0; burst < consumers * per_consumer / 3; burst++)
    {
        for (int i = 0; i < 3; i++)
            sem.put();
        if (burst % 64 == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(50)); // let them fall asleep
    }
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(taken, consumers * per_consumer);
    EXPECT_EQ(sem.try_get(), -1);
}

template<typename S>
class semaphore_interrupt_test : public ::testing::Test
{
};
TYPED_TEST_SUITE(semaphore_interrupt_test, interruptible_semaphores);

TYPED_TEST(semaphore_interrupt_test, get_returns_eintr_on_signal)
{
    sigusr1_guard guard;
    TypeParam sem;
    std::atomic<bool> done{false};
    int result = 0, err = 0;
    std::thread waiter(
        [&]
        {
            result = sem.get();
            err = errno;
            done = true;
        });
    signal_until(waiter, done);
    waiter.join();
    EXPECT_EQ(result, -1);
    EXPECT_EQ(err, EINTR);
    EXPECT_EQ(sem.try_get(), -1); // the interruption took nothing
    sem.put();
    EXPECT_EQ(sem.get(), 0);
}

template<typename S>
class semaphore_fd_test : public ::testing::Test
{
};
TYPED_TEST_SUITE(semaphore_fd_test, fd_semaphores);

TYPED_TEST(semaphore_fd_test, fd_readable_while_positive)
{
    TypeParam sem;
    int fd = sem.get_fd();
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(fd_readable(fd));
    sem.put();
    sem.put();
    EXPECT_TRUE(fd_readable(fd));
    EXPECT_EQ(sem.get(), 0);
    EXPECT_TRUE(fd_readable(fd));
    EXPECT_EQ(sem.get(), 0);
    EXPECT_FALSE(fd_readable(fd));
}

TYPED_TEST(semaphore_fd_test, pollers_see_every_token)
{
    // Like asyncio: wait for the fd, then try_get until empty, racing with a producer.
    TypeParam sem;
    const int fd = sem.get_fd();
    constexpr int total = 20000;
    std::thread producer(
        [&]
        {
            for (int i = 0; i < total; i++)
            {
                sem.put();
                if (i % 256 == 0)
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
            }
        });
    int taken = 0;
    while (taken < total)
    {
        pollfd pfd{fd, POLLIN, 0};
        ASSERT_EQ(poll(&pfd, 1, 5000), 1) << "fd not readable with " << total - taken << " tokens to come";
        while (sem.try_get() == 0)
            taken++;
    }
    producer.join();
    EXPECT_EQ(taken, total);
    EXPECT_FALSE(fd_readable(fd)); // the last empty try_get cleared it
}

TYPED_TEST(semaphore_fd_test, fd_requested_after_puts)
{
    TypeParam sem;
    sem.put();
    EXPECT_TRUE(fd_readable(sem.get_fd()));
    EXPECT_EQ(sem.try_get(), 0);
    EXPECT_FALSE(fd_readable(sem.get_fd()));
}

TYPED_TEST(semaphore_fd_test, initial_count_readable)
{
    TypeParam sem(1);
    EXPECT_TRUE(fd_readable(sem.get_fd()));
}

TEST(semaphore_typedefs, default_semaphore_is_fd)
{
    semaphore sem;
    EXPECT_GE(sem.get_fd(), 0);
#if SPEAD2_USE_EVENTFD
    EXPECT_TRUE((std::is_same_v<semaphore_fd, semaphore_eventfd>));
#else
    EXPECT_TRUE((std::is_same_v<semaphore_fd, semaphore_pipe>));
#endif
}

TEST(ringbuffer_interrupt, plain_pop_retries_after_signal)
{
    sigusr1_guard guard;
    ringbuffer<int> rb(1);
    std::atomic<bool> done{false};
    int value = 0;
    std::thread consumer(
        [&]
        {
            value = rb.pop();
            done = true;
        });
    // Interrupt it a few times; it must keep waiting.
    for (int i = 0; i < 5; i++)
    {
        pthread_kill(consumer.native_handle(), SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_FALSE(done);
    rb.push(42);
    consumer.join();
    EXPECT_EQ(value, 42);
}

TEST(ringbuffer_interrupt, callback_may_throw)
{
    sigusr1_guard guard;
    ringbuffer<int> rb(1);
    std::atomic<bool> done{false};
    bool interrupted = false;
    std::thread consumer(
        [&]
        {
            try
            {
                rb.pop([] { throw std::runtime_error("interrupted"); });
            }
            catch (std::runtime_error &e)
            {
                interrupted = std::string(e.what()) == "interrupted";
            }
            done = true;
        });
    signal_until(consumer, done);
    consumer.join();
    EXPECT_TRUE(interrupted);
    rb.push(1); // the ring is unaffected
    EXPECT_EQ(rb.pop(), 1);
}

} // namespace spead2
