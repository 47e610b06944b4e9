// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Splitting and building 64-bit item pointers for a given heap-address width.
#ifndef SPEAD2_PROTOCOL_POINTER_CODEC_H
#define SPEAD2_PROTOCOL_POINTER_CODEC_H

#include <spead2/protocol/constants.h>

namespace spead2
{

/// Decodes item pointers (host byte order) of a flavour with @a heap_address_bits.
class pointer_decoder
{
private:
    int heap_address_bits_;
    item_pointer_t address_mask_;
    item_pointer_t id_mask_;

public:
    explicit constexpr pointer_decoder(int heap_address_bits)
        : heap_address_bits_(heap_address_bits)
        , address_mask_((item_pointer_t(1) << heap_address_bits) - 1)
        , id_mask_((item_pointer_t(1) << (63 - heap_address_bits)) - 1)
    {
    }

    static constexpr bool is_immediate(item_pointer_t pointer) { return pointer >> 63; }
    constexpr s_item_pointer_t get_id(item_pointer_t pointer) const
    {
        return (pointer >> heap_address_bits_) & id_mask_;
    }
    /// The HAB-bit field: the value of an immediate item or the payload offset of an addressed one.
    constexpr s_item_pointer_t get_value(item_pointer_t pointer) const { return pointer & address_mask_; }
    constexpr s_item_pointer_t get_immediate(item_pointer_t pointer) const { return get_value(pointer); }
    constexpr s_item_pointer_t get_address(item_pointer_t pointer) const { return get_value(pointer); }
    constexpr int get_heap_address_bits() const { return heap_address_bits_; }
};

/// Builds item pointers (host byte order) for a flavour with @a heap_address_bits.
class pointer_encoder
{
private:
    int heap_address_bits_;
    item_pointer_t address_mask_;

public:
    explicit constexpr pointer_encoder(int heap_address_bits)
        : heap_address_bits_(heap_address_bits)
        , address_mask_((item_pointer_t(1) << heap_address_bits) - 1)
    {
    }

    constexpr item_pointer_t make_immediate(s_item_pointer_t id, s_item_pointer_t value) const
    {
        return (item_pointer_t(1) << 63) | (item_pointer_t(id) << heap_address_bits_) |
               (item_pointer_t(value) & address_mask_);
    }
    constexpr item_pointer_t make_address(s_item_pointer_t id, s_item_pointer_t address) const
    {
        return (item_pointer_t(id) << heap_address_bits_) | (item_pointer_t(address) & address_mask_);
    }
    constexpr int get_heap_address_bits() const { return heap_address_bits_; }
};

} // namespace spead2

#endif // SPEAD2_PROTOCOL_POINTER_CODEC_H
