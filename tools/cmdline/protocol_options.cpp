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
    if (ibv)
    {
        if (tcp)
            throw std::invalid_argument("--ibv and --tcp are incompatible");
        if (xdp)
            throw std::invalid_argument("--ibv and --xdp are incompatible");
        if (bind.empty())
            throw std::invalid_argument("--ibv requires --bind");
        if (!SPEAD2_USE_IBV)
            throw std::invalid_argument("--ibv: this build of spead2 has no ibverbs support");
    }
    if (xdp)
    {
        if (tcp)
            throw std::invalid_argument("--xdp and --tcp are incompatible");
        if (bind.empty())
            throw std::invalid_argument("--xdp requires --bind");
        if (!SPEAD2_USE_XDP)
            throw std::invalid_argument("--xdp: this build of spead2 has no AF_XDP support");
    }
}

} // namespace spead2::tools
