// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private wrappers for the file-descriptor syscalls used by semaphores and queues.
#ifndef SPEAD2_OS_FD_H
#define SPEAD2_OS_FD_H

#include <cstddef>

namespace spead2::detail
{

/// Creates a close-on-exec pipe with both ends non-blocking. @throws std::system_error
void make_pipe(int &read_fd, int &write_fd);

/// Doubles the capacity of the pipe whose end is @a fd. @returns false if the kernel refuses.
bool grow_pipe(int fd) noexcept;

/// Creates a close-on-exec, non-blocking eventfd. @throws std::system_error (or if eventfd is unsupported)
int make_eventfd(unsigned int initial, bool semaphore_mode);

/// Closes @a fd if it is not negative, ignoring errors (EINTR still releases the descriptor on Linux).
void close_fd(int fd) noexcept;

/**
 * Waits until @a fd is readable. @returns 0, or -1 with errno EINTR if a signal interrupted it.
 * @throws std::system_error for any other failure
 */
int wait_readable(int fd);

/// Whether @a fd is readable right now (poll with zero timeout). @throws std::system_error
bool is_readable(int fd);

/// Writes all of @a size bytes, retrying on EINTR. @throws std::system_error
void write_all(int fd, const void *data, std::size_t size, const char *what);

/// Pins the calling thread to @a core. @returns 0 or an errno value.
int set_thread_affinity(int core) noexcept;

} // namespace spead2::detail

#endif // SPEAD2_OS_FD_H
