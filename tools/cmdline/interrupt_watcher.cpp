// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Clean shutdown on SIGINT/SIGTERM for the tools.
#include <pthread.h>
#include <csignal>
#include <ctime>
#include "interrupt_watcher.h"

namespace spead2::tools
{

namespace
{

sigset_t watched_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

} // namespace

interrupt_watcher::interrupt_watcher(std::function<void()> on_signal)
    : on_signal_(std::move(on_signal))
{
    sigset_t set = watched_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this] { run(); });
}

interrupt_watcher::~interrupt_watcher()
{
    done_ = true;
    // Wake the thread now rather than at its next timeout (which made every run of a tool last
    // at least that long): a signal sent to that thread alone, which it ignores once done_ is set.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
    sigset_t set = watched_signals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void interrupt_watcher::run()
{
    sigset_t set = watched_signals();
    // The destructor wakes us with a signal; the timeout is only a safety net.
    const timespec timeout{1, 0};
    while (!done_)
    {
        if (sigtimedwait(&set, nullptr, &timeout) > 0 && !done_)
        {
            interrupted_ = true;
            on_signal_();
        }
    }
}

} // namespace spead2::tools
