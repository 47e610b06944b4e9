// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The extension module spead2._spead2, with its recv and send submodules.

#include <nanobind/nanobind.h>
#include "bindings.h"

NB_MODULE(_spead2, m)
{
    // bind_common first: it creates the exception types and the log bridge the others rely on.
    spead2::python::bind_common(m);
    nanobind::module_ recv = m.def_submodule("recv");
    spead2::python::bind_recv(recv);
    nanobind::module_ send = m.def_submodule("send");
    spead2::python::bind_send(send);
}
