// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The reader-owning stream.
#include <spead2/recv/reader.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

stream::stream(io_context_ref io_context, const stream_config &config)
    : stream_base(config)
    , io_context_(std::move(io_context))
{
}

stream::~stream()
{
    stop();
    detach_shared();
    // Late handlers now see a detached state, so the readers can go.
    readers_.clear();
}

void stream::stop_received()
{
    {
        std::lock_guard<spead2::detail::checked_mutex> lock(readers_mutex_);
        readers_stopped_ = true;
        for (const auto &r : readers_)
            r->stop();
    }
    stream_base::stop_received();
}

void stream::start()
{
    std::lock_guard<spead2::detail::checked_mutex> lock(readers_mutex_);
    if (started_)
        return;
    started_ = true;
    if (get_config().get_explicit_start() && !readers_stopped_)
        for (const auto &r : readers_)
            r->start();
}

} // namespace spead2::recv
