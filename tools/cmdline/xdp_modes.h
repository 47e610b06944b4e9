// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The AF_XDP mode options (--xdp-attach, --xdp-copy) shared by every tool: their values on the
/// command line and the modes they name.
#ifndef SPEAD2_TOOLS_CMDLINE_XDP_MODES_H
#define SPEAD2_TOOLS_CMDLINE_XDP_MODES_H

#include <map>
#include <string>
#include <spead2/common/xdp_mode.h>
#include "app.h"

namespace spead2::tools
{

inline const std::map<std::string, xdp_attach_mode> xdp_attach_names{{"auto", xdp_attach_mode::automatic},
                                                                     {"native", xdp_attach_mode::native},
                                                                     {"generic", xdp_attach_mode::generic}};

inline const std::map<std::string, xdp_copy_mode> xdp_copy_names{{"auto", xdp_copy_mode::automatic},
                                                                 {"zero-copy", xdp_copy_mode::zero_copy},
                                                                 {"copy", xdp_copy_mode::copy}};

/// Restricts @a opt (if registered) to the names in @a names.
template<typename Mode>
void check_xdp_mode(CLI::Option *opt, const std::map<std::string, Mode> &names)
{
    if (opt)
        opt->check(CLI::IsMember(names));
}

/// The mode a checked option value names.
template<typename Mode>
Mode xdp_mode(const std::map<std::string, Mode> &names, const std::string &value)
{
    return names.at(value);
}

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_XDP_MODES_H
