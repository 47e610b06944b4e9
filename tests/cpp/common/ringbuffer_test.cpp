// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for ringbuffer.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>
#include <gtest/gtest.h>
#include <poll.h>
#include <spead2/common/ringbuffer.h>

namespace spead2
{

template<typename Data, typename Space>
struct sems
{
    typedef Data data;
    typedef Space space;
};

template<typename S>
class ringbuffer_test : public ::testing::Test
{
public:
    template<typename T>
    using ring = ringbuffer<T, typename S::data, typename S::space>;
};

typedef ::testing::Types<sems<semaphore, semaphore>, sems<semaphore_pipe, semaphore_pipe>,
                         sems<semaphore_posix, semaphore_posix>, sems<semaphore_spin, semaphore_spin>,
                         sems<semaphore_fd, semaphore_posix>>
    semaphore_types;
TYPED_TEST_SUITE(ringbuffer_test, semaphore_types);

TYPED_TEST(ringbuffer_test, zero_capacity_rejected)
{
    using int_ring = typename TestFixture::template ring<int>;
    EXPECT_THROW(int_ring(0), std::invalid_argument);
}

TYPED_TEST(ringbuffer_test, fifo_order_and_size)
{
    typename TestFixture::template ring<int> rb(3);
    EXPECT_EQ(rb.capacity(), 3u);
    EXPECT_EQ(rb.size(), 0u);
    rb.push(1);
    rb.emplace(2);
    rb.try_push(3);
    EXPECT_EQ(rb.size(), 3u);
    EXPECT_EQ(rb.pop(), 1);
    EXPECT_EQ(rb.try_pop(), 2);
    rb.push(4); // wraps around the storage
    EXPECT_EQ(rb.pop(), 3);
    EXPECT_EQ(rb.pop(), 4);
    EXPECT_EQ(rb.size(), 0u);
}

TYPED_TEST(ringbuffer_test, full_and_empty_exceptions)
{
    typename TestFixture::template ring<int> rb(2);
    try
    {
        rb.try_pop();
        FAIL() << "try_pop on empty ring did not throw";
    }
    catch (ringbuffer_empty &e)
    {
        EXPECT_STREQ(e.what(), "ring buffer is empty");
    }
    rb.try_push(1);
    rb.try_emplace(2);
    try
    {
        rb.try_push(3);
        FAIL() << "try_push on full ring did not throw";
    }
    catch (ringbuffer_full &e)
    {
        EXPECT_STREQ(e.what(), "ring buffer is full");
    }
    EXPECT_THROW(rb.try_emplace(3), ringbuffer_full);
    EXPECT_EQ(rb.size(), 2u);
    EXPECT_EQ(rb.pop(), 1);
}

TYPED_TEST(ringbuffer_test, stop_drains_then_throws)
{
    typename TestFixture::template ring<int> rb(4);
    rb.push(10);
    rb.push(20);
    EXPECT_FALSE(rb.is_stopped());
    EXPECT_TRUE(rb.stop());
    EXPECT_FALSE(rb.stop()); // idempotent
    EXPECT_TRUE(rb.is_stopped());
    try
    {
        rb.push(30);
        FAIL() << "push after stop did not throw";
    }
    catch (ringbuffer_stopped &e)
    {
        EXPECT_STREQ(e.what(), "ring buffer has been stopped");
    }
    EXPECT_THROW(rb.try_push(30), ringbuffer_stopped);
    EXPECT_EQ(rb.pop(), 10);
    EXPECT_EQ(rb.try_pop(), 20);
    EXPECT_THROW(rb.pop(), ringbuffer_stopped);
    EXPECT_THROW(rb.try_pop(), ringbuffer_stopped);
    // Still stopped on repeated calls (the wake-up token is passed on, not consumed).
    EXPECT_THROW(rb.pop(), ringbuffer_stopped);
    EXPECT_THROW(rb.try_pop(), ringbuffer_stopped);
}

TYPED_TEST(ringbuffer_test, try_push_on_full_stopped_ring_says_stopped)
{
    typename TestFixture::template ring<int> rb(1);
    rb.push(1);
    rb.stop();
    EXPECT_THROW(rb.try_push(2), ringbuffer_stopped);
    EXPECT_THROW(rb.push(2), ringbuffer_stopped);
    EXPECT_EQ(rb.pop(), 1);
}

TYPED_TEST(ringbuffer_test, try_push_status_reports_full_and_stopped)
{
    typename TestFixture::template ring<std::unique_ptr<int>> rb(1);
    using status = ringbuffer_push_status;
    auto a = std::make_unique<int>(1);
    auto b = std::make_unique<int>(2);
    EXPECT_EQ(rb.try_push_status(std::move(a)), status::pushed);
    EXPECT_EQ(a, nullptr);
    // Not pushed: the value is left where it was.
    EXPECT_EQ(rb.try_push_status(std::move(b)), status::full);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(*b, 2);
    EXPECT_EQ(rb.size(), 1u);
    EXPECT_EQ(*rb.pop(), 1);
    EXPECT_EQ(rb.try_push_status(std::move(b)), status::pushed);
    rb.stop();
    auto c = std::make_unique<int>(3);
    EXPECT_EQ(rb.try_push_status(std::move(c)), status::stopped);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(*rb.pop(), 2);
    EXPECT_THROW(rb.pop(), ringbuffer_stopped);
    // Stopped with room: the token is taken, then the stop is seen under the lock.
    typename TestFixture::template ring<int> empty(2);
    empty.stop();
    EXPECT_EQ(empty.try_push_status(4), status::stopped);
    EXPECT_EQ(empty.try_push_status(5), status::stopped);
}

TYPED_TEST(ringbuffer_test, producers)
{
    typename TestFixture::template ring<int> rb(2);
    rb.add_producer();
    rb.add_producer();
    EXPECT_FALSE(rb.remove_producer());
    EXPECT_FALSE(rb.is_stopped());
    rb.push(5);
    EXPECT_TRUE(rb.remove_producer());
    EXPECT_TRUE(rb.is_stopped());
    EXPECT_EQ(rb.pop(), 5);
    EXPECT_THROW(rb.pop(), ringbuffer_stopped);
    EXPECT_THROW(rb.remove_producer(), std::logic_error);
}

TYPED_TEST(ringbuffer_test, remove_producer_after_stop_returns_false)
{
    typename TestFixture::template ring<int> rb(2);
    rb.add_producer();
    rb.stop();
    EXPECT_FALSE(rb.remove_producer());
}

TYPED_TEST(ringbuffer_test, move_only_values)
{
    typename TestFixture::template ring<std::unique_ptr<int>> rb(2);
    rb.push(std::make_unique<int>(7));
    rb.emplace(new int(8));
    EXPECT_EQ(*rb.pop(), 7);
    EXPECT_EQ(*rb.pop(), 8);
}

struct throws_on_construct
{
    explicit throws_on_construct(bool fail)
    {
        if (fail)
            throw std::runtime_error("boom");
    }
};

TYPED_TEST(ringbuffer_test, failed_emplace_keeps_space)
{
    typename TestFixture::template ring<throws_on_construct> rb(1);
    EXPECT_THROW(rb.emplace(true), std::runtime_error);
    EXPECT_THROW(rb.try_emplace(true), std::runtime_error);
    EXPECT_EQ(rb.size(), 0u);
    rb.try_emplace(false); // the slot was given back
    EXPECT_EQ(rb.size(), 1u);
    EXPECT_THROW(rb.try_emplace(false), ringbuffer_full);
}

TYPED_TEST(ringbuffer_test, range_for_until_stopped)
{
    typename TestFixture::template ring<int> rb(5);
    for (int i = 0; i < 5; i++)
        rb.push(int(i));
    rb.stop();
    std::vector<int> seen;
    for (int x : rb)
        seen.push_back(x);
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
}

TYPED_TEST(ringbuffer_test, range_for_moves_out_move_only_items)
{
    typename TestFixture::template ring<std::unique_ptr<int>> rb(3);
    for (int i = 0; i < 3; i++)
        rb.push(std::make_unique<int>(i));
    rb.stop();
    std::vector<int> seen;
    for (std::unique_ptr<int> p : rb) // by value, as spead2's documentation writes it
        seen.push_back(*p);
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
}

TYPED_TEST(ringbuffer_test, blocked_pop_woken_by_stop)
{
    typename TestFixture::template ring<int> rb(2);
    std::atomic<bool> threw{false};
    std::thread consumer(
        [&]
        {
            try
            {
                rb.pop();
            }
            catch (ringbuffer_stopped &)
            {
                threw = true;
            }
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    rb.stop();
    consumer.join();
    EXPECT_TRUE(threw);
}

TYPED_TEST(ringbuffer_test, blocked_push_woken_by_stop)
{
    typename TestFixture::template ring<int> rb(1);
    rb.push(1);
    std::atomic<int> stopped_count{0};
    std::vector<std::thread> producers;
    for (int i = 0; i < 3; i++)
        producers.emplace_back(
            [&]
            {
                try
                {
                    rb.push(2);
                }
                catch (ringbuffer_stopped &)
                {
                    stopped_count++;
                }
            });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    rb.stop();
    for (auto &t : producers)
        t.join();
    EXPECT_EQ(stopped_count, 3); // all three blocked producers woke up
    EXPECT_EQ(rb.pop(), 1);
}

TYPED_TEST(ringbuffer_test, blocked_push_woken_by_pop)
{
    typename TestFixture::template ring<int> rb(1);
    rb.push(1);
    std::thread producer([&] { rb.push(2); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(rb.pop(), 1);
    producer.join();
    EXPECT_EQ(rb.pop(), 2);
}

TYPED_TEST(ringbuffer_test, multithread_stress_exact_totals)
{
    constexpr int producers = 3, consumers = 3, per_producer = 2000;
    typename TestFixture::template ring<std::int64_t> rb(7);
    std::vector<std::thread> threads;
    std::atomic<std::int64_t> sum{0};
    std::atomic<std::int64_t> count{0};
    for (int p = 0; p < producers; p++)
        rb.add_producer();
    for (int p = 0; p < producers; p++)
        threads.emplace_back(
            [&, p]
            {
                for (int i = 0; i < per_producer; i++)
                {
                    std::int64_t v = std::int64_t(p) * per_producer + i + 1;
                    if (i % 2)
                        rb.push(std::move(v));
                    else
                    {
                        while (true)
                        {
                            try
                            {
                                rb.try_push(std::int64_t(v));
                                break;
                            }
                            catch (ringbuffer_full &)
                            {
                                std::this_thread::yield();
                            }
                        }
                    }
                }
                rb.remove_producer();
            });
    for (int c = 0; c < consumers; c++)
        threads.emplace_back(
            [&, c]
            {
                std::int64_t local_sum = 0, local_count = 0;
                if (c == 0)
                {
                    for (std::int64_t v : rb)
                    {
                        local_sum += v;
                        local_count++;
                    }
                }
                else
                {
                    while (true)
                    {
                        try
                        {
                            local_sum += rb.pop();
                            local_count++;
                        }
                        catch (ringbuffer_stopped &)
                        {
                            break;
                        }
                    }
                }
                sum += local_sum;
                count += local_count;
            });
    for (auto &t : threads)
        t.join();
    const std::int64_t n = std::int64_t(producers) * per_producer;
    EXPECT_EQ(count.load(), n);
    EXPECT_EQ(sum.load(), n * (n + 1) / 2);
    EXPECT_TRUE(rb.is_stopped());
    EXPECT_EQ(rb.size(), 0u);
}

TYPED_TEST(ringbuffer_test, pop_with_interrupt_callback_without_signal)
{
    typename TestFixture::template ring<int> rb(1);
    int calls = 0;
    rb.push(3);
    EXPECT_EQ(rb.pop([&] { calls++; }), 3);
    rb.push(4, [&] { calls++; });
    EXPECT_EQ(rb.pop([&] { calls++; }), 4);
    EXPECT_EQ(calls, 0);
}

namespace
{

bool fd_readable(int fd)
{
    pollfd pfd{fd, POLLIN, 0};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

} // namespace

TEST(ringbuffer_fd, data_fd_tracks_items_and_stop)
{
    ringbuffer<int, semaphore_fd, semaphore_fd> rb(2);
    int data_fd = rb.get_data_sem().get_fd();
    int space_fd = rb.get_space_sem().get_fd();
    EXPECT_FALSE(fd_readable(data_fd));
    EXPECT_TRUE(fd_readable(space_fd));
    rb.push(1);
    EXPECT_TRUE(fd_readable(data_fd));
    rb.push(2);
    EXPECT_FALSE(fd_readable(space_fd));
    rb.pop();
    rb.pop();
    EXPECT_FALSE(fd_readable(data_fd));
    rb.stop();
    EXPECT_TRUE(fd_readable(data_fd)); // a poller must notice the stop
    EXPECT_TRUE(fd_readable(space_fd));
    EXPECT_THROW(rb.try_pop(), ringbuffer_stopped);
    EXPECT_TRUE(fd_readable(data_fd)); // and keep noticing it
}

TEST(ringbuffer_pipe, large_capacity_grows_pipe)
{
    // 100000 space tokens exceed the default 64 KiB pipe; the semaphore must grow it.
    ringbuffer<int, semaphore_pipe, semaphore_pipe> rb(100000);
    rb.push(1);
    EXPECT_EQ(rb.pop(), 1);
}

} // namespace spead2
