// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Clean shutdown on SIGINT/SIGTERM for the tools.
#ifndef SPEAD2_TOOLS_CMDLINE_INTERRUPT_WATCHER_H
#define SPEAD2_TOOLS_CMDLINE_INTERRUPT_WATCHER_H

#include <atomic>
#include <functional>
#include <thread>

namespace spead2::tools
{

/**
 * Turns SIGINT and SIGTERM into a call of a function on a thread of its own, so that the tools
 * can stop streams (which is not async-signal-safe) and still print their summary.
 *
 * Construct it in main() before any other thread exists: it blocks the two signals in the
 * calling thread, and threads started afterwards inherit the mask, so only its own thread ever
 * takes them (with sigtimedwait). @a on_signal runs for every signal received; it must be
 * thread-safe. The destructor stops and joins the thread and unblocks the signals.
 */
class interrupt_watcher
{
private:
    std::function<void()> on_signal_;
    std::atomic<bool> done_{false};
    std::atomic<bool> interrupted_{false};
    std::thread thread_;

    void run();

public:
    explicit interrupt_watcher(std::function<void()> on_signal);
    ~interrupt_watcher();
    interrupt_watcher(const interrupt_watcher &) = delete;
    interrupt_watcher &operator=(const interrupt_watcher &) = delete;

    /// Whether a signal has arrived.
    bool interrupted() const { return interrupted_.load(); }
};

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_INTERRUPT_WATCHER_H
