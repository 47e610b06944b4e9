// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Fuzz target: the numpy header parser never crashes, and whatever parses prints (Python repr)
/// to text that parses back to the same value and prints identically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include "protocol/numpy_header.h"

namespace
{

void check(bool condition)
{
    if (!condition)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace spead2;
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    try
    {
        const numpy_header_info info = parse_numpy_header(text);
        for (auto dim : info.shape)
            check(dim >= 0);
    }
    catch (const std::invalid_argument &)
    {
    }

    py_literal value;
    try
    {
        value = parse_py_literal(text);
    }
    catch (const std::invalid_argument &)
    {
        return 0;
    }
    const std::string repr = to_repr(value);
    // Escapes can make the repr longer than the input limit; such values cannot round-trip.
    if (repr.size() > py_literal_max_size)
        return 0;
    const py_literal again = parse_py_literal(repr);
    check(again == value);
    check(to_repr(again) == repr);
    return 0;
}
