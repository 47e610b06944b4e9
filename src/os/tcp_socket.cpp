// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Socket-descriptor syscalls used by the TCP transports.
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "os/tcp_socket.h"

namespace spead2::detail::tcp
{

int dup_socket(int fd, const char *what)
{
    if (fd < 0)
        throw std::invalid_argument(std::string(what) + ": invalid socket descriptor " + std::to_string(fd));
    const int out = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (out < 0)
        throw std::system_error(errno, std::system_category(),
                                std::string(what) + ": cannot duplicate socket");
    return out;
}

int socket_family(int fd)
{
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        throw std::system_error(errno, std::system_category(), "getsockname");
    return addr.ss_family;
}

} // namespace spead2::detail::tcp
