// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Allocators for heap payload memory. Subclass memory_allocator to place payloads elsewhere.
#ifndef SPEAD2_COMMON_MEMORY_ALLOCATOR_H
#define SPEAD2_COMMON_MEMORY_ALLOCATOR_H

#include <cstddef>
#include <cstdint>
#include <memory>

namespace spead2
{

/**
 * Allocates heap payload buffers. Thread-safe: streams call it from worker threads. Buffers
 * keep their allocator alive through the deleter, so an allocator may be dropped while
 * allocations are outstanding. Always hold it in a std::shared_ptr.
 */
class memory_allocator : public std::enable_shared_from_this<memory_allocator>
{
private:
    class buffer_cache;
    /// Buffers of up to 64 KiB that the default allocate/free recycle (a few per size class).
    std::unique_ptr<buffer_cache> cache_;

public:
    /// Returns a buffer to the allocator that made it (calls memory_allocator::free).
    class deleter
    {
    private:
        std::shared_ptr<memory_allocator> allocator_;
        void *user_ = nullptr;

    public:
        deleter() = default;
        /// Frees with delete[], as std::default_delete does: a pointer takes over a
        /// std::unique_ptr<std::uint8_t[]>.
        deleter(std::default_delete<std::uint8_t[]>) {}
        deleter(std::shared_ptr<memory_allocator> allocator, void *user = nullptr)
            : allocator_(std::move(allocator))
            , user_(user)
        {
        }
        void operator()(std::uint8_t *ptr) const;
        const std::shared_ptr<memory_allocator> &get_allocator() const { return allocator_; }
        void *get_user() const { return user_; }
    };

    typedef std::unique_ptr<std::uint8_t[], deleter> pointer;

    memory_allocator();
    virtual ~memory_allocator();
    memory_allocator(const memory_allocator &) = delete;
    memory_allocator &operator=(const memory_allocator &) = delete;

    /**
     * Allocates @a size bytes. @a hint points to the header of the first packet of the heap
     * (or is null); subclasses may use it to choose where to put the heap. The default uses
     * new[], and keeps freed buffers of up to 64 KiB for reuse (at most 8 per size class,
     * rounding sizes up by at most 25%): heaps are usually freed by the consumer's thread and
     * allocated by the worker's, and through the C library each such free takes the worker's
     * arena lock.
     * @throws std::bad_alloc
     */
    virtual pointer allocate(std::size_t size, void *hint);

    /// Bytes of freed buffers the default allocator holds for reuse (a snapshot).
    std::size_t get_cached_bytes() const;

protected:
    /// Wraps @a ptr in a pointer whose deleter will call free(ptr, user) on this allocator.
    pointer prepare_for_deallocate(std::uint8_t *ptr, void *user = nullptr);

private:
    /// Releases memory returned by allocate(); @a user is what prepare_for_deallocate stored.
    virtual void free(std::uint8_t *ptr, void *user);
};

/**
 * Allocates with mmap (anonymous, private, plus @a flags). With @a prefer_huge it first tries
 * huge pages and falls back to normal pages.
 */
class mmap_allocator : public memory_allocator
{
private:
    int flags_;
    bool prefer_huge_;

public:
    explicit mmap_allocator(int flags = 0, bool prefer_huge = false);
    pointer allocate(std::size_t size, void *hint) override;

private:
    void free(std::uint8_t *ptr, void *user) override;
};

} // namespace spead2

#endif // SPEAD2_COMMON_MEMORY_ALLOCATOR_H
