// SPDX-License-Identifier: LGPL-3.0-or-later
#include <spead2/common/udp_xdp_config_base.h>
#include "os/udp_resolve.h"

namespace spead2::detail
{

void check_ipv4_address(const std::string &address, const char *what)
{
    resolve_ipv4(address, what);
}

} // namespace spead2::detail
