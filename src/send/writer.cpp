// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The transport base class (see writer.h); the send core itself is send_engine.cpp.
#include <spead2/send/writer.h>
#include "send/send_engine.h"

namespace spead2::send
{

writer::writer(io_context_ref io_context, const stream_config &config)
    : io_context_(std::move(io_context))
    , config_(config)
{
}

writer::~writer() = default;

void writer::batch_done()
{
    engine_->batch_done();
}

} // namespace spead2::send
