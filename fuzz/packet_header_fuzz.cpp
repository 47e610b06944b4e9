// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Fuzz target: decode_packet and get_packet_size on arbitrary bytes, with consistency checks
/// between the two and against a re-encoded copy of the decoded header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>

namespace
{

void check(bool condition)
{
    if (!condition)
        std::abort();
}

/// Rejections are logged at info level; keep the fuzzer fast and quiet.
const bool quiet = []
{
    spead2::set_log_function([](spead2::log_level, const std::string &) {});
    return true;
}();

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace spead2;
    (void)quiet;
    recv::packet_header h;
    const std::size_t n = recv::decode_packet(h, data, size);
    const s_item_pointer_t packet_size = recv::get_packet_size(data, size);
    if (n == 0)
        return 0;

    check(n <= size);
    check(packet_size == s_item_pointer_t(n));
    check(h.packet == data);
    check(h.pointers == data + 8);
    check(h.payload == data + 8 + 8 * std::size_t(h.n_items));
    check(h.payload + h.payload_length == data + n);
    check(h.heap_address_bits >= 8 && h.heap_address_bits <= 56 && h.heap_address_bits % 8 == 0);
    check(h.heap_cnt >= 0 && h.payload_offset >= 0 && h.payload_length >= 0);
    check(h.heap_length == -1 || h.payload_offset + h.payload_length <= h.heap_length);

    // Re-encode the header word; only the reserved bytes may differ.
    const std::uint64_t word = (std::uint64_t(magic_version) << 48) |
                               (std::uint64_t((64 - h.heap_address_bits) / 8) << 40) |
                               (std::uint64_t(h.heap_address_bits / 8) << 32) | std::uint64_t(h.n_items);
    check((load_be<std::uint64_t>(data) & ~(std::uint64_t(0xffff) << 16)) == word);

    // Rebuild a canonical packet (specials first, same payload) and decode it again.
    pointer_encoder enc(h.heap_address_bits);
    std::vector<item_pointer_t> pointers{enc.make_immediate(HEAP_CNT_ID, h.heap_cnt),
                                         enc.make_immediate(PAYLOAD_OFFSET_ID, h.payload_offset),
                                         enc.make_immediate(PAYLOAD_LENGTH_ID, h.payload_length)};
    if (h.heap_length >= 0)
        pointers.push_back(enc.make_immediate(HEAP_LENGTH_ID, h.heap_length));
    std::vector<std::uint8_t> rebuilt(8 + 8 * pointers.size());
    store_be<std::uint64_t>(rebuilt.data(), (word & ~std::uint64_t(0xffff)) | pointers.size());
    for (std::size_t i = 0; i < pointers.size(); i++)
        store_be<std::uint64_t>(rebuilt.data() + 8 + 8 * i, pointers[i]);
    rebuilt.insert(rebuilt.end(), h.payload, h.payload + h.payload_length);
    recv::packet_header h2;
    check(recv::decode_packet(h2, rebuilt.data(), rebuilt.size()) == rebuilt.size());
    check(h2.heap_address_bits == h.heap_address_bits);
    check(h2.heap_cnt == h.heap_cnt);
    check(h2.heap_length == h.heap_length);
    check(h2.payload_offset == h.payload_offset);
    check(h2.payload_length == h.payload_length);
    return 0;
}
