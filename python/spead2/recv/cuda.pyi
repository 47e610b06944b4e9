# SPDX-License-Identifier: LGPL-3.0-or-later
# spead2.recv.cuda is the extension's submodule (registered by spead2/recv/__init__.py); its
# generated stub is spead2/_spead2/recv/cuda.pyi.
from spead2._spead2.recv.cuda import (
    CopyEngine as CopyEngine,
    DeviceBuffer as DeviceBuffer,
    is_available as is_available,
    pinned_buffer as pinned_buffer,
    unavailable_reason as unavailable_reason,
)
