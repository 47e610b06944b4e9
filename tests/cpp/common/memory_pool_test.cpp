// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for memory_pool.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/memory_pool.h>
#include <spead2/common/thread_pool.h>
#include "common/log_capture.h"

namespace spead2
{

namespace
{

/// Counts live allocations and records their sizes.
class tracking_allocator : public memory_allocator
{
public:
    std::atomic<int> live{0};
    std::atomic<int> total{0};
    std::atomic<std::size_t> last_size{0};

    pointer allocate(std::size_t size, void *) override
    {
        live++;
        total++;
        last_size = size;
        return prepare_for_deallocate(new std::uint8_t[size]);
    }

private:
    void free(std::uint8_t *ptr, void *) override
    {
        live--;
        delete[] ptr;
    }
};

} // namespace

TEST(memory_pool, odd_sizes_accepted_like_reference)
{
    auto base = std::make_shared<tracking_allocator>();
    {
        // lower > upper: nothing is in range, so everything bypasses the pool.
        auto pool = std::make_shared<memory_pool>(200, 100, 4, 2, base);
        auto p = pool->allocate(150, nullptr);
        EXPECT_EQ(base->last_size, 150u);
        EXPECT_EQ(pool->get_num_free(), 2u);
    }
    {
        // initial > max_free: all initial buffers exist; returns beyond max_free are released.
        auto pool = std::make_shared<memory_pool>(10, 20, 1, 3, base);
        EXPECT_EQ(pool->get_num_free(), 3u);
        {
            auto a = pool->allocate(10, nullptr);
            auto b = pool->allocate(10, nullptr);
        }
        EXPECT_EQ(pool->get_num_free(), 1u);
    }
    {
        // A refill with low_water > initial > max_free must terminate.
        auto tp = std::make_shared<thread_pool>(1);
        auto pool = std::make_shared<memory_pool>(tp, 10, 20, 1, 2, 5, base);
        auto a = pool->allocate(10, nullptr);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (pool->get_num_free() < 1 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        EXPECT_EQ(pool->get_num_free(), 1u);
        tp->stop();
    }
    EXPECT_EQ(base->live, 0);
}

TEST(memory_pool, initial_allocations_and_reuse)
{
    auto base = std::make_shared<tracking_allocator>();
    auto pool = std::make_shared<memory_pool>(100, 200, 4, 2, base);
    EXPECT_EQ(base->live, 2);
    EXPECT_EQ(base->last_size, 200u);
    EXPECT_EQ(pool->get_num_free(), 2u);
    std::uint8_t *first;
    {
        auto p = pool->allocate(150, nullptr);
        first = p.get();
        std::memset(p.get(), 0, 200); // the buffer is upper bytes long
        EXPECT_EQ(pool->get_num_free(), 1u);
        EXPECT_EQ(p.get_deleter().get_allocator(), pool);
    }
    EXPECT_EQ(pool->get_num_free(), 2u);
    EXPECT_EQ(base->total, 2); // nothing new allocated
    auto q = pool->allocate(100, nullptr);
    EXPECT_EQ(q.get(), first); // LIFO reuse of the buffer just returned
}

TEST(memory_pool, sizes_outside_range_bypass_pool)
{
    auto base = std::make_shared<tracking_allocator>();
    auto pool = std::make_shared<memory_pool>(100, 200, 4, 1, base);
    test::log_capture capture;
    {
        auto small = pool->allocate(99, nullptr);
        EXPECT_EQ(base->last_size, 99u);
        EXPECT_EQ(small.get_deleter().get_allocator(), base);
        auto big = pool->allocate(201, nullptr);
        EXPECT_EQ(base->last_size, 201u);
        EXPECT_EQ(pool->get_num_free(), 1u);
        EXPECT_EQ(base->live, 3);
    }
    EXPECT_EQ(base->live, 1);
    EXPECT_EQ(pool->get_num_free(), 1u);
    EXPECT_TRUE(capture.messages().empty());
}

TEST(memory_pool, empty_pool_warns_and_allocates)
{
    auto base = std::make_shared<tracking_allocator>();
    auto pool = std::make_shared<memory_pool>(100, 200, 4, 0, base);
    EXPECT_TRUE(pool->get_warn_on_empty());
    test::log_capture capture;
    auto p = pool->allocate(123, nullptr);
    EXPECT_EQ(base->last_size, 200u);
    auto msgs = capture.messages();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].first, log_level::warning);
    EXPECT_EQ(msgs[0].second, "memory pool is empty when allocating 123 bytes");

