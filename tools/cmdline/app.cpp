// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Shared command-line plumbing for the tools.
#include <cstdlib>
#include <iostream>
#include "app.h"

namespace spead2::tools
{

std::string option_namer::operator()(const std::string &name) const
{
    auto it = renames_.find(name);
    return it == renames_.end() ? name : it->second;
}

std::string option_namer::flag(const std::string &name) const
{
    std::string n = (*this)(name);
    return n.empty() ? n : "--" + n;
}

void setup_app(CLI::App &app)
{
    app.allow_extras(false);
    app.option_defaults()->always_capture_default();
}

void parse_or_exit(CLI::App &app, int argc, char **argv)
{
    try
    {
        app.parse(argc, argv);
    }
    catch (const CLI::CallForHelp &)
    {
        std::cout << app.help();
        std::exit(0);
    }
    catch (const CLI::CallForAllHelp &)
    {
        std::cout << app.help("", CLI::AppFormatMode::All);
        std::exit(0);
    }
    catch (const CLI::ParseError &e)
    {
        usage_error(app, e.what());
    }
}

void usage_error(const CLI::App &app, const std::string &message)
{
    std::cerr << app.get_name() << ": " << message << "\n\n" << app.help();
    std::exit(2);
}

} // namespace spead2::tools
