// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A send stream that delivers packets to in-process queues.
#ifndef SPEAD2_SEND_INPROC_STREAM_H
#define SPEAD2_SEND_INPROC_STREAM_H

#include <memory>
#include <vector>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/send/stream.h>

namespace spead2::send
{

/**
 * Sends packets to inproc_queue objects, one queue per substream (each packet is copied into
 * the queue). A heap sent to a stopped queue completes with ECANCELED.
 * Threads and lifetime as for stream; the queues are kept alive by the stream.
 */
class inproc_stream : public stream
{
private:
    std::vector<std::shared_ptr<inproc_queue>> queues_;

public:
    /// @throws std::invalid_argument if @a queues is empty or holds a null pointer
    inproc_stream(io_context_ref io_context, const std::vector<std::shared_ptr<inproc_queue>> &queues,
                  const stream_config &config = stream_config());
    /// One queue (spead2's older form). @throws std::invalid_argument if @a queue is null
    inproc_stream(io_context_ref io_context, std::shared_ptr<inproc_queue> queue,
                  const stream_config &config = stream_config());

    const std::vector<std::shared_ptr<inproc_queue>> &get_queues() const { return queues_; }
    /// The first queue (for single-substream streams).
    const std::shared_ptr<inproc_queue> &get_queue() const { return queues_[0]; }
};

} // namespace spead2::send

#endif // SPEAD2_SEND_INPROC_STREAM_H
