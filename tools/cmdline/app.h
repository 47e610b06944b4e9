// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Shared command-line plumbing for the tools: option naming and parsing with spead2's exit codes.
#ifndef SPEAD2_TOOLS_CMDLINE_APP_H
#define SPEAD2_TOOLS_CMDLINE_APP_H

#include <map>
#include <string>
#include <CLI/CLI.hpp>

namespace spead2::tools
{

/**
 * Maps an option group's canonical names (e.g. "bind") to the names a tool exposes. spead2_bench
 * renames receiver and sender options ("recv-bind", "send-bind") and suppresses others (mapped to
 * the empty string); the plain tools use the identity.
 */
class option_namer
{
private:
    std::map<std::string, std::string> renames_;

public:
    option_namer() = default;
    explicit option_namer(std::map<std::string, std::string> renames)
        : renames_(std::move(renames))
    {
    }

    /// The exposed name, or an empty string if the option is suppressed.
    std::string operator()(const std::string &name) const;
    /// The exposed name as a CLI11 long-option spec ("--name"), or empty if suppressed.
    std::string flag(const std::string &name) const;
};

/**
 * Sets up a CLI11 app like spead2's C++ tools: -h/--help prints usage, no unknown options, no
 * option-prefix guessing (CLI11 never guesses), default values shown in the usage.
 */
void setup_app(CLI::App &app);

/**
 * Parses argv. On -h prints usage to stdout and exits with 0; on a bad command line prints the
 * error and usage to stderr and exits with 2 (as spead2's tools do).
 */
void parse_or_exit(CLI::App &app, int argc, char **argv);

/// Prints @a message and the usage of @a app to stderr, then exits with 2.
[[noreturn]] void usage_error(const CLI::App &app, const std::string &message);

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_APP_H
