// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Asking the kernel for a socket buffer size, and saying so when it grants less.
#ifndef SPEAD2_COMMON_SOCKET_BUFFER_H
#define SPEAD2_COMMON_SOCKET_BUFFER_H

#include <cstddef>

namespace spead2::detail
{

/**
 * Sets SO_RCVBUF (@a receive) or SO_SNDBUF of @a fd to @a size (nothing if 0). If the kernel
 * grants less, logs spead2's warning "requested socket buffer size N but only received M: refer
 * to documentation for details on increasing buffer size", with the sysctl to raise.
 * @throws std::system_error if the option cannot be set or read
 */
void request_socket_buffer_size(int fd, bool receive, std::size_t size);

} // namespace spead2::detail

#endif // SPEAD2_COMMON_SOCKET_BUFFER_H
