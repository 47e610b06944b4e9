// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The debug check that nothing blocks while a checked_mutex is held.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <gtest/gtest.h>
#include <spead2/common/checked_mutex.h>
#include <spead2/common/ringbuffer.h>

namespace spead2::test
{
namespace
{

TEST(checked_mutex, locks_like_a_mutex)
{
    detail::checked_mutex m;
    {
        std::unique_lock<detail::checked_mutex> lock(m);
        EXPECT_FALSE(m.try_lock());
    }
    EXPECT_TRUE(m.try_lock());
    m.unlock();
}

#if SPEAD2_CHECK_BLOCKING

TEST(checked_mutex, counts_held_locks)
{
    detail::checked_mutex a, b;
    EXPECT_EQ(detail::checked_locks_held(), 0);
    {
        std::lock_guard<detail::checked_mutex> la(a);
        std::lock_guard<detail::checked_mutex> lb(b);
        EXPECT_EQ(detail::checked_locks_held(), 2);
    }
    EXPECT_EQ(detail::checked_locks_held(), 0);
}

TEST(checked_mutex_death, ring_pop_under_a_checked_lock_aborts)
{
    EXPECT_DEATH(
        {
            detail::checked_mutex m;
            ringbuffer<int> ring(1);
            ring.push(1);
            std::lock_guard<detail::checked_mutex> lock(m);
            (void)ring.pop(); // would not even block here: the check is about the call, not the luck
        },
        "ringbuffer push/pop would block while holding 1 checked lock");
}

TEST(checked_mutex_death, waiting_on_the_lock_itself_is_allowed)
{
    detail::checked_mutex m;
    std::condition_variable_any cv;
    std::unique_lock<detail::checked_mutex> lock(m);
    detail::check_may_block("condition variable wait", 1); // releases the one lock it holds
    cv.wait_for(lock, std::chrono::milliseconds(1));
    EXPECT_EQ(detail::checked_locks_held(), 1);
}

TEST(checked_mutex_death, waiting_under_a_second_lock_aborts)
{
    EXPECT_DEATH(
        {
            detail::checked_mutex outer;
            detail::checked_mutex inner;
            std::lock_guard<detail::checked_mutex> lo(outer);
            std::unique_lock<detail::checked_mutex> li(inner);
            detail::check_may_block("chunk_stream_group wait", 1);
        },
        "chunk_stream_group wait would block while holding 1 checked lock");
}

#else

TEST(checked_mutex, check_compiled_out)
{
    GTEST_SKIP() << "SPEAD2_CHECK_BLOCKING is off in this build (it is on in debug and sanitizer builds)";
}

#endif

} // namespace
} // namespace spead2::test
