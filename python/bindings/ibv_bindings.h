// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2.recv.UdpIbvConfig and spead2.send.UdpIbvConfig (API.md §2.1, §3.1).
#ifndef SPEAD2_PYTHON_IBV_BINDINGS_H
#define SPEAD2_PYTHON_IBV_BINDINGS_H

#include <nanobind/nanobind.h>
#include <spead2/send/udp_ibv_stream.h>

namespace spead2::python
{

/// spead2.send.UdpIbvConfig: keeps the Python objects given as memory_regions (the getter returns them).
class py_send_ibv_config : public send::udp_ibv_config
{
public:
    nanobind::list regions;
};

/// spead2._spead2.recv.UdpIbvConfig.
void bind_recv_ibv_config(nanobind::module_ &m);
/// spead2._spead2.send.UdpIbvConfig.
void bind_send_ibv_config(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_IBV_BINDINGS_H
