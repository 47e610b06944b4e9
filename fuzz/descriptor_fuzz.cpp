// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Fuzz target: decode_descriptor on arbitrary bytes (the first byte picks bug_compat); whatever
/// decodes must survive encode + decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>
#include <spead2/common/logging.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/flavour.h>

namespace
{

void check(bool condition)
{
    if (!condition)
        std::abort();
}

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
    if (size < 1)
        return 0;
    const bug_compat_mask bug_compat = data[0] & BUG_COMPAT_ALL;
    const std::optional<descriptor> d = decode_descriptor(data + 1, size - 1, bug_compat);
    if (!d)
        return 0;
    // A decoded descriptor came from a valid packet, so byte 3 of it is the heap address width.
    const int hab = 8 * data[1 + 3];
    check(hab >= 8 && hab <= 56);
    check(d->id > 0);
    if (!d->numpy_header.empty())
        check(d->format.empty() && d->shape.empty());
    if (d->id >= (s_item_pointer_t(1) << (63 - hab)))
        return 0; // the receiver does not range-check IDs, the sender does
    const flavour f(hab, bug_compat);
    const std::vector<std::uint8_t> encoded = encode_descriptor(*d, f);
    const std::size_t n_items = d->numpy_header.empty() ? 9 : 10;
    const std::size_t payload = encoded.size() - 8 - 8 * n_items;
    if (hab < 64 - 8 && payload >= (std::size_t(1) << hab))
        return 0; // lengths and addresses would not fit in this flavour
    const std::optional<descriptor> again = decode_descriptor(encoded.data(), encoded.size(), bug_compat);
    check(again.has_value());
    check(*again == *d);
    return 0;
}
