// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for the safe Python-literal parser, Python repr, and numpy header validation.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include "protocol/numpy_header.h"

namespace spead2::test
{
namespace
{

py_literal lit(std::int64_t v)
{
    return py_literal{v};
}
py_literal lit(const char *s)
{
    return py_literal{std::string(s)};
}

struct accept_case
{
    const char *input;
    /// Python's repr of ast.literal_eval(input) (checked with CPython 3.11).
    const char *repr;
};

const accept_case accept_cases[] = {
    {"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}",
     "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}"},
    {"{'descr': [('f0', '<u2'), ('f1', '>f8', (2,))], 'fortran_order': True, 'shape': ()}",
     "{'descr': [('f0', '<u2'), ('f1', '>f8', (2,))], 'fortran_order': True, 'shape': ()}"},
    {"  {\"descr\":\"|u1\",\n 'fortran_order':False,'shape':(1 , ) , }",
     "{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}"},
    {"(1)", "1"},
    {"((1,))", "(1,)"},
    {"( )", "()"},
    {"[]", "[]"},
    {"[1, 2,]", "[1, 2]"},
    {"{}", "{}"},
    {"None", "None"},
    {"True", "True"},
    {"-5", "-5"},
    {"- 5", "-5"},
    {"+7", "7"},
    {"0", "0"},
    {"000", "0"},
    {"9223372036854775807", "9223372036854775807"},
    {"-9223372036854775808", "-9223372036854775808"},
    {"u'x'", "'x'"},
    {"\"it's\"", "\"it's\""},
    {"'say \"hi\"'", "'say \"hi\"'"},
    {"'both \\' and \"'", "'both \\' and \"'"},
    {"'\\t\\n\\r\\x00\\x7f\\x1b\\\\'", "'\\t\\n\\r\\x00\\x7f\\x1b\\\\'"},
    {"'\\a\\b\\f\\v'", "'\\x07\\x08\\x0c\\x0b'"},
    {"'\\101\\0\\1234'", "'A\\x00S4'"},
    {"'\\u00e9\\xe9\\U0001F600'", "'\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80'"},
    {"'\\xa0\\xad\\u2028\\ue000\\x85'", "'\\xa0\\xad\\u2028\\ue000\\x85'"},
    {"'\xc3\xbc\xc4\x80'", "'\xc3\xbc\xc4\x80'"},
    {"'\\q'", "'\\\\q'"},
    {"'a\\\nb'", "'ab'"},
    {"{1: 'a', True: 'b'}", "{1: 'b'}"},
    {"{'a': 1, 'b': 2, 'a': 3}", "{'a': 3, 'b': 2}"},
    {"{(1, 'x'): None}", "{(1, 'x'): None}"},
    // The rest of what ast.literal_eval reads: other bases, digit separators, bytes, raw and
    // triple-quoted strings, adjacent literals, comments and line continuations.
    {"0x10", "16"},
    {"-0X1f", "-31"},
    {"0o17", "15"},
    {"0B101", "5"},
    {"1_000", "1000"},
    {"0x_ff", "255"},
    {"00_0", "0"},
    {"b'x'", "b'x'"},
    {"B\"it's\"", "b\"it's\""},
    {"r'a\\nb'", "'a\\\\nb'"},
    {"R'\\''", "\"\\\\'\""},
    {"rb'\\x41'", "b'\\\\x41'"},
    {"Br'\\n'", "b'\\\\n'"},
    {"b'\\x00\\x7f\\xff\\t\\n\\r\\\\'", "b'\\x00\\x7f\\xff\\t\\n\\r\\\\'"},
    {"b'\\101\\777'", "b'A\\xff'"},
    {"b'\\u1234\\N'", "b'\\\\u1234\\\\N'"},
    {"'a' 'b' \"c\"", "'abc'"},
    {"u'a' 'b'", "'ab'"},
    {"b'a' B'b'", "b'ab'"},
    {"'''x'''", "'x'"},
    {"\"\"\"a\nb\"\"\"", "'a\\nb'"},
    {"'''a\r\nb'''", "'a\\nb'"},
    {"'''it's'''", "\"it's\""},
    {"(1, # one\n 2)", "(1, 2)"},
    {"[1,\\\n2]", "[1, 2]"},
    {"# lead\n{}", "{}"},
    {"{'descr': b'<u2', 'fortran_order': False, 'shape': (0x10,)}",
     "{'descr': b'<u2', 'fortran_order': False, 'shape': (16,)}"},
};

TEST(ProtocolPyLiteral, Accepts)
{
    for (const auto &c : accept_cases)
    {
        SCOPED_TRACE(c.input);
        const py_literal v = parse_py_literal(c.input);
        EXPECT_EQ(to_repr(v), c.repr);
        // repr parses back to the same value.
        EXPECT_EQ(parse_py_literal(to_repr(v)), v);
    }
}

TEST(ProtocolPyLiteral, Structure)
{
    const py_literal v = parse_py_literal("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}");
    const auto &dict = std::get<py_dict>(v.value);
    ASSERT_EQ(dict.items.size(), 3u);
    EXPECT_EQ(dict.items[0].first, lit("descr"));
    EXPECT_EQ(dict.items[0].second, lit("<u2"));
    EXPECT_EQ(dict.items[1].second, py_literal{false});
    EXPECT_EQ(dict.items[2].second, (py_literal{py_tuple{{lit(2), lit(3)}}}));
    // Structural equality distinguishes what Python equality does not.
    EXPECT_NE(py_literal{true}, lit(1));
    EXPECT_TRUE(python_equal(py_literal{true}, lit(1)));
    EXPECT_FALSE(python_equal(py_literal{py_list{{lit(1)}}}, py_literal{py_tuple{{lit(1)}}}));
}

struct reject_case
{
    const char *input;
    const char *message;
};

const reject_case reject_cases[] = {
    {"__import__('os')", "names are not allowed at offset 0"},
    {"__import__('os').system('rm -rf /')", "names are not allowed"},
    {"os", "names are not allowed"},
    {"Truex", "names are not allowed"},
    {"1.5", "only integers are supported"},
    {"1e3", "only integers are supported"},
    {"1j", "only integers are supported"},
    {"01", "leading zeros"},
    {"9223372036854775808", "integer out of range"},
    {"-9223372036854775809", "integer out of range"},
    {"99999999999999999999999", "integer out of range"},
    {"--1", "expected a number"},
    {"-'a'", "expected a number"},
    {"2**70", "trailing characters"},
    {"1 + 1", "trailing characters"},
    {"{1, 2}", "expected ':' (sets are not supported)"},
    {"{[1]: 2}", "unhashable dict key"},
    {"{(1, [2]): 2}", "unhashable dict key"},
    {"{{}: 2}", "unhashable dict key"},
    {"'abc", "unterminated string"},
    {"'a\nb'", "newline in string"},
    {"'\\x4'", "truncated"},
    {"'\\u12'", "truncated"},
    {"'\\U00110000'", "escape out of the Unicode range"},
    {"'\\ud800'", "surrogate"},
    {"'\\N{DIGIT ONE}'", "not supported"},
    {"'\xff'", "invalid UTF-8"},
    {"'\xc3'", "invalid UTF-8"},
    {"'\xe0\x80\x80'", "invalid UTF-8"},
    {"'\xed\xa0\x80'", "invalid UTF-8"},
    {"", "unexpected end of input"},
    {"(", "unexpected end of input"},
    {"[1 2]", "expected ',' or ']'"},
    {"(1,,)", "unexpected character ','"},
    {"[,]", "unexpected character ','"},
    {"{'a' 1}", "expected ':'"},
    {"{'a': }", "unexpected character '}'"},
    {"lambda: 0", "names are not allowed"},
    {"[1] + [2]", "trailing characters"},
    {"@", "unexpected character '@'"},
    {"1__0", "invalid number"},
    {"1_", "invalid number"},
    {"0x", "invalid number"},
    {"0b102", "invalid number"},
    {"0o8", "invalid number"},
    {"0_1", "leading zeros"},
    {"0x1.5", "only integers are supported"},
    {"f'x'", "names are not allowed"},
    {"ur'x'", "invalid string prefix"},
    {"bb'x'", "invalid string prefix"},
    {"'a' b'b'", "cannot mix bytes and str literals"},
    {"b'\xc3\xa9'", "bytes can only contain ASCII literal characters"},
    {"'''abc''", "unterminated string"},
    {"r'\\'", "unterminated string"},
};

TEST(ProtocolPyLiteral, Rejects)
{
    for (const auto &c : reject_cases)
    {
        SCOPED_TRACE(c.input);
        try
        {
            parse_py_literal(c.input);
            ADD_FAILURE() << "accepted";
        }
        catch (const std::invalid_argument &e)
        {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind("malformed numpy header: ", 0), 0u) << what;
            EXPECT_NE(what.find(c.message), std::string::npos) << what;
        }
    }
}

TEST(ProtocolPyLiteral, RejectsNulByte)
{
    EXPECT_THROW(parse_py_literal(std::string("'a\0b'", 5)), std::invalid_argument);
    EXPECT_THROW(parse_py_literal(std::string("1\0", 2)), std::invalid_argument);
    EXPECT_THROW(parse_py_literal(std::string("1 #\0", 4)), std::invalid_argument);   // in a comment
    EXPECT_THROW(parse_py_literal(std::string("r'\\\0'", 5)), std::invalid_argument); // after a raw backslash
}

TEST(ProtocolPyLiteral, DepthLimit)
{
    const int max = py_literal_max_depth;
    EXPECT_NO_THROW(parse_py_literal(std::string(max, '[') + std::string(max, ']')));
    EXPECT_THROW(parse_py_literal(std::string(max + 1, '[') + std::string(max + 1, ']')),
                 std::invalid_argument);
    // Deep nesting far beyond the limit fails fast instead of exhausting the stack.
    for (char open : {'(', '[', '{'})
    {
        try
        {
            parse_py_literal(std::string(60000, open));
            ADD_FAILURE() << "accepted";
        }
        catch (const std::invalid_argument &e)
        {
            EXPECT_NE(std::string(e.what()).find("nesting deeper than " + std::to_string(max)),
                      std::string::npos)
                << e.what();
        }
    }
}

TEST(ProtocolPyLiteral, SizeLimit)
{
    const std::string ok = "'" + std::string(py_literal_max_size - 2, 'x') + "'";
    EXPECT_EQ(std::get<std::string>(parse_py_literal(ok).value).size(), py_literal_max_size - 2);
    try
    {
        parse_py_literal("'" + std::string(py_literal_max_size - 1, 'x') + "'");
        ADD_FAILURE() << "accepted";
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_EQ(std::string(e.what()),
                  "malformed numpy header: longer than " + std::to_string(py_literal_max_size) + " bytes");
    }
}

TEST(ProtocolPyLiteral, ElementLimit)
{
    auto list_of = [](std::size_t n)
    {
        std::string s = "[";
        for (std::size_t i = 0; i < n; i++)
            s += "0,";
        return s + "]";
    };
    // The list itself counts as one element.
    EXPECT_NO_THROW(parse_py_literal(list_of(py_literal_max_elements - 1)));
    try
    {
        parse_py_literal(list_of(py_literal_max_elements));
        ADD_FAILURE() << "accepted";
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_NE(
            std::string(e.what()).find("more than " + std::to_string(py_literal_max_elements) + " elements"),
            std::string::npos)
            << e.what();
    }
}

TEST(ProtocolPyLiteral, ReprQuoting)
{
    EXPECT_EQ(to_repr(lit("it's")), "\"it's\"");
    EXPECT_EQ(to_repr(lit("say \"hi\"")), "'say \"hi\"'");
    EXPECT_EQ(to_repr(lit("both ' and \"")), "'both \\' and \"'");
    EXPECT_EQ(to_repr(lit("")), "''");
    EXPECT_EQ(to_repr(py_literal{py_tuple{}}), "()");
    EXPECT_EQ(to_repr(py_literal{py_tuple{{lit(1)}}}), "(1,)");
    EXPECT_EQ(to_repr(py_literal{py_none{}}), "None");
    EXPECT_EQ(to_repr(lit(-42)), "-42");
}

numpy_header_info parse_ok(const std::string &text)
{
    SCOPED_TRACE(text);
    return parse_numpy_header(text);
}

TEST(ProtocolNumpyHeader, Accepts)
{
    auto info = parse_ok("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}");
    EXPECT_EQ(info.descr, lit("<u2"));
    EXPECT_FALSE(info.fortran_order);
    EXPECT_EQ(info.shape, (std::vector<std::int64_t>{2, 3}));
    info = parse_ok("{'shape': (), 'fortran_order': True, 'descr': [('a', '<i4'), ('b', '>f8', (2,))]}");
    EXPECT_TRUE(info.fortran_order);
    EXPECT_TRUE(info.shape.empty());
    EXPECT_EQ(to_repr(info.descr), "[('a', '<i4'), ('b', '>f8', (2,))]");
    // Python counts bools as ints, and the reference accepts them in shape.
    info = parse_ok("{'descr': '<u2', 'fortran_order': False, 'shape': (True, 0)}");
    EXPECT_EQ(info.shape, (std::vector<std::int64_t>{1, 0}));
    // descr is not checked here: the Python layer asks numpy.
    info = parse_ok("{'descr': 'zz', 'fortran_order': False, 'shape': ()}");
    EXPECT_EQ(info.descr, lit("zz"));
}

void expect_header_error(const std::string &text, const std::string &message)
{
    SCOPED_TRACE(text);
    try
    {
        parse_numpy_header(text);
        ADD_FAILURE() << "accepted";
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(ProtocolNumpyHeader, RejectsLikeTheReference)
{
    // Messages as the reference's ValueErrors (checked with spead2 4.5.1).
    expect_header_error("{'descr': '<u2', 'fortran_order': 0, 'shape': (2,)}",
                        "fortran_order is not a valid bool: 0");
    expect_header_error("{'descr': '<u2', 'fortran_order': None, 'shape': (2,)}",
                        "fortran_order is not a valid bool: None");
    expect_header_error("{'descr': '<u2', 'fortran_order': 'False', 'shape': (2,)}",
                        "fortran_order is not a valid bool: 'False'");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 'shape': [2]}", "shape is not valid: [2]");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 'shape': (None,)}",
                        "shape is not valid: (None,)");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 'shape': (-1,)}",
                        "shape is not valid: (-1,)");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 'shape': ('2',)}",
                        "shape is not valid: ('2',)");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 'shape': 2}", "shape is not valid: 2");
    expect_header_error(
        "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), 'x': 1}",
        "Descriptor does not contain the correct keys: ['descr', 'fortran_order', 'shape', 'x']");
    expect_header_error("{'shape': (2,), 'descr': '<u2'}",
                        "Descriptor does not contain the correct keys: ['descr', 'shape']");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 1: (2,)}",
                        "Descriptor does not contain the correct keys: ['descr', 'fortran_order', 1]");
    expect_header_error("{}", "Descriptor does not contain the correct keys: []");
    expect_header_error("['descr']", "Descriptor is not a dictionary: ['descr']");
    expect_header_error("None", "Descriptor is not a dictionary: None");
    expect_header_error("__import__('os')", "malformed numpy header: names are not allowed at offset 0");
    expect_header_error("{'descr': '<u2', 'fortran_order': False, 'shape': (2**70,)}",
                        "malformed numpy header: expected ',' or ')' at offset 52");
}

} // namespace
} // namespace spead2::test
