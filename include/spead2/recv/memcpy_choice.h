// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// How a receive stream copies each packet's payload into heap or chunk memory.
#ifndef SPEAD2_RECV_MEMCPY_CHOICE_H
#define SPEAD2_RECV_MEMCPY_CHOICE_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/constants.h>

namespace spead2::recv
{

struct packet_header;

/**
 * A custom copy of one packet's payload into heap memory: copy packet.payload_length bytes from
 * packet.payload to allocation.get() + packet.payload_offset (e.g. into device memory). Called
 * from worker threads. In a chunk stream @a allocation points at the heap's place in its chunk
 * (in the chunk's host staging buffer when the stream has a copy engine) and owns nothing.
 */
typedef std::function<void(const memory_allocator::pointer &allocation, const packet_header &packet)>
    packet_memcpy_function;

/// A plain memcpy-like function (std::memcpy, memcpy_nontemporal or a user one).
typedef void *(*memcpy_function_t)(void *__restrict dest, const void *__restrict src, std::size_t n);

/// A memcpy-like user function with a context pointer (e.g. a copy engine and its queue).
typedef void (*memcpy_context_function_t)(void *context, void *dest, const void *src, std::size_t n);

/**
 * The copy a stream uses for payload: one of the built-in routines, a plain user function, a user
 * function with a context pointer, or a per-packet function. A plain value type.
 *
 * The default, automatic, is MEMCPY_STD for heaps; chunk streams then use streaming stores by
 * themselves for chunks large enough never to be in cache when the consumer reads them.
 */
class memcpy_choice
{
public:
    enum class kind : std::uint8_t
    {
        automatic,
        builtin,
        plain,
        with_context,
        per_packet
    };

private:
    kind kind_ = kind::automatic;
    memcpy_function_id id_ = MEMCPY_STD;
    memcpy_function_t function_;
    memcpy_context_function_t context_function_ = nullptr;
    void *context_ = nullptr;
    // Shared, so that copies of a config stay cheap and the stream core can keep a plain pointer.
    std::shared_ptr<const packet_memcpy_function> packet_function_;

public:
    /// Automatic.
    memcpy_choice();
    /// A built-in routine. @throws std::invalid_argument for an unknown id
    explicit memcpy_choice(memcpy_function_id id);
    /// A plain function. @throws std::invalid_argument if null
    explicit memcpy_choice(memcpy_function_t function);
    /// A function called with @a context first. @throws std::invalid_argument if null
    memcpy_choice(memcpy_context_function_t function, void *context);
    /// A per-packet function. @throws std::invalid_argument if empty
    explicit memcpy_choice(packet_memcpy_function function);

    kind get_kind() const { return kind_; }
    /// Whether a user function (rather than a built-in routine) is installed.
    bool is_custom() const { return kind_ != kind::automatic && kind_ != kind::builtin; }
    /// The built-in routine (MEMCPY_STD when automatic). @throws std::invalid_argument if is_custom()
    memcpy_function_id get_id() const;
    /// The plain function of an automatic, built-in or plain choice; null for the other kinds.
    memcpy_function_t get_function() const { return function_; }
    memcpy_context_function_t get_context_function() const { return context_function_; }
    void *get_context() const { return context_; }
    /// The per-packet function, or null for the other kinds.
    const packet_memcpy_function *get_packet_function() const { return packet_function_.get(); }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_MEMCPY_CHOICE_H
