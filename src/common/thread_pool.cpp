// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Worker threads around an Asio io_context.
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <asio.hpp>
#include <sched.h>
#include <spead2/common/logging.h>
#include <spead2/common/thread_pool.h>
#include "os/fd.h"

namespace spead2
{

struct thread_pool::impl
{
    asio::io_context io_context;
    asio::executor_work_guard<asio::io_context::executor_type> work_guard;
    std::vector<std::thread> workers;
    std::mutex stop_mutex;
    bool stopped = false;
    int num_threads;

    explicit impl(int threads)
        : work_guard(asio::make_work_guard(io_context))
        , num_threads(threads)
    {
    }

    void run_worker()
    {
        // A handler that throws must not take the worker (and the process) down with it.
        while (true)
        {
            try
            {
                io_context.run();
                return;
            }
            catch (std::exception &e)
            {
                log_warning("worker thread caught exception: %s", e.what());
            }
            catch (...)
            {
                log_warning("worker thread caught unknown exception");
            }
        }
    }
};

namespace
{

int check_num_threads(int num_threads)
{
    if (num_threads < 1)
        throw std::invalid_argument("at least one thread is required");
    return num_threads;
}

} // namespace

thread_pool::thread_pool(int num_threads)
    : thread_pool(num_threads, std::vector<int>())
{
}

thread_pool::thread_pool(int num_threads, const std::vector<int> &affinity)
    : impl_(std::make_unique<impl>(check_num_threads(num_threads)))
{
    impl_->workers.reserve(num_threads);
    try
    {
        for (int i = 0; i < num_threads; i++)
        {
            if (affinity.empty())
                impl_->workers.emplace_back([this] { impl_->run_worker(); });
            else
            {
                int core = affinity[i % affinity.size()];
                impl_->workers.emplace_back(
                    [this, core]
                    {
                        set_affinity(core);
                        impl_->run_worker();
                    });
            }
        }
    }
    catch (...)
    {
        stop();
        throw;
    }
}

thread_pool::~thread_pool()
{
    stop();
}

asio::io_context &thread_pool::get_io_context()
{
    return impl_->io_context;
}

int thread_pool::get_num_threads() const
{
    return impl_->num_threads;
}

void thread_pool::stop()
{
    std::vector<std::thread> workers;
    {
        std::lock_guard<std::mutex> lock(impl_->stop_mutex);
        if (impl_->stopped)
            return;
        impl_->stopped = true;
        impl_->work_guard.reset();
        impl_->io_context.stop();
        workers.swap(impl_->workers);
    }
    // Joined outside the lock so that a handler calling stop() concurrently returns promptly
    // instead of deadlocking against us.
    for (std::thread &worker : workers)
    {
        // Joining ourselves would throw (a handler stopping its own pool): let it finish alone.
        if (worker.get_id() == std::this_thread::get_id())
            worker.detach();
        else
            worker.join();
    }
}

void thread_pool::set_affinity(int core)
{
    // Messages match the reference implementation's wording.
    if (core < 0 || core >= CPU_SETSIZE)
    {
        log_warning("Core ID %d is out of range for a CPU_SET", core);
        return;
    }
    int err = detail::set_thread_affinity(core);
    if (err != 0)
        log_warning("Failed to bind to core %d: %d (%s)", core, err, std::strerror(err));
}

} // namespace spead2
