// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Parsing, printing and validation of numpy headers (the Python-literal subset of API.md §1.5).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>
#include "protocol/numpy_header.h"

namespace spead2
{

py_list::py_list() = default;
py_list::py_list(std::vector<py_literal> items_)
    : items(std::move(items_))
{
}
py_list::py_list(const py_list &other) = default;
py_list::py_list(py_list &&other) noexcept = default;
py_list &py_list::operator=(const py_list &other) = default;
py_list &py_list::operator=(py_list &&other) noexcept = default;
py_list::~py_list() = default;
bool py_list::operator==(const py_list &other) const
{
    return items == other.items;
}

py_tuple::py_tuple() = default;
py_tuple::py_tuple(std::vector<py_literal> items_)
    : items(std::move(items_))
{
}
py_tuple::py_tuple(const py_tuple &other) = default;
py_tuple::py_tuple(py_tuple &&other) noexcept = default;
py_tuple &py_tuple::operator=(const py_tuple &other) = default;
py_tuple &py_tuple::operator=(py_tuple &&other) noexcept = default;
py_tuple::~py_tuple() = default;
bool py_tuple::operator==(const py_tuple &other) const
{
    return items == other.items;
}

py_dict::py_dict() = default;
py_dict::py_dict(std::vector<std::pair<py_literal, py_literal>> items_)
    : items(std::move(items_))
{
}
py_dict::py_dict(const py_dict &other) = default;
py_dict::py_dict(py_dict &&other) noexcept = default;
py_dict &py_dict::operator=(const py_dict &other) = default;
py_dict &py_dict::operator=(py_dict &&other) noexcept = default;
py_dict::~py_dict() = default;
bool py_dict::operator==(const py_dict &other) const
{
    return items == other.items;
}

namespace
{

std::size_t python_hash(const py_literal &v);

/// Recursive-descent parser. Every container level is counted against the depth limit before
/// recursing, so hostile nesting cannot exhaust the stack.
class literal_parser
{
private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t elements_ = 0;

    [[noreturn]] void fail(const std::string &reason) const
    {
        throw std::invalid_argument("malformed numpy header: " + reason + " at offset " +
                                    std::to_string(pos_));
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    /// Skips what Python's tokenizer skips between tokens: blanks, comments and backslash line
    /// continuations.
    void skip_space()
    {
        while (!at_end())
        {
            const char c = text_[pos_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f')
                pos_++;
            else if (c == '#')
            {
                while (!at_end() && text_[pos_] != '\n' && text_[pos_] != '\r')
                {
                    if (text_[pos_] == '\0')
                        fail("NUL byte");
                    pos_++;
                }
            }
            else if (c == '\\' && pos_ + 1 < text_.size() &&
                     (text_[pos_ + 1] == '\n' || text_[pos_ + 1] == '\r'))
                pos_ += 2;
            else
                break;
        }
    }

    static bool is_ident_char(char c)
    {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               (static_cast<unsigned char>(c) >= 0x80);
    }

    void count_element()
    {
        if (++elements_ > py_literal_max_elements)
            fail("more than " + std::to_string(py_literal_max_elements) + " elements");
    }

    static void append_utf8(std::string &out, std::uint32_t cp)
    {
        if (cp < 0x80)
            out += char(cp);
        else if (cp < 0x800)
        {
            out += char(0xc0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3f));
        }
        else if (cp < 0x10000)
        {
            out += char(0xe0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3f));
            out += char(0x80 | (cp & 0x3f));
        }
        else
        {
            out += char(0xf0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3f));
            out += char(0x80 | ((cp >> 6) & 0x3f));
            out += char(0x80 | (cp & 0x3f));
        }
    }

