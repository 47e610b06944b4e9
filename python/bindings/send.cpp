// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the send layer (spead2._spead2.send).

#include "bindings.h"

namespace spead2::python
{

void bind_send(nanobind::module_ &)
{
    // filled by the recv/send bindings work
}

} // namespace spead2::python
