// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The plain and mmap allocators.
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <spead2/common/checked_mutex.h>
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

/**
 * A bounded stack of free buffers per size class: classes step by a quarter of a power of two
 * (at most 25% rounding) from 64 bytes to 64 KiB, at most 8 buffers each (under 3 MiB in all).
 * Larger buffers are left to the C library: recycling them measured no faster (1 MiB heaps).
 */
class memory_allocator::buffer_cache
{
private:
    static constexpr std::size_t min_size = 64, max_size = 64 * 1024, per_class = 8;
    static constexpr int classes = 4 * (16 - 6) + 1; // 64 B, 80 B, ..., 64 KiB

    struct bin
    {
        detail::checked_mutex mutex;
        std::size_t n = 0;
        std::uint8_t *buffers[per_class];
    };
    bin bins_[classes];
    std::atomic<std::size_t> cached_bytes_{0};

    static std::size_t class_bytes(int c)
    {
        if (c == 0)
            return min_size;
        const int octave = (c - 1) / 4 + 6, quarter = (c - 1) % 4 + 1;
        const std::size_t base = std::size_t(1) << octave;
        return base + std::size_t(quarter) * (base / 4);
    }

public:
    ~buffer_cache()
    {
        for (bin &b : bins_)
            for (std::size_t i = 0; i < b.n; i++)
                delete[] b.buffers[i];
    }

    /// The class of @a size (-1 if too large to cache) and its buffer size.
    static int size_class(std::size_t size, std::size_t &class_size)
    {
        if (size > max_size)
            return -1;
        if (size <= min_size)
        {
            class_size = min_size;
            return 0;
        }
        const int octave = std::bit_width(size - 1) - 1; // 2^octave < size <= 2^(octave + 1)
        const std::size_t base = std::size_t(1) << octave, step = base / 4;
        const std::size_t quarter = (size - base + step - 1) / step; // 1..4
        class_size = base + quarter * step;
        return 4 * (octave - 6) + int(quarter);
    }

    std::size_t cached_bytes() const { return cached_bytes_.load(std::memory_order_relaxed); }

    std::uint8_t *take(int c)
    {
        bin &b = bins_[c];
        std::lock_guard<detail::checked_mutex> lock(b.mutex);
        if (b.n == 0)
            return nullptr;
        cached_bytes_.fetch_sub(class_bytes(c), std::memory_order_relaxed);
        return b.buffers[--b.n];
    }

    /// Keeps @a ptr if there is room; returns whether it did.
    bool give(int c, std::uint8_t *ptr)
    {
        bin &b = bins_[c];
        std::lock_guard<detail::checked_mutex> lock(b.mutex);
        if (b.n == per_class)
            return false;
        b.buffers[b.n++] = ptr;
        cached_bytes_.fetch_add(class_bytes(c), std::memory_order_relaxed);
        return true;
    }
};

memory_allocator::memory_allocator()
    : cache_(std::make_unique<buffer_cache>())
{
}

memory_allocator::~memory_allocator() = default;

std::size_t memory_allocator::get_cached_bytes() const
{
    return cache_->cached_bytes();
}

memory_allocator::pointer memory_allocator::allocate(std::size_t size, void *)
{
    std::size_t class_size = size;
    const int c = buffer_cache::size_class(size, class_size);
    if (c < 0)
        return prepare_for_deallocate(new std::uint8_t[size]);
    std::uint8_t *ptr = cache_->take(c);
    if (!ptr)
        ptr = new std::uint8_t[class_size];
    // The class travels in the deleter's user slot (offset by one: null means "not cached").
    return prepare_for_deallocate(ptr, reinterpret_cast<void *>(std::uintptr_t(c) + 1));
}

memory_allocator::pointer memory_allocator::prepare_for_deallocate(std::uint8_t *ptr, void *user)
{
    // Throws std::bad_weak_ptr if the allocator is not owned by a shared_ptr (a documented misuse).
    return pointer(ptr, deleter(shared_from_this(), user));
}

void memory_allocator::free(std::uint8_t *ptr, void *user)
{
    const auto c = reinterpret_cast<std::uintptr_t>(user);
    if (c == 0 || !cache_->give(int(c - 1), ptr))
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
