// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// How AF_XDP transports attach to an interface and move frames: shared by the receive and send
/// configurations.
#ifndef SPEAD2_COMMON_XDP_MODE_H
#define SPEAD2_COMMON_XDP_MODE_H

namespace spead2
{

/// Where the XDP program runs.
enum class xdp_attach_mode
{
    automatic, ///< native where the driver has it, generic otherwise
    native,    ///< in the driver (XDP_FLAGS_DRV_MODE)
    generic,   ///< on socket buffers, any driver (XDP_FLAGS_SKB_MODE)
};

/// How frames move between the NIC and the AF_XDP socket's memory.
enum class xdp_copy_mode
{
    automatic, ///< zero-copy where the driver has it, copy otherwise
    zero_copy, ///< the NIC reads and writes the socket's memory (XDP_ZEROCOPY)
    copy,      ///< the kernel copies (XDP_COPY)
};

} // namespace spead2

#endif // SPEAD2_COMMON_XDP_MODE_H
