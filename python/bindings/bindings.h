// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: one bind_<layer> function per binding file, (the GIL guards are in gil.h).
#ifndef SPEAD2_PYTHON_BINDINGS_H
#define SPEAD2_PYTHON_BINDINGS_H

#include <nanobind/nanobind.h>

namespace spead2::python
{

/// spead2._spead2: constants, Flavour, exceptions, thread pool, allocators, InprocQueue, logging.
void bind_common(nanobind::module_ &m);
/// spead2._spead2.recv (python/bindings/recv.cpp).
void bind_recv(nanobind::module_ &m);
/// spead2._spead2.send (python/bindings/send.cpp).
void bind_send(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_BINDINGS_H
