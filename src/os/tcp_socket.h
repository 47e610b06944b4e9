// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private socket-descriptor helpers for the TCP reader and stream (the OS seam).
#ifndef SPEAD2_OS_TCP_SOCKET_H
#define SPEAD2_OS_TCP_SOCKET_H

namespace spead2::detail::tcp
{

/**
 * Duplicates a user's socket descriptor (close-on-exec), so that the caller may close theirs.
 * @throws std::invalid_argument if @a fd is negative
 * @throws std::system_error if the kernel refuses (EBADF for a closed descriptor)
 */
int dup_socket(int fd, const char *what);

/// The address family (AF_INET / AF_INET6) a socket is bound to. @throws std::system_error
int socket_family(int fd);

} // namespace spead2::detail::tcp

#endif // SPEAD2_OS_TCP_SOCKET_H
