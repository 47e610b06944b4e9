// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The payload copier's slow paths.
#include <spead2/recv/detail/payload_sink.h>

namespace spead2::recv::detail
{

payload_copier::payload_copier(const memcpy_choice &choice)
    : plain_(choice.get_function())
    , with_context_(choice.get_context_function())
    , context_(choice.get_context())
    , per_packet_(choice.get_packet_function())
{
}

void payload_copier::copy_per_packet(std::uint8_t *heap_base, const memory_allocator::pointer *allocation,
                                     const packet_header &packet) const
{
    if (allocation)
    {
        (*per_packet_)(*allocation, packet);
        return;
    }
    // A place in a chunk: lend the function a pointer that owns nothing.
    struct borrowed
    {
        memory_allocator::pointer pointer;
        ~borrowed() { (void)pointer.release(); }
    } chunk_place{memory_allocator::pointer(heap_base, memory_allocator::deleter())};
    (*per_packet_)(chunk_place.pointer, packet);
}

} // namespace spead2::recv::detail
