// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The protocol option group.
#include "protocol_options.h"

namespace spead2::tools
{

void protocol_options::add_options(CLI::App &app, const option_namer &names)
{
    if (auto n = names.flag("tcp"); !n.empty())
        app.add_flag(n, tcp, "Use TCP instead of UDP");
    if (auto n = names.flag("pyspead"); !n.empty())
        app.add_flag(n, pyspead, "Be bug-compatible with PySPEAD");
}

} // namespace spead2::tools
