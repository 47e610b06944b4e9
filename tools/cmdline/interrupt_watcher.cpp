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
    thread_.join();
    sigset_t set = watched_signals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void interrupt_watcher::run()
{
    sigset_t set = watched_signals();
    // A short timeout so that the destructor need not signal us to finish.
    const timespec timeout{0, 100 * 1000 * 1000};
    while (!done_)
    {
        if (sigtimedwait(&set, nullptr, &timeout) > 0)
        {
            interrupted_ = true;
            on_signal_();
        }
    }
}

} // namespace spead2::tools
