// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A chunk stream fed from a ring of free chunks and feeding a ring of finished ones.
#ifndef SPEAD2_RECV_CHUNK_RING_STREAM_H
#define SPEAD2_RECV_CHUNK_RING_STREAM_H

#include <memory>
#include <utility>
#include <spead2/common/ringbuffer.h>
#include <spead2/recv/chunk_ring_pair.h>
#include <spead2/recv/chunk_stream.h>

namespace spead2::recv
{

/**
 * A chunk_stream whose allocate callback pops from @a free_ring and whose ready callback pushes
 * to @a data_ring (after the config's own ready callback, if any; the config's allocate is
 * ignored). Several streams may share both rings; tell their chunks apart by chunk::stream_id.
 *
 * Stopping: a network stop (stop item, end of transport) readies the window's chunks and then
 * removes this stream as a producer of the data ring, which stops once its last producer has
 * gone; the free ring keeps running. A user stop() stops both rings first (which also wakes a
 * worker blocked on either), so chunks still in flight are not delivered: they are freed in the
 * thread calling stop().
 *
 * Threads: stop() and add_free_chunk() from any thread, not from a callback. The rings must not
 * be popped from/pushed to by the destructor's thread while it runs.
 */
template<typename DataRingbuffer = ringbuffer<std::unique_ptr<chunk>>,
         typename FreeRingbuffer = ringbuffer<std::unique_ptr<chunk>>>
class chunk_ring_stream : public detail::chunk_ring_pair<DataRingbuffer, FreeRingbuffer>, public chunk_stream
{
private:
    typedef detail::chunk_ring_pair<DataRingbuffer, FreeRingbuffer> ring_pair;

    chunk_stream_config adjust_chunk_config(const chunk_stream_config &chunk_config)
    {
        chunk_stream_config out(chunk_config);
        out.set_allocate(this->make_allocate());
        out.set_ready(this->make_ready(chunk_config.get_ready()));
        return out;
    }

protected:
    void stop_received() override
    {
        chunk_stream::stop_received();
        // Consumers that see the ring stop must also see the final statistics.
        publish_batch_stats();
        this->data_ring_->remove_producer();
    }

public:
    /// @throws std::invalid_argument as chunk_stream, or if a ring is null
    chunk_ring_stream(io_context_ref io_context, const stream_config &config,
                      const chunk_stream_config &chunk_config, std::shared_ptr<DataRingbuffer> data_ring,
                      std::shared_ptr<FreeRingbuffer> free_ring)
        : ring_pair(std::move(data_ring), std::move(free_ring))
        , chunk_stream(std::move(io_context), config, adjust_chunk_config(chunk_config))
    {
        this->data_ring_->add_producer();
    }

    ~chunk_ring_stream() override { stop(); }

    /// Stops both rings, then the stream; frees undelivered chunks in this thread. Idempotent.
    void stop() override
    {
        this->data_ring_->stop();
        this->free_ring_->stop();
        chunk_stream::stop();
        this->clear_graveyard();
    }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_RING_STREAM_H
