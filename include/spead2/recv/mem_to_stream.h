// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Feeding a buffer of back-to-back packets to a stream.
#ifndef SPEAD2_RECV_MEM_TO_STREAM_H
#define SPEAD2_RECV_MEM_TO_STREAM_H

#include <cstddef>
#include <cstdint>
#include <spead2/recv/stream_base.h>

namespace spead2::recv
{

/**
 * Decodes packets one after another from @a ptr and adds them to the batch @a state, stopping
 * at the first that does not decode, at the end, or when the stream stops.
 * @returns the number of bytes consumed
 */
std::size_t mem_to_stream(stream_base::add_packet_state &state, const std::uint8_t *ptr, std::size_t length);

/**
 * As above in one batch of its own, then stops the stream (a network stop, which flushes).
 * Synchronous: heap_ready() runs on the calling thread.
 */
std::size_t mem_to_stream(stream_base &s, const std::uint8_t *ptr, std::size_t length);

} // namespace spead2::recv

#endif // SPEAD2_RECV_MEM_TO_STREAM_H
