// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A whole file mapped read-only (see mapped_file.h).
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "os/mapped_file.h"

namespace spead2::detail
{

mapped_file::mapped_file(const std::string &filename)
{
    const int fd = ::open(filename.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(filename + ": " + std::strerror(errno));
    struct stat info;
    if (::fstat(fd, &info) != 0)
    {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error(filename + ": " + std::strerror(err));
    }
    if (!S_ISREG(info.st_mode))
    {
        ::close(fd);
        throw std::runtime_error(filename + ": not a regular file");
    }
    size_ = std::size_t(info.st_size);
    if (size_ > 0)
    {
        void *ptr = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (ptr == MAP_FAILED)
        {
            const int err = errno;
            ::close(fd);
            throw std::runtime_error(filename + ": " + std::strerror(err));
        }
        data_ = static_cast<const std::uint8_t *>(ptr);
        // Read-ahead for a single pass; failure only costs speed.
        ::madvise(ptr, size_, MADV_SEQUENTIAL);
    }
    ::close(fd); // the mapping keeps the file open
}

mapped_file::~mapped_file()
{
    if (data_)
        ::munmap(const_cast<std::uint8_t *>(data_), size_);
}

void mapped_file::done_before(std::size_t offset) noexcept
{
    const std::size_t page = std::size_t(::sysconf(_SC_PAGESIZE));
    const std::size_t end = offset / page * page;
    if (data_ && end > released_)
    {
        ::madvise(const_cast<std::uint8_t *>(data_ + released_), end - released_, MADV_DONTNEED);
        released_ = end;
    }
}

} // namespace spead2::detail