    /// Copies one UTF-8 encoded code point from the input, rejecting invalid encodings.
    void copy_utf8(std::string &out)
    {
        const auto c0 = static_cast<unsigned char>(text_[pos_]);
        std::size_t len;
        std::uint32_t cp;
        if (c0 >= 0xc2 && c0 <= 0xdf)
        {
            len = 2;
            cp = c0 & 0x1f;
        }
        else if (c0 >= 0xe0 && c0 <= 0xef)
        {
            len = 3;
            cp = c0 & 0x0f;
        }
        else if (c0 >= 0xf0 && c0 <= 0xf4)
        {
            len = 4;
            cp = c0 & 0x07;
        }
        else
            fail("invalid UTF-8");
        if (pos_ + len > text_.size())
            fail("invalid UTF-8");
        for (std::size_t i = 1; i < len; i++)
        {
            const auto c = static_cast<unsigned char>(text_[pos_ + i]);
            if ((c & 0xc0) != 0x80)
                fail("invalid UTF-8");
            cp = (cp << 6) | (c & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            fail("invalid UTF-8");
        out.append(text_.substr(pos_, len));
        pos_ += len;
    }

    std::uint32_t parse_hex_escape(int digits)
    {
        std::uint32_t value = 0;
        for (int i = 0; i < digits; i++)
        {
            const char c = peek();
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                fail("truncated \\x, \\u or \\U escape");
            value = value * 16 + std::uint32_t(d);
            pos_++;
        }
        return value;
    }

    /// Whether a string literal (with its prefix, if any) starts here.
    bool at_string() const
    {
        std::size_t p = pos_;
        while (p < text_.size() && p - pos_ < 2 && text_[p] != '\0' &&
               std::string_view("rRuUbB").find(text_[p]) != std::string_view::npos)
            p++;
        return p < text_.size() && (text_[p] == '\'' || text_[p] == '"');
    }

    /// The escape after a backslash in a str (@a bytes false) or bytes literal, appended to @a out.
    void parse_escape(std::string &out, bool bytes)
    {
        if (at_end())
            fail("unterminated string");
        const char e = text_[pos_++];
        switch (e)
        {
        case '\n':
            break; // line continuation
        case '\r':
            if (peek() == '\n')
                pos_++;
            break;
        case '\\':
        case '\'':
        case '"':
            out += e;
            break;
        case 'a':
            out += '\a';
            break;
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case 'v':
            out += '\v';
            break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        {
            std::uint32_t value = std::uint32_t(e - '0');
            for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; i++)
                value = value * 8 + std::uint32_t(text_[pos_++] - '0');
            if (bytes)
                out += char(value & 0xff); // as Python: b'\777' is b'\xff'
            else
                append_utf8(out, value);
            break;
        }
        case 'x':
        {
            const std::uint32_t value = parse_hex_escape(2);
            if (bytes)
                out += char(value);
            else
                append_utf8(out, value);
            break;
        }
        case 'u':
        case 'U':
        {
            if (bytes)
            {
                out += '\\'; // not an escape in bytes
                out += e;
                break;
            }
            const std::uint32_t cp = parse_hex_escape(e == 'u' ? 4 : 8);
            if (cp > 0x10ffff)
                fail("escape out of the Unicode range");
            if (cp >= 0xd800 && cp <= 0xdfff)
                fail("surrogate escapes are not supported");
            append_utf8(out, cp);
            break;
        }
        case 'N':
            if (bytes)
            {
                out += "\\N";
                break;
            }
            fail("\\N{...} escapes are not supported");
        default:
            // Python keeps unknown escapes as they are (with a warning).
            if (static_cast<unsigned char>(e) >= 0x80 || e == '\0')
                fail("unsupported escape");
            out += '\\';
            out += e;
            break;
        }
    }

    /// One string literal, appended to @a out; returns whether it is bytes.
    bool parse_string(std::string &out)
    {
        const std::size_t start = pos_;
        bool raw = false, bytes = false, unicode = false;
        while (text_[pos_] != '\'' && text_[pos_] != '"')
        {
            const char c = text_[pos_++];
            bool &flag = (c == 'r' || c == 'R') ? raw : (c == 'b' || c == 'B') ? bytes : unicode;
            if (flag)
            {
                pos_ = start;
                fail("invalid string prefix");
            }
            flag = true;
        }
        if (unicode && (raw || bytes))
        {
            pos_ = start;
            fail("invalid string prefix");
        }
        const char quote = text_[pos_];
        const std::string_view triple_quote = quote == '"' ? "\"\"\"" : "\'\'\'";
        const bool triple = text_.substr(pos_, 3) == triple_quote;
        pos_ += triple ? 3 : 1;
        while (true)
        {
            if (at_end())
                fail("unterminated string");
            const char c = text_[pos_];
            if (c == quote && (!triple || text_.substr(pos_, 3) == triple_quote))
            {
                pos_ += triple ? 3 : 1;
                return bytes;
            }
            if (c == '\0')
                fail("NUL byte");
            if ((c == '\n' || c == '\r') && !triple)
                fail("newline in string");
            if (static_cast<unsigned char>(c) >= 0x80)
            {
                if (bytes)
                    fail("bytes can only contain ASCII literal characters");
                copy_utf8(out);
                continue;
            }
            pos_++;
            if (c == '\r') // a newline in the source reads as \n, as in Python
            {
                if (peek() == '\n')
                    pos_++;
                out += '\n';
            }
            else if (c != '\\')
                out += c;
            else if (!raw)
                parse_escape(out, bytes);
            else
            {
                // Raw: the backslash stays, and the character after it (a quote too) is plain.
                out += '\\';
                if (at_end())
                    fail("unterminated string");
                const char next = text_[pos_];
                if (next == '\0')
                    fail("NUL byte");
                if (static_cast<unsigned char>(next) < 0x80)
                {
                    out += next;
                    pos_++;
                }
            }
        }
    }

    /// Adjacent string literals, joined as Python joins them: one str or one bytes.
    py_literal parse_strings()
    {
        std::string out;
        const bool bytes = parse_string(out);
        while (true)
        {
            skip_space();
            if (!at_string())
                break;
            const std::size_t start = pos_;
            if (parse_string(out) != bytes)
            {
                pos_ = start;
                fail("cannot mix bytes and str literals");
            }
        }
        if (bytes)
            return py_literal{py_bytes{std::move(out)}};
        return py_literal{std::move(out)};
    }

    /// The value of @a c as a digit in bases up to 36 (36 or more if it is not one).
    static unsigned digit_value(char c)
    {
        if (c >= '0' && c <= '9')
            return unsigned(c - '0');
        if (c >= 'a' && c <= 'z')
            return unsigned(c - 'a') + 10;
        if (c >= 'A' && c <= 'Z')
            return unsigned(c - 'A') + 10;
        return 36;
    }

    std::int64_t parse_int(bool negative)
    {
        const std::size_t start = pos_;
        unsigned base = 10;
        if (peek() == '0' && pos_ + 1 < text_.size())
        {
            const char prefix = char(text_[pos_ + 1] | 0x20); // lower case
            base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 10;
            if (base != 10)
                pos_ += 2;
        }
        std::uint64_t magnitude = 0;
        std::size_t digits = 0;
        while (true)
        {
            if (peek() == '_')
            {
                // Only between digits, or right after a base prefix (0x_ff).
                const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
                if ((digits == 0 && base == 10) || digit_value(next) >= base)
                    fail("invalid number");
                pos_++;
                continue;
            }
            const unsigned d = digit_value(peek());
            if (d >= base)
                break;
            if (magnitude > (std::numeric_limits<std::uint64_t>::max() - d) / base)
                fail("integer out of range");
            magnitude = magnitude * base + d;
            digits++;
            pos_++;
        }
        if (digits == 0)
            fail(base == 10 ? "expected a number" : "invalid number");
        if (base == 10 && text_[start] == '0' && magnitude != 0)
            fail("leading zeros in a decimal integer");
        if (peek() == '.' || (base == 10 && (peek() == 'e' || peek() == 'E')) || peek() == 'j' ||
            peek() == 'J')
            fail("only integers are supported");
        if (is_ident_char(peek()))
            fail("invalid number");
        const std::uint64_t limit =
            std::uint64_t(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
        if (magnitude > limit)
            fail("integer out of range");
        if (negative)
            return magnitude == limit ? std::numeric_limits<std::int64_t>::min() : -std::int64_t(magnitude);
        return std::int64_t(magnitude);
    }

    static bool is_hashable(const py_literal &v)
    {
        if (std::holds_alternative<py_list>(v.value) || std::holds_alternative<py_dict>(v.value))
            return false;
        if (const auto *t = std::get_if<py_tuple>(&v.value))
            return std::all_of(t->items.begin(), t->items.end(), is_hashable);
        return true;
    }

    /// Parses comma-separated items up to @a close; returns whether a comma was seen.
    template<typename F>
    bool parse_sequence(char close, int depth, F &&each)
    {
        bool comma = false;
        skip_space();
        if (peek() == close)
        {
            pos_++;
            return false;
        }
        while (true)
        {
            each(depth);
            skip_space();
            if (peek() == close)
            {
                pos_++;
                return comma;
            }
            if (peek() != ',')
                fail(std::string("expected ',' or '") + close + "'");
            pos_++;
            comma = true;
            skip_space();
            if (peek() == close)
            {
                pos_++;
                return comma;
            }
        }
    }

    py_literal parse_value(int depth)
    {
        skip_space();
        if (at_end())
            fail("unexpected end of input");
        const char c = peek();
        if (c == '(' || c == '[' || c == '{')
        {
            if (depth >= py_literal_max_depth)
                fail("nesting deeper than " + std::to_string(py_literal_max_depth));
            pos_++;
        }
        if (c == '(')
        {
            std::vector<py_literal> items;
            const bool comma =
                parse_sequence(')', depth, [&](int d) { items.push_back(parse_value(d + 1)); });
            if (items.size() == 1 && !comma)
                return std::move(items[0]); // a parenthesised expression, not a tuple
            count_element();
            return py_literal{py_tuple{std::move(items)}};
        }
        if (c == '[')
        {
            count_element();
            py_list list;
            parse_sequence(']', depth, [&](int d) { list.items.push_back(parse_value(d + 1)); });
            return py_literal{std::move(list)};
        }
        if (c == '{')
        {
            count_element();
            py_dict dict;
            // Key hash -> index in dict.items: a header with many keys costs linear time, not
            // quadratic (a 1.5 MB header of 131k keys took 42 s to refuse).
            std::unordered_multimap<std::size_t, std::size_t> index;
            parse_sequence('}', depth,
                           [&](int d)
                           {
                               py_literal key = parse_value(d + 1);
                               skip_space();
                               if (peek() != ':')
                                   fail("expected ':' (sets are not supported)");
                               pos_++;
                               py_literal value = parse_value(d + 1);
                               if (!is_hashable(key))
                                   fail("unhashable dict key");
                               // As in Python, a repeated key keeps its first position and key object.
                               const std::size_t hash = python_hash(key);
                               auto [first, last] = index.equal_range(hash);
                               for (auto it = first; it != last; ++it)
                                   if (python_equal(dict.items[it->second].first, key))
                                   {
                                       dict.items[it->second].second = std::move(value);
                                       return;
                                   }
                               index.emplace(hash, dict.items.size());
                               dict.items.emplace_back(std::move(key), std::move(value));
                           });
            return py_literal{std::move(dict)};
        }
        count_element();
        if (at_string())
            return parse_strings();
        if (c == '-' || c == '+')
        {
            pos_++;
            skip_space();
            return py_literal{parse_int(c == '-')};
        }
        if (c >= '0' && c <= '9')
            return py_literal{parse_int(false)};
        if (is_ident_char(c))
        {
            const std::size_t start = pos_;
            while (!at_end() && is_ident_char(text_[pos_]))
                pos_++;
            const std::string_view word = text_.substr(start, pos_ - start);
            if (word == "True")
                return py_literal{true};
            if (word == "False")
                return py_literal{false};
            if (word == "None")
                return py_literal{py_none{}};
            pos_ = start;
            fail("names are not allowed");
        }
        fail(std::string("unexpected character '") + c + "'");
    }

public:
    explicit literal_parser(std::string_view text)
        : text_(text)
    {
    }

    py_literal parse()
    {
        if (text_.size() > py_literal_max_size)
            throw std::invalid_argument("malformed numpy header: longer than " +
                                        std::to_string(py_literal_max_size) + " bytes");
        py_literal result = parse_value(0);
        skip_space();
        if (!at_end())
            fail("trailing characters");
        return result;
    }
};

/// Decodes the UTF-8 code point at @a pos (input already validated by the parser or caller).
std::uint32_t next_code_point(const std::string &s, std::size_t &pos)
{
    const auto c0 = static_cast<unsigned char>(s[pos]);
    std::size_t len = c0 < 0x80 ? 1 : c0 < 0xe0 ? 2 : c0 < 0xf0 ? 3 : 4;
    std::uint32_t cp = len == 1 ? c0 : len == 2 ? (c0 & 0x1f) : len == 3 ? (c0 & 0x0f) : (c0 & 0x07);
    if (pos + len > s.size())
        len = s.size() - pos;
    for (std::size_t i = 1; i < len; i++)
        cp = (cp << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3f);
    pos += len;
    return cp;
}

/**
 * Approximates Python's str.isprintable() for non-ASCII code points: the separators, format and
 * control characters and private-use areas that repr escapes. Unassigned code points are not
 * covered (Python escapes them too); numpy headers are ASCII in practice.
 */
bool is_printable_non_ascii(std::uint32_t cp)
{
    static constexpr std::uint32_t ranges[][2] = {
        {0x80, 0xa0},       {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},     {0x6dd, 0x6dd},
        {0x70f, 0x70f},     {0x8e2, 0x8e2},     {0x1680, 0x1680},   {0x180e, 0x180e},   {0x2000, 0x200f},
        {0x2028, 0x202f},   {0x205f, 0x2064},   {0x2066, 0x206f},   {0x3000, 0x3000},   {0xd800, 0xf8ff},
        {0xfdd0, 0xfdef},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0xfffe, 0xffff},   {0x110bd, 0x110bd},
        {0x110cd, 0x110cd}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
        {0xf0000, 0x10ffff}};
    for (const auto &r : ranges)
        if (cp >= r[0] && cp <= r[1])
            return false;
    return (cp & 0xfffe) != 0xfffe;
}

/// The quote Python's repr puts around @a s: ' unless @a s holds a ' and no ".
char repr_quote(const std::string &s)
{
    const bool has_single = s.find('\'') != std::string::npos;
    const bool has_double = s.find('"') != std::string::npos;
    return (has_single && !has_double) ? '"' : '\'';
}

/// Appends an ASCII character (@a c < 0x80) as Python's repr writes it inside @a quote quotes
/// (the same for str and bytes).
void repr_ascii(std::string &out, unsigned char c, char quote)
{
    if (c == static_cast<unsigned char>(quote) || c == '\\')
    {
        out += '\\';
        out += char(c);
    }
    else if (c == '\t')
        out += "\\t";
    else if (c == '\n')
        out += "\\n";
    else if (c == '\r')
        out += "\\r";
    else if (c < 0x20 || c == 0x7f)
    {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", unsigned(c));
        out += buf;
    }
    else
        out += char(c);
}

void repr_string(std::string &out, const std::string &s)
{
    const char quote = repr_quote(s);
    out += quote;
    std::size_t pos = 0;
    char buf[16];
    while (pos < s.size())
    {
        const std::size_t start = pos;
        const std::uint32_t cp = next_code_point(s, pos);
        if (cp < 0x80)
            repr_ascii(out, static_cast<unsigned char>(cp), quote);
        else if (is_printable_non_ascii(cp))
            out.append(s, start, pos - start);
        else
        {
            if (cp <= 0xff)
                std::snprintf(buf, sizeof(buf), "\\x%02x", unsigned(cp));
            else if (cp <= 0xffff)
                std::snprintf(buf, sizeof(buf), "\\u%04x", unsigned(cp));
            else
                std::snprintf(buf, sizeof(buf), "\\U%08x", unsigned(cp));
            out += buf;
        }
    }
    out += quote;
}

void repr_bytes(std::string &out, const std::string &s)
{
    const char quote = repr_quote(s);
    out += 'b';
    out += quote;
    char buf[8];
    for (const char c : s)
    {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80)
            repr_ascii(out, u, quote);
        else
        {
            std::snprintf(buf, sizeof(buf), "\\x%02x", unsigned(u));
            out += buf;
        }
    }
    out += quote;
}

void repr_into(std::string &out, const py_literal &value);

void repr_items(std::string &out, const std::vector<py_literal> &items)
{
    for (std::size_t i = 0; i < items.size(); i++)
    {
        if (i > 0)
            out += ", ";
        repr_into(out, items[i]);
    }
}

void repr_into(std::string &out, const py_literal &value)
{
    struct visitor
    {
        std::string &out;
        void operator()(const py_none &) const { out += "None"; }
        void operator()(bool b) const { out += b ? "True" : "False"; }
        void operator()(std::int64_t i) const { out += std::to_string(i); }
        void operator()(const std::string &s) const { repr_string(out, s); }
        void operator()(const py_bytes &b) const { repr_bytes(out, b.data); }
        void operator()(const py_list &l) const
        {
            out += '[';
            repr_items(out, l.items);
            out += ']';
        }
        void operator()(const py_tuple &t) const
        {
            out += '(';
            repr_items(out, t.items);
            if (t.items.size() == 1)
                out += ',';
            out += ')';
        }
        void operator()(const py_dict &d) const
        {
            out += '{';
            for (std::size_t i = 0; i < d.items.size(); i++)
            {
                if (i > 0)
                    out += ", ";
                repr_into(out, d.items[i].first);
                out += ": ";
                repr_into(out, d.items[i].second);
            }
            out += '}';
        }
    };
    std::visit(visitor{out}, value.value);
}

/// The value of a bool or int as Python sees it in arithmetic, if it is one.
bool as_integer(const py_literal &v, std::int64_t &out)
{
    if (const auto *b = std::get_if<bool>(&v.value))
    {
        out = *b ? 1 : 0;
        return true;
    }
    if (const auto *i = std::get_if<std::int64_t>(&v.value))
    {
        out = *i;
        return true;
    }
    return false;
}

/// A hash of a hashable literal consistent with python_equal (True and 1 hash alike).
std::size_t python_hash(const py_literal &v)
{
    std::int64_t i;
    if (as_integer(v, i))
        return std::hash<std::int64_t>{}(i);
    if (const auto *s = std::get_if<std::string>(&v.value))
        return std::hash<std::string_view>{}(*s);
    if (const auto *b = std::get_if<py_bytes>(&v.value))
        return std::hash<std::string_view>{}(b->data) * 31 + 1; // b'k' != 'k': keep them apart
    if (const auto *t = std::get_if<py_tuple>(&v.value))
    {
        std::size_t h = 0x345678;
        for (const auto &item : t->items)
            h = h * 1000003 ^ python_hash(item);
        return h;
    }
    return 0x9e3779b9; // None (lists and dicts are not keys)
}

} // namespace

