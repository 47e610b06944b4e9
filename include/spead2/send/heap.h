// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A heap to send: an ordered list of items, plus references for sending heaps in groups.
#ifndef SPEAD2_SEND_HEAP_H
#define SPEAD2_SEND_HEAP_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/flavour.h>

namespace spead2::send
{

/**
 * One item of a heap to send: either a reference to caller-owned bytes, or an inline integer that
 * always goes on the wire as an immediate. Plain value type.
 *
 * A buffer item becomes an immediate when @ref allow_immediate is set and its length is at most
 * HAB/8 bytes; the bytes are then right-aligned in the pointer (zero padding first).
 */
class item
{
public:
    /// Item ID. Only the low 63-HAB bits reach the wire.
    s_item_pointer_t id = 0;
    /// True for an inline integer value (@ref data.immediate), false for a buffer.
    bool is_inline = false;
    /// Whether a short buffer may be sent as an immediate. Ignored for inline items.
    bool allow_immediate = false;

    union
    {
        struct
        {
            const std::uint8_t *ptr;
            std::size_t length;
        } buffer;
        item_pointer_t immediate;
    } data = {{nullptr, 0}};

    item() = default;

    /// A buffer item referring to @a length bytes at @a ptr (not copied).
    item(s_item_pointer_t item_id, const void *ptr, std::size_t length, bool immediate_ok)
        : id(item_id)
        , is_inline(false)
        , allow_immediate(immediate_ok)
    {
        data.buffer.ptr = static_cast<const std::uint8_t *>(ptr);
        data.buffer.length = length;
    }

    /// A buffer item referring to the bytes of @a value (not copied: it must outlive the sends).
    item(s_item_pointer_t item_id, const std::string &value, bool immediate_ok)
        : item(item_id, value.data(), value.size(), immediate_ok)
    {
    }
    item(s_item_pointer_t item_id, std::string &&value, bool immediate_ok) = delete;

    /// A buffer item referring to the bytes of @a value (not copied: it must outlive the sends).
    item(s_item_pointer_t item_id, const std::vector<std::uint8_t> &value, bool immediate_ok)
        : item(item_id, value.data(), value.size(), immediate_ok)
    {
    }
    item(s_item_pointer_t item_id, std::vector<std::uint8_t> &&value, bool immediate_ok) = delete;

    /// An inline immediate; @a value is truncated to HAB bits on the wire.
    item(s_item_pointer_t item_id, item_pointer_t value)
        : id(item_id)
        , is_inline(true)
        , allow_immediate(true)
    {
        data.immediate = value;
    }
};

/// Index of an item within its heap, as returned by heap::add_item.
typedef std::size_t item_handle;

/**
 * A heap to be sent: a flavour, an ordered list of items (sent in insertion order) and any memory
 * the heap keeps alive for them.
 *
 * Lifetime: items added by pointer refer to caller memory, which must stay valid and unchanged
 * until every stream has finished sending the heap (its completion handler has run). The heap
 * itself must likewise outlive the sends. Memory handed over with add_pointer, and the encoded
 * descriptors, are owned by the heap.
 *
 * Thread safety: not synchronised. Do not modify a heap while a stream is sending it; several
 * streams may send the same unmodified heap at once.
 *
 * Movable, not copyable.
 */
class heap
{
public:
    /// The namespace-level item_handle, also reachable as heap::item_handle (spead2's spelling).
    typedef send::item_handle item_handle;

private:
    flavour flavour_;
    std::vector<item> items_;
    std::vector<std::unique_ptr<std::uint8_t[]>> storage_;
    bool repeat_pointers_ = false;

public:
    explicit heap(const flavour &f = flavour());
    heap(heap &&) noexcept = default;
    heap &operator=(heap &&) noexcept = default;
    heap(const heap &) = delete;
    heap &operator=(const heap &) = delete;

    const flavour &get_flavour() const { return flavour_; }

    /// Adds an item referring to @a length bytes at @a ptr (zero copy; see the class lifetime rules).
    item_handle add_item(s_item_pointer_t id, const void *ptr, std::size_t length, bool allow_immediate);

    /**
     * Adds an item referring to the bytes of @a value (zero copy: the string must outlive the
     * sends and must not be modified). Temporaries are rejected at compile time for that reason;
     * to hand over ownership, copy the bytes into memory passed to add_pointer.
     */
    item_handle add_item(s_item_pointer_t id, const std::string &value, bool allow_immediate);
    item_handle add_item(s_item_pointer_t id, std::string &&value, bool allow_immediate) = delete;
    /// Adds an item referring to the bytes of @a value, with the same rules as for a string.
    item_handle add_item(s_item_pointer_t id, const std::vector<std::uint8_t> &value, bool allow_immediate);
    item_handle add_item(s_item_pointer_t id, std::vector<std::uint8_t> &&value,
                         bool allow_immediate) = delete;

    /// Adds an integer item that is always sent as an immediate (truncated to HAB bits).
    item_handle add_item(s_item_pointer_t id, std::uint64_t value);

    /// Access to an item previously added (e.g. to point it at new data between sends).
    item &get_item(item_handle handle) { return items_[handle]; }
    const item &get_item(item_handle handle) const { return items_[handle]; }
    const std::vector<item> &get_items() const { return items_; }

    /// Makes the heap own @a pointer, e.g. memory that items refer to. Freed with the heap.
    void add_pointer(std::unique_ptr<std::uint8_t[]> &&pointer);

    /**
     * Encodes @a d in this heap's flavour and adds it as a DESCRIPTOR item (always addressed).
     * The heap owns the encoded bytes.
     * @throws std::invalid_argument if the descriptor's ID is out of range for the flavour
     */
    void add_descriptor(const descriptor &d);

    /// Adds the immediate STREAM_CTRL = CTRL_STREAM_START.
    void add_start();
    /// Adds the immediate STREAM_CTRL = CTRL_STREAM_STOP (receivers stop on it).
    void add_end();

    /**
     * Whether every packet carries every item pointer (instead of spreading them out). Sending
     * fails with std::invalid_argument if they do not all fit in one packet.
     */
    void set_repeat_pointers(bool repeat) { repeat_pointers_ = repeat; }
    bool get_repeat_pointers() const { return repeat_pointers_; }
};

/**
 * A heap plus how to send it, for stream::async_send_heaps. The heap is referenced, not copied.
 * @a cnt: heap counter, or negative to take the next one from the stream's sequence.
 * @a substream_index: which substream (e.g. UDP destination) receives it.
 * @a rate: bytes per second for this heap; negative means the stream's rate, 0 no limit.
 */
struct heap_reference
{
    const send::heap &heap;
    s_item_pointer_t cnt = -1;
    std::size_t substream_index = 0;
    double rate = -1.0;

    heap_reference(const send::heap &h, s_item_pointer_t heap_cnt = -1, std::size_t substream = 0,
                   double heap_rate = -1.0)
        : heap(h)
        , cnt(heap_cnt)
        , substream_index(substream)
        , rate(heap_rate)
    {
    }
};

} // namespace spead2::send

#endif // SPEAD2_SEND_HEAP_H
