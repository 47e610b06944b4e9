// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Socket buffer sizes (see socket_buffer.h).
#include <spead2/common/logging.h>
#include "common/socket_buffer.h"
#include "os/udp_socket.h"

namespace spead2::detail
{

void request_socket_buffer_size(int fd, bool receive, std::size_t size)
{
    if (size == 0)
        return;
    const std::size_t actual = set_socket_buffer_size(fd, receive, size);
    if (actual < size)
        log_warning("requested socket buffer size %zu but only received %zu: refer to documentation for "
                    "details on increasing buffer size (try raising net.core.%s, now %zu)",
                    size, actual, receive ? "rmem_max" : "wmem_max", socket_buffer_max(receive));
}

} // namespace spead2::detail
