// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The protocol option group.
#include <stdexcept>
#include <spead2/features.h>
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

void protocol_options::check_kernel_bypass(bool ibv, bool xdp, const std::string &bind) const
{
    auto check = [&](const std::string &option, const char *other, bool built, const char *support)
    {
        if (tcp)
            throw std::invalid_argument(option + " and --tcp are incompatible");
        if (other)
            throw std::invalid_argument(option + " and " + other + " are incompatible");
        if (bind.empty())
            throw std::invalid_argument(option + " requires --bind");
        if (!built)
            throw std::invalid_argument(option + ": this build of spead2 has no " + support + " support");
    };
    if (ibv)
        check("--ibv", xdp ? "--xdp" : nullptr, SPEAD2_USE_IBV, "ibverbs");
    if (xdp)
        check("--xdp", nullptr, SPEAD2_USE_XDP, "AF_XDP");
}

} // namespace spead2::tools
