// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The plain and mmap allocators.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <spead2/common/logging.h>
#include <spead2/common/memory_allocator.h>

namespace spead2
{

void memory_allocator::deleter::operator()(std::uint8_t *ptr) const
{
    if (allocator_)
        allocator_->free(ptr, user_);
    else
        delete[] ptr;
}

memory_allocator::pointer memory_allocator::allocate(std::size_t size, void *)
{
    return prepare_for_deallocate(new std::uint8_t[size]);
}

memory_allocator::pointer memory_allocator::prepare_for_deallocate(std::uint8_t *ptr, void *user)
{
    // Throws std::bad_weak_ptr if the allocator is not owned by a shared_ptr (a documented misuse).
    return pointer(ptr, deleter(shared_from_this(), user));
}

void memory_allocator::free(std::uint8_t *ptr, void *)
{
    delete[] ptr;
}

namespace
{

std::size_t huge_page_size()
{
    static const std::size_t size = []() -> std::size_t
    {
        std::size_t result = 2 * 1024 * 1024;
        if (std::FILE *f = std::fopen("/proc/meminfo", "r"))
        {
            char line[256];
            while (std::fgets(line, sizeof(line), f))
            {
                unsigned long kib;
                if (std::sscanf(line, "Hugepagesize: %lu kB", &kib) == 1)
                {
                    result = std::size_t(kib) * 1024;
                    break;
                }
            }
            std::fclose(f);
        }
        return result;
    }();
    return size;
}

} // namespace

mmap_allocator::mmap_allocator(int flags, bool prefer_huge)
    : flags_(flags)
    , prefer_huge_(prefer_huge)
{
}

memory_allocator::pointer mmap_allocator::allocate(std::size_t size, void *)
{
    // mmap rejects length 0; the length is kept in the deleter's user slot for munmap.
    std::size_t length = size ? size : 1;
    void *ptr = MAP_FAILED;
#ifdef MAP_HUGETLB
    if (prefer_huge_)
    {
        std::size_t huge = huge_page_size();
        std::size_t huge_length = (length + huge - 1) / huge * huge;
        ptr = mmap(nullptr, huge_length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flags_, -1, 0);
        if (ptr != MAP_FAILED)
            length = huge_length;
        else
            log_debug("mmap_allocator: huge pages unavailable (%s), using normal pages",
                      std::strerror(errno));
    }
#endif
    if (ptr == MAP_FAILED)
        ptr = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags_, -1, 0);
    if (ptr == MAP_FAILED)
        throw std::bad_alloc();
    return prepare_for_deallocate(static_cast<std::uint8_t *>(ptr),
                                  reinterpret_cast<void *>(std::uintptr_t(length)));
}

void mmap_allocator::free(std::uint8_t *ptr, void *user)
{
    std::size_t length = reinterpret_cast<std::uintptr_t>(user);
    if (munmap(ptr, length) != 0)
        log_warning("munmap failed: %s", std::strerror(errno));
}

} // namespace spead2
