// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for thread_pool and io_context_ref.
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <asio.hpp>
#include <gtest/gtest.h>
#include <sched.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/common/thread_pool.h>
#include "common/log_capture.h"

namespace spead2
{

TEST(thread_pool, invalid_thread_counts)
{
    try
    {
        thread_pool pool(0);
        FAIL() << "no exception";
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "at least one thread is required");
    }
    EXPECT_THROW(thread_pool(-3), std::invalid_argument);
    EXPECT_THROW(thread_pool(0, std::vector<int>{0}), std::invalid_argument);
}

TEST(thread_pool, runs_work_on_n_threads)
{
    constexpr int n = 3;
    thread_pool pool(n);
    EXPECT_EQ(pool.get_num_threads(), n);
    std::mutex mutex;
    std::set<std::thread::id> ids;
    std::atomic<int> arrived{0};
    std::promise<void> all_done;
    // Each task waits until all n have started, so they must be on n distinct threads.
    for (int i = 0; i < n; i++)
        asio::post(pool.get_io_context(),
                   [&]
                   {
                       {
                           std::lock_guard<std::mutex> lock(mutex);
                           ids.insert(std::this_thread::get_id());
                       }
                       if (++arrived == n)
                           all_done.set_value();
                       while (arrived < n)
                           std::this_thread::yield();
                   });
    ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    pool.stop();
    EXPECT_EQ(ids.size(), std::size_t(n));
    EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(thread_pool, workers_idle_until_stop)
{
    thread_pool pool(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // no work yet: must not exit
    std::promise<int> result;
    asio::post(pool.get_io_context(), [&] { result.set_value(5); });
    auto future = result.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(future.get(), 5);
}

TEST(thread_pool, stop_idempotent)
{
    thread_pool pool(2);
    pool.stop();
    pool.stop();
    // Work posted after stop never runs.
    std::atomic<bool> ran{false};
    asio::post(pool.get_io_context(), [&] { ran = true; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(ran);
}

TEST(thread_pool, handler_exception_is_logged_and_worker_survives)
{
    test::log_capture capture;
    thread_pool pool(1);
    asio::post(pool.get_io_context(), [] { throw std::runtime_error("handler failed"); });
    std::promise<void> done;
    asio::post(pool.get_io_context(), [&] { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    pool.stop();
    auto msgs = capture.messages();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].first, log_level::warning);
    EXPECT_EQ(msgs[0].second, "worker thread caught exception: handler failed");
}

TEST(thread_pool, affinity_failure_only_logs)
{
    test::log_capture capture;
    {
        thread_pool pool(2, {-1, 100000});
        std::promise<void> done;
        asio::post(pool.get_io_context(), [&] { done.set_value(); });
        ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    }
    auto msgs = capture.messages();
    ASSERT_EQ(msgs.size(), 2u);
    std::set<std::string> texts;
    for (auto &m : msgs)
    {
        EXPECT_EQ(m.first, log_level::warning);
        texts.insert(m.second);
    }
    EXPECT_EQ(texts.count("Core ID -1 is out of range for a CPU_SET"), 1u);
    EXPECT_EQ(texts.count("Core ID 100000 is out of range for a CPU_SET"), 1u);
}

TEST(thread_pool, affinity_applied_cyclically)
{
    cpu_set_t allowed;
    ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    int core = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &allowed))
        {
            core = i;
            break;
        }
    ASSERT_GE(core, 0);
    test::log_capture capture;
    thread_pool pool(2, {core});
    std::promise<int> cpu_count[2];
    std::atomic<int> started{0};
    for (int i = 0; i < 2; i++)
        asio::post(pool.get_io_context(),
                   [&]
                   {
                       int idx = started++;
                       cpu_set_t set;
                       CPU_ZERO(&set);
                       pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
                       cpu_count[idx].set_value(CPU_ISSET(core, &set) ? CPU_COUNT(&set) : -1);
                   });
    for (auto &p : cpu_count)
    {
        auto f = p.get_future();
        ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
        EXPECT_EQ(f.get(), 1); // pinned to exactly that core
    }
    EXPECT_TRUE(capture.messages().empty());
}

TEST(thread_pool, set_affinity_static_invalid_logs)
{
    test::log_capture capture;
    thread_pool::set_affinity(-5);
    thread_pool::set_affinity(CPU_SETSIZE);
    thread_pool::set_affinity(CPU_SETSIZE - 1); // in range, but no such CPU here
    auto msgs = capture.messages();
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[0].second, "Core ID -5 is out of range for a CPU_SET");
    EXPECT_EQ(msgs[1].second, "Core ID " + std::to_string(CPU_SETSIZE) + " is out of range for a CPU_SET");
    EXPECT_EQ(msgs[2].second,
              "Failed to bind to core " + std::to_string(CPU_SETSIZE - 1) + ": 22 (Invalid argument)");
}

TEST(thread_pool, stop_from_worker_does_not_deadlock)
{
    auto pool = std::make_unique<thread_pool>(2);
    std::promise<void> done;
    asio::post(pool->get_io_context(),
               [&]
               {
                   pool->stop();
                   done.set_value();
               });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // let the detached worker leave run()
    pool.reset();
}

TEST(io_context_ref, from_io_context)
{
    asio::io_context io;
    io_context_ref ref(io);
    EXPECT_EQ(&*ref, &io);
    EXPECT_EQ(ref.operator->(), &io);
    EXPECT_EQ(ref.get_shared_thread_pool(), nullptr);
}

TEST(io_context_ref, from_thread_pool_reference)
{
    thread_pool pool;
    io_context_ref ref(pool);
    EXPECT_EQ(&*ref, &pool.get_io_context());
    EXPECT_EQ(ref.get_shared_thread_pool(), nullptr);
    io_service_ref old_name = ref; // the old typedef still works
    EXPECT_EQ(&*old_name, &pool.get_io_context());
}

TEST(io_context_ref, keeps_shared_pool_alive)
{
    auto pool = std::make_shared<thread_pool>(1);
    std::weak_ptr<thread_pool> weak = pool;
    asio::io_context *expected = &pool->get_io_context();
    io_context_ref ref(std::move(pool));
    EXPECT_FALSE(weak.expired());
    EXPECT_EQ(&*ref, expected);
    EXPECT_EQ(ref.get_shared_thread_pool(), weak.lock());
    {
        io_context_ref copy = ref;
        ref = io_context_ref(*expected);
        EXPECT_FALSE(weak.expired());
    }
    EXPECT_TRUE(weak.expired());
}

TEST(io_context_ref, null_shared_pool_rejected)
{
    EXPECT_THROW(io_context_ref(std::shared_ptr<thread_pool>()), std::invalid_argument);
}

} // namespace spead2
