// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A chunk stream group fed from a ring of free chunks and feeding a ring of finished ones.
#ifndef SPEAD2_RECV_CHUNK_STREAM_RING_GROUP_H
#define SPEAD2_RECV_CHUNK_STREAM_RING_GROUP_H

#include <memory>
#include <utility>
#include <spead2/common/ringbuffer.h>
#include <spead2/recv/chunk_ring_pair.h>
#include <spead2/recv/chunk_stream_group.h>

namespace spead2::recv
{

/**
 * A chunk_stream_group whose chunks come from @a free_ring and go to @a data_ring (after the
 * group config's ready callback, if any; its allocate callback is ignored). Each member is a
 * producer of the data ring: a member's network stop removes it, and the ring stops when the
 * last member has stopped. stop() (on the group or any member) stops both rings first, then
 * every member; undelivered chunks are freed in the stopping thread.
 */
template<typename DataRingbuffer = ringbuffer<std::unique_ptr<chunk>>,
         typename FreeRingbuffer = ringbuffer<std::unique_ptr<chunk>>>
class chunk_stream_ring_group : public detail::chunk_ring_pair<DataRingbuffer, FreeRingbuffer>,
                                public chunk_stream_group
{
private:
    typedef detail::chunk_ring_pair<DataRingbuffer, FreeRingbuffer> ring_pair;

    chunk_stream_group_config adjust_group_config(const chunk_stream_group_config &config)
    {
        chunk_stream_group_config out(config);
        out.set_allocate(this->make_allocate());
        out.set_ready(this->make_ready(config.get_ready()));
        return out;
    }

protected:
    void member_added() override { this->data_ring_->add_producer(); }
    void member_stopped() override { this->data_ring_->remove_producer(); }

public:
    /// @throws std::invalid_argument if a ring is null
    chunk_stream_ring_group(const chunk_stream_group_config &config,
                            std::shared_ptr<DataRingbuffer> data_ring,
                            std::shared_ptr<FreeRingbuffer> free_ring)
        : ring_pair(std::move(data_ring), std::move(free_ring))
        , chunk_stream_group(adjust_group_config(config))
    {
    }

    ~chunk_stream_ring_group() override { stop(); }

    void stop() override
    {
        this->data_ring_->stop();
        this->free_ring_->stop();
        chunk_stream_group::stop();
        this->clear_graveyard();
    }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_STREAM_RING_GROUP_H
