// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The memory-buffer reader.
#include <asio.hpp>
#include <spead2/recv/mem_reader.h>
#include <spead2/recv/mem_to_stream.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

mem_reader::mem_reader(stream &owner, const std::uint8_t *ptr, std::size_t length)
    : reader(owner)
    , ptr_(ptr)
    , length_(length)
{
}

void mem_reader::start()
{
    asio::post(get_io_context(), bind_handler(
                                     [this](stream_base::add_packet_state &state)
                                     {
                                         if (state.is_stopped())
                                             return;
                                         mem_to_stream(state, ptr_, length_);
                                         state.stop();
                                     }));
}

} // namespace spead2::recv
