// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The protocol option group shared by every tool: --tcp and --pyspead.
#ifndef SPEAD2_TOOLS_CMDLINE_PROTOCOL_OPTIONS_H
#define SPEAD2_TOOLS_CMDLINE_PROTOCOL_OPTIONS_H

#include <string>
#include <spead2/protocol/constants.h>
#include "app.h"

namespace spead2::tools
{

/// Transport and flavour choices common to senders and receivers. Plain value type.
class protocol_options
{
public:
    bool tcp = false;
    bool pyspead = false;

    /// Adds --tcp and --pyspead (as renamed or suppressed by @a names).
    void add_options(CLI::App &app, const option_namer &names = option_namer());

    /// Bug-compatibility mask implied by --pyspead.
    bug_compat_mask get_bug_compat() const { return pyspead ? BUG_COMPAT_PYSPEAD_0_5_2 : 0; }

    /// Checks a kernel-bypass choice (--ibv, --xdp) against the transport, the interface address
    /// (@a bind) and this build; throws std::invalid_argument naming the clash.
    void check_kernel_bypass(bool ibv, bool xdp, const std::string &bind) const;
};

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_PROTOCOL_OPTIONS_H
