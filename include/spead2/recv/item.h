// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// One item of a received heap.
#ifndef SPEAD2_RECV_ITEM_H
#define SPEAD2_RECV_ITEM_H

#include <cstddef>
#include <cstdint>
#include <spead2/protocol/constants.h>

namespace spead2::recv
{

/**
 * An item of a received heap: a view into memory owned by the heap it came from (valid while
 * that heap lives). For an immediate item, @a ptr points to its HAB/8 value bytes in big-endian
 * order and @a immediate_value holds the value.
 */
struct item
{
    s_item_pointer_t id = 0;
    std::uint8_t *ptr = nullptr;
    std::size_t length = 0;
    item_pointer_t immediate_value = 0;
    bool is_immediate = false;
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_ITEM_H