bool python_equal(const py_literal &a, const py_literal &b)
{
    std::int64_t ia, ib;
    if (as_integer(a, ia) && as_integer(b, ib))
        return ia == ib;
    if (a.value.index() != b.value.index())
        return false;
    if (const auto *ta = std::get_if<py_tuple>(&a.value))
    {
        const auto &tb = std::get<py_tuple>(b.value);
        return ta->items.size() == tb.items.size() &&
               std::equal(ta->items.begin(), ta->items.end(), tb.items.begin(), python_equal);
    }
    if (const auto *la = std::get_if<py_list>(&a.value))
    {
        const auto &lb = std::get<py_list>(b.value);
        return la->items.size() == lb.items.size() &&
               std::equal(la->items.begin(), la->items.end(), lb.items.begin(), python_equal);
    }
    if (const auto *da = std::get_if<py_dict>(&a.value))
    {
        const auto &db = std::get<py_dict>(b.value);
        if (da->items.size() != db.items.size())
            return false;
        for (const auto &entry : da->items)
        {
            auto it = std::find_if(db.items.begin(), db.items.end(),
                                   [&](const auto &item) { return python_equal(item.first, entry.first); });
            if (it == db.items.end() || !python_equal(it->second, entry.second))
                return false;
        }
        return true;
    }
    return a == b;
}

