// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the recv layer (spead2._spead2.recv).

#include "bindings.h"

namespace spead2::python
{

void bind_recv(nanobind::module_ &)
{
    // filled by the recv/send bindings work
}

} // namespace spead2::python
