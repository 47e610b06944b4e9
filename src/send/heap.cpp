// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Building heaps to send.
#include <cstring>
#include <spead2/send/heap.h>

namespace spead2::send
{

heap::heap(const flavour &f)
    : flavour_(f)
{
}

item_handle heap::add_item(s_item_pointer_t id, const void *ptr, std::size_t length, bool allow_immediate)
{
    items_.emplace_back(id, ptr, length, allow_immediate);
    return items_.size() - 1;
}

item_handle heap::add_item(s_item_pointer_t id, const std::string &value, bool allow_immediate)
{
    return add_item(id, value.data(), value.size(), allow_immediate);
}

item_handle heap::add_item(s_item_pointer_t id, const std::vector<std::uint8_t> &value, bool allow_immediate)
{
    return add_item(id, value.data(), value.size(), allow_immediate);
}

item_handle heap::add_item(s_item_pointer_t id, std::uint64_t value)
{
    items_.emplace_back(id, item_pointer_t(value));
    return items_.size() - 1;
}

void heap::add_pointer(std::unique_ptr<std::uint8_t[]> &&pointer)
{
    storage_.push_back(std::move(pointer));
}

void heap::add_descriptor(const descriptor &d)
{
    std::vector<std::uint8_t> encoded = encode_descriptor(d, flavour_);
    // Own a copy: the vector's buffer could not be handed over to add_pointer as it is.
    std::unique_ptr<std::uint8_t[]> owned(new std::uint8_t[encoded.size() ? encoded.size() : 1]);
    if (!encoded.empty())
        std::memcpy(owned.get(), encoded.data(), encoded.size());
    add_item(DESCRIPTOR_ID, owned.get(), encoded.size(), false);
    add_pointer(std::move(owned));
}

void heap::add_start()
{
    add_item(STREAM_CTRL_ID, std::uint64_t(CTRL_STREAM_START));
}

void heap::add_end()
{
    add_item(STREAM_CTRL_ID, std::uint64_t(CTRL_STREAM_STOP));
}

} // namespace spead2::send