py_literal parse_py_literal(std::string_view text)
{
    return literal_parser(text).parse();
}

std::string to_repr(const py_literal &value)
{
    std::string out;
    repr_into(out, value);
    return out;
}

numpy_header_info parse_numpy_header(std::string_view text)
{
    py_literal literal = parse_py_literal(text);
    auto *dict = std::get_if<py_dict>(&literal.value);
    if (!dict)
        throw std::invalid_argument("Descriptor is not a dictionary: " + to_repr(literal));

    const py_literal *descr = nullptr, *fortran_order = nullptr, *shape = nullptr;
    bool all_str = true;
    for (const auto &[key, value] : dict->items)
    {
        const auto *name = std::get_if<std::string>(&key.value);
        if (!name)
            all_str = false;
        else if (*name == "descr")
            descr = &value;
        else if (*name == "fortran_order")
            fortran_order = &value;
        else if (*name == "shape")
            shape = &value;
    }
    if (dict->items.size() != 3 || !descr || !fortran_order || !shape)
    {
        // Python prints sorted(keys); keys of mixed types cannot be sorted, so keep their order.
        py_list keys;
        for (const auto &item : dict->items)
            keys.items.push_back(item.first);
        if (all_str)
            std::sort(keys.items.begin(), keys.items.end(),
                      [](const py_literal &a, const py_literal &b)
                      { return std::get<std::string>(a.value) < std::get<std::string>(b.value); });
        throw std::invalid_argument("Descriptor does not contain the correct keys: " +
                                    to_repr(py_literal{std::move(keys)}));
    }

    numpy_header_info info;
    const auto *order = std::get_if<bool>(&fortran_order->value);
    if (!order)
        throw std::invalid_argument("fortran_order is not a valid bool: " + to_repr(*fortran_order));
    info.fortran_order = *order;

    const auto *dims = std::get_if<py_tuple>(&shape->value);
    bool shape_ok = dims != nullptr;
    if (dims)
        for (const auto &dim : dims->items)
        {
            std::int64_t size;
            if (!as_integer(dim, size) || size < 0)
            {
                shape_ok = false;
                break;
            }
            info.shape.push_back(size);
        }
    if (!shape_ok)
        throw std::invalid_argument("shape is not valid: " + to_repr(*shape));
    info.descr = *descr;
    return info;
}

} // namespace spead2
