// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: the AF_XDP bindings (only with SPEAD2_USE_XDP): the mode enums in
/// spead2, UdpXdpConfig in spead2.recv and spead2.send.
#ifndef SPEAD2_PYTHON_XDP_BINDINGS_H
#define SPEAD2_PYTHON_XDP_BINDINGS_H

#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <nanobind/nanobind.h>

namespace spead2::python
{

/// spead2.XdpAttachMode and spead2.XdpCopyMode.
void bind_xdp_modes(nanobind::module_ &m);
/// spead2.recv.UdpXdpConfig.
void bind_recv_xdp_config(nanobind::module_ &m);
/// spead2.send.UdpXdpConfig.
void bind_send_xdp_config(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_USE_XDP
#endif // SPEAD2_PYTHON_XDP_BINDINGS_H