    pool->set_warn_on_empty(false);
    EXPECT_FALSE(pool->get_warn_on_empty());
    auto q = pool->allocate(150, nullptr);
    EXPECT_EQ(capture.messages().size(), 1u);
}

TEST(memory_pool, max_free_limits_retained_buffers)
{
    auto base = std::make_shared<tracking_allocator>();
    auto pool = std::make_shared<memory_pool>(10, 20, 2, 0, base);
    pool->set_warn_on_empty(false);
    {
        std::vector<memory_allocator::pointer> held;
        for (int i = 0; i < 5; i++)
            held.push_back(pool->allocate(15, nullptr));
        EXPECT_EQ(base->live, 5);
    }
    EXPECT_EQ(pool->get_num_free(), 2u);
    EXPECT_EQ(base->live, 2);
}

TEST(memory_pool, pool_dropped_with_outstanding_buffers)
{
    auto base = std::make_shared<tracking_allocator>();
    std::weak_ptr<memory_allocator> weak;
    auto p = std::make_unique<memory_allocator::pointer>();
    {
        auto pool = std::make_shared<memory_pool>(10, 20, 4, 3, base);
        weak = pool;
        *p = pool->allocate(20, nullptr);
    }
    EXPECT_FALSE(weak.expired()); // kept alive by the outstanding buffer
    std::memset(p->get(), 7, 20);
    p.reset(); // destroys the pointer and its deleter
    EXPECT_TRUE(weak.expired());
    EXPECT_EQ(base->live, 0); // everything went back to the base allocator (ASan checks leaks)
}

TEST(memory_pool, background_refill)
{
    auto tp = std::make_shared<thread_pool>(1);
    auto base = std::make_shared<tracking_allocator>();
    auto pool = std::make_shared<memory_pool>(tp, 10, 20, 6, 4, 2, base);
    std::vector<memory_allocator::pointer> held;
    held.push_back(pool->allocate(10, nullptr)); // 3 left: above low water
    held.push_back(pool->allocate(10, nullptr)); // 2 left: not below low water
    EXPECT_EQ(base->total, 4);
    held.push_back(pool->allocate(10, nullptr)); // 1 left: refill to 4
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool->get_num_free() < 4 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(pool->get_num_free(), 4u);
    EXPECT_EQ(base->total, 7);
    held.clear(); // returns 3 but max_free is 6
    EXPECT_EQ(pool->get_num_free(), 6u);
    EXPECT_EQ(base->live, 6);
}

TEST(memory_pool, refill_task_does_not_keep_pool_alive)
{
    auto tp = std::make_shared<thread_pool>(1);
    auto base = std::make_shared<tracking_allocator>();
    std::weak_ptr<memory_allocator> weak;
    {
        auto pool = std::make_shared<memory_pool>(tp, 10, 20, 2, 1, 1, base);
        weak = pool;
        pool->allocate(10, nullptr); // triggers a refill, then the buffer returns
    }
    tp->stop();
    EXPECT_TRUE(weak.expired());
    EXPECT_EQ(base->live, 0);
}

TEST(memory_pool, default_constructed_bypasses)
{
    auto pool = std::make_shared<memory_pool>();
    auto p = pool->allocate(64, nullptr);
    ASSERT_NE(p.get(), nullptr);
    EXPECT_NE(p.get_deleter().get_allocator(), pool);
}

TEST(memory_pool, concurrent_allocate_free)
{
    auto base = std::make_shared<tracking_allocator>();
    auto pool = std::make_shared<memory_pool>(1, 64, 8, 8, base);
    pool->set_warn_on_empty(false);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back(
            [&]
            {
                for (int i = 0; i < 2000; i++)
                {
                    auto a = pool->allocate(32, nullptr);
                    auto b = pool->allocate(64, nullptr);
                    a[0] = 1;
                    b[63] = 2;
                }
            });
    for (auto &t : threads)
        t.join();
    EXPECT_LE(pool->get_num_free(), 8u);
    EXPECT_EQ(base->live, int(pool->get_num_free()));
}

} // namespace spead2
