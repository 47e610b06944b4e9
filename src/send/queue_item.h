// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A slot of a send stream's heap queue (used by stream.cpp, heap_queue.cpp and send_engine.cpp).
#ifndef SPEAD2_SEND_QUEUE_ITEM_H
#define SPEAD2_SEND_QUEUE_ITEM_H

#include <cstdint>
#include <optional>
#include <system_error>
#include <spead2/send/detail/heap_queue.h>
#include <spead2/send/packet_generator.h>
#include <spead2/send/stream.h>

namespace spead2::send::detail
{

/**
 * Filled by the producer under the queue's lock, then owned by the send engine until it frees
 * the slot (heap_queue::release).
 */
struct queue_item
{
    const heap *h = nullptr;
    item_pointer_t cnt = 0;
    std::size_t substream_index = 0;
    double rate = 0.0;           ///< Bytes per second, resolved (0 = unlimited)
    std::uint64_t group_end = 0; ///< Absolute index one past the last heap of this heap's group
    group_mode mode = group_mode::SERIAL;
    stream::completion_handler handler; ///< Only on the first heap of a group
    std::optional<packet_generator> gen;
    std::error_code ec;
    item_pointer_t bytes_sent = 0;
};

/// Slot @a index (an absolute queue index) of @a queue.
inline queue_item &slot(const heap_queue &queue, std::uint64_t index)
{
    return queue.get_slots()[index % queue.get_max_heaps()];
}

} // namespace spead2::send::detail

#endif // SPEAD2_SEND_QUEUE_ITEM_H
