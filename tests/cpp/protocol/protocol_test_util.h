// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Helpers for the protocol tests: hex conversion, golden files and log capture.
#ifndef SPEAD2_TESTS_PROTOCOL_TEST_UTIL_H
#define SPEAD2_TESTS_PROTOCOL_TEST_UTIL_H

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/logging.h>

namespace spead2::test
{

inline std::vector<std::uint8_t> from_hex(const std::string &hex)
{
    std::vector<std::uint8_t> out;
    std::string digits;
    for (char c : hex)
        if (c != ' ' && c != '|' && c != '\n')
            digits += c;
    if (digits.size() % 2)
        throw std::invalid_argument("odd hex string");
    for (std::size_t i = 0; i < digits.size(); i += 2)
        out.push_back(std::uint8_t(std::stoul(digits.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::string to_hex(const std::vector<std::uint8_t> &bytes)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes)
    {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

/// A golden file from tests/data/protocol: "key value" lines; keys may repeat (packet).
struct golden_file
{
    std::multimap<std::string, std::string> entries;

    explicit golden_file(const std::string &name)
    {
        const std::string path = std::string(SPEAD2_TEST_DATA_DIR) + "/protocol/" + name;
        std::ifstream in(path);
        if (!in)
            throw std::runtime_error("cannot open " + path);
        std::string line;
        while (std::getline(in, line))
        {
            if (line.empty() || line[0] == '#')
                continue;
            const auto space = line.find(' ');
            if (space == std::string::npos)
                entries.emplace(line, "");
            else
                entries.emplace(line.substr(0, space), line.substr(space + 1));
        }
    }

    std::string get(const std::string &key) const
    {
        auto it = entries.find(key);
        if (it == entries.end())
            throw std::runtime_error("missing key " + key);
        return it->second;
    }

    std::vector<std::string> get_all(const std::string &key) const
    {
        std::vector<std::string> out;
        auto [first, last] = entries.equal_range(key);
        for (auto it = first; it != last; ++it)
            out.push_back(it->second);
        return out;
    }
};

/// Captures log messages for the lifetime of the object (the sink is called synchronously).
class protocol_log
{
private:
    log_function_type old_;

public:
    std::vector<std::pair<log_level, std::string>> messages;

    protocol_log()
    {
        old_ = set_log_function([this](log_level level, const std::string &msg)
                                { messages.emplace_back(level, msg); });
    }
    ~protocol_log() { set_log_function(old_); }
    protocol_log(const protocol_log &) = delete;
    protocol_log &operator=(const protocol_log &) = delete;

    /// The concatenated messages, one per line, for assertions.
    std::string text() const
    {
        std::string out;
        for (const auto &m : messages)
            out += m.second + "\n";
        return out;
    }
};

} // namespace spead2::test

#endif // SPEAD2_TESTS_PROTOCOL_TEST_UTIL_H
