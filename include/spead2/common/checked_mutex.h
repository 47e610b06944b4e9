// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A mutex under which nothing may block, and the check that enforces it in debug builds.
#ifndef SPEAD2_COMMON_CHECKED_MUTEX_H
#define SPEAD2_COMMON_CHECKED_MUTEX_H

#include <mutex>

namespace spead2::detail
{

#if SPEAD2_CHECK_BLOCKING
/// How many checked_mutexes this thread holds.
inline int &checked_locks_held() noexcept
{
    thread_local int held = 0;
    return held;
}
#endif

/// Reports (on stderr) that @a what was about to block with @a held checked locks held, and aborts.
[[noreturn]] void blocking_under_lock(const char *what, int held) noexcept;

/**
 * Checks that a blocking wait (ring push or pop, semaphore, condition variable, waiting for
 * another member of a chunk group) is not about to happen while this thread holds a
 * checked_mutex. @a releasing is how many of those the wait itself releases (1 for a condition
 * variable waiting on one). Compiled in when SPEAD2_CHECK_BLOCKING is set (debug and sanitizer
 * builds of this project); otherwise it does nothing.
 */
inline void check_may_block([[maybe_unused]] const char *what, [[maybe_unused]] int releasing = 0) noexcept
{
#if SPEAD2_CHECK_BLOCKING
    const int held = checked_locks_held();
    if (held > releasing)
        blocking_under_lock(what, held - releasing);
#endif
}

/// Tells the CPU that this thread is spinning (cheaper for a sibling hyperthread).
inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/**
 * A std::mutex that spins briefly before it sleeps and, in checking builds, counts itself as held
 * by the locking thread, so that check_may_block can tell when a wait would hold it. Use it for every lock
 * that other threads need in order to make progress (group locks, reader lists, statistics, ring storage):
 * none of them may be held across a blocking wait (see DESIGN.md, "Concurrency and lifetime").
 */
class checked_mutex
{
private:
    static constexpr int spin_tries = 64;
    std::mutex mutex_;

public:
    void lock()
    {
        // These locks guard a few instructions at a time: when another core holds one, it is
        // about to release it, and spinning briefly is far cheaper than sleeping in the kernel.
        for (int i = 0; i < spin_tries; i++)
        {
            if (try_lock())
                return;
            cpu_relax();
        }
        mutex_.lock();
#if SPEAD2_CHECK_BLOCKING
        checked_locks_held()++;
#endif
    }

    bool try_lock()
    {
        if (!mutex_.try_lock())
            return false;
#if SPEAD2_CHECK_BLOCKING
        checked_locks_held()++;
#endif
        return true;
    }

    void unlock()
    {
#if SPEAD2_CHECK_BLOCKING
        checked_locks_held()--;
#endif
        mutex_.unlock();
    }
};

} // namespace spead2::detail

#endif // SPEAD2_COMMON_CHECKED_MUTEX_H
