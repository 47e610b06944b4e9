// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A small, safe parser for the Python-literal subset found in numpy headers of descriptors
/// (API.md §1.5), and the validation the reference applies to them. Never evaluates code.
/// Not installed: only the Python extension needs it (and the tests and the fuzzer).
#ifndef SPEAD2_PROTOCOL_NUMPY_HEADER_H
#define SPEAD2_PROTOCOL_NUMPY_HEADER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace spead2
{

struct py_literal;

/// Python `None`.
struct py_none
{
    bool operator==(const py_none &) const = default;
};

/// Python bytes (a `b'...'` literal).
struct py_bytes
{
    std::string data;

    bool operator==(const py_bytes &) const = default;
};

/// Python list.
struct py_list
{
    std::vector<py_literal> items;

    // Special members are defined out of line, where py_literal is complete (needed by clang's
    // std::variant checks, which would otherwise instantiate them on an incomplete type).
    py_list();
    py_list(std::vector<py_literal> items_);
    py_list(const py_list &other);
    py_list(py_list &&other) noexcept;
    py_list &operator=(const py_list &other);
    py_list &operator=(py_list &&other) noexcept;
    ~py_list();
    bool operator==(const py_list &other) const;
};

/// Python tuple.
struct py_tuple
{
    std::vector<py_literal> items;

    // Special members are defined out of line, where py_literal is complete (needed by clang's
    // std::variant checks, which would otherwise instantiate them on an incomplete type).
    py_tuple();
    py_tuple(std::vector<py_literal> items_);
    py_tuple(const py_tuple &other);
    py_tuple(py_tuple &&other) noexcept;
    py_tuple &operator=(const py_tuple &other);
    py_tuple &operator=(py_tuple &&other) noexcept;
    ~py_tuple();
    bool operator==(const py_tuple &other) const;
};

/// Python dict, in insertion order. Keys are unique under Python equality (1 == True).
struct py_dict
{
    std::vector<std::pair<py_literal, py_literal>> items;

    // Special members are defined out of line, where py_literal is complete (needed by clang's
    // std::variant checks, which would otherwise instantiate them on an incomplete type).
    py_dict();
    py_dict(std::vector<std::pair<py_literal, py_literal>> items_);
    py_dict(const py_dict &other);
    py_dict(py_dict &&other) noexcept;
    py_dict &operator=(const py_dict &other);
    py_dict &operator=(py_dict &&other) noexcept;
    ~py_dict();
    bool operator==(const py_dict &other) const;
};

/**
 * One Python literal: None, bool, int (limited to int64), str (UTF-8), bytes, list, tuple or dict.
 * Plain value type. operator== compares structure exactly (True != 1), unlike Python.
 */
struct py_literal
{
    std::variant<py_none, bool, std::int64_t, std::string, py_bytes, py_list, py_tuple, py_dict> value;

    bool operator==(const py_literal &other) const = default;
};

// The limits bound the memory and stack that a header from the wire can make the parser use,
// while taking every header numpy writes for a dtype users send: a structured dtype with
// 3000 fields has a header of about 60 KiB and 9000 literals.
/// Longest input accepted by parse_py_literal.
static constexpr std::size_t py_literal_max_size = 4 * 1024 * 1024;
/// Deepest nesting of containers accepted by parse_py_literal: Python's own parser stops at 200.
static constexpr int py_literal_max_depth = 200;
/// Most literals (of any kind, nested ones included) in one input.
static constexpr std::size_t py_literal_max_elements = 262144;

/**
 * Parses @a text like Python's `ast.literal_eval` (which is what the reference reads numpy headers
 * with), restricted to the types of py_literal: ints with optional sign in decimal, hex, octal or
 * binary, with `_` between digits; str and bytes with any valid prefix (u, r, b, br, rb in either
 * case), single or triple quotes, Python's escapes, adjacent literals joined; True/False/None,
 * list, tuple, dict; trailing commas, comments and backslash line continuations. Any thread.
 * @throws std::invalid_argument with the offset and reason for anything else, including input
 * over the limits above, ints outside int64, floats, sets, calls, names and unhashable dict keys.
 */
py_literal parse_py_literal(std::string_view text);

/// Python's `repr` of @a value (str quoting and escaping as Python does it).
std::string to_repr(const py_literal &value);

/// Python equality (True == 1, (1,) != [1]); used for dict keys.
bool python_equal(const py_literal &a, const py_literal &b);

/// What a validated numpy header holds.
struct numpy_header_info
{
    /// The `descr` value; the Python layer turns it into a numpy dtype (and checks that works).
    py_literal descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
};

/**
 * Parses and validates a numpy header as the reference does: a dict whose sorted keys are exactly
 * descr, fortran_order, shape; fortran_order a real bool; shape a tuple of ints >= 0 (bools count as
 * ints, as in Python). Any thread.
 * @throws std::invalid_argument with the reference's wording ("Descriptor is not a dictionary: ...",
 * "Descriptor does not contain the correct keys: ...", "fortran_order is not a valid bool: ...",
 * "shape is not valid: ...") or a parse error.
 */
numpy_header_info parse_numpy_header(std::string_view text);

} // namespace spead2

#endif // SPEAD2_PROTOCOL_NUMPY_HEADER_H
