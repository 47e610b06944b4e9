// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for memory_allocator and mmap_allocator.
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <spead2/common/memory_allocator.h>

namespace spead2
{

TEST(memory_allocator, allocate_write_free)
{
    auto alloc = std::make_shared<memory_allocator>();
    auto ptr = alloc->allocate(1000, nullptr);
    ASSERT_NE(ptr.get(), nullptr);
    std::memset(ptr.get(), 0xab, 1000);
    EXPECT_EQ(ptr.get_deleter().get_allocator(), alloc);
}

TEST(memory_allocator, pointer_takes_over_a_unique_ptr)
{
    // As spead2's chunk tutorial writes it: chunk->present = std::make_unique<std::uint8_t[]>(n).
    memory_allocator::pointer p = std::make_unique<std::uint8_t[]>(16);
    p[15] = 1;
    EXPECT_EQ(p.get_deleter().get_allocator(), nullptr); // freed with delete[] (ASan checks)
    p = std::make_unique<std::uint8_t[]>(4);
    EXPECT_EQ(p[0], 0);
}

TEST(memory_allocator, small_buffers_are_recycled)
{
    auto alloc = std::make_shared<memory_allocator>();
    auto first = alloc->allocate(1000, nullptr);
    std::uint8_t *const address = first.get();
    first.reset();
    // Same size class (1000 rounds up to 1024): the freed buffer comes back.
    auto again = alloc->allocate(1024, nullptr);
    EXPECT_EQ(again.get(), address);
    std::memset(again.get(), 0xcd, 1024); // the whole class size is usable (ASan checks)
    // A different class does not get it.
    auto other = alloc->allocate(2000, nullptr);
    EXPECT_NE(other.get(), address);
}

TEST(memory_allocator, recycling_is_bounded)
{
    auto alloc = std::make_shared<memory_allocator>();
    std::vector<memory_allocator::pointer> held;
    for (int i = 0; i < 20; i++)
        held.push_back(alloc->allocate(4096, nullptr));
    std::set<std::uint8_t *> addresses;
    for (auto &p : held)
        addresses.insert(p.get());
    held.clear(); // 20 frees: only 8 are kept, the rest go back to the C library
    EXPECT_EQ(alloc->get_cached_bytes(), 8u * 4096);
    int reused = 0;
    for (int i = 0; i < 20; i++)
    {
        held.push_back(alloc->allocate(4096, nullptr));
        reused += addresses.count(held.back().get()) && held.back().get_deleter().get_user() != nullptr;
    }
    EXPECT_GE(reused, 8);
}

TEST(memory_allocator, large_buffers_bypass_the_cache)
{
    auto alloc = std::make_shared<memory_allocator>();
    auto big = alloc->allocate(1 << 20, nullptr);
    EXPECT_EQ(big.get_deleter().get_user(), nullptr);
    std::memset(big.get(), 1, 1 << 20);
    big.reset();
    EXPECT_EQ(alloc->get_cached_bytes(), 0u);
}

TEST(memory_allocator, recycled_across_threads)
{
    // The worker allocates, the consumer frees: buffers cross threads both ways.
    auto alloc = std::make_shared<memory_allocator>();
    std::vector<memory_allocator::pointer> ring;
    std::mutex m;
    std::thread consumer(
        [&]
        {
            for (int i = 0; i < 20000;)
            {
                std::lock_guard<std::mutex> lock(m);
                if (!ring.empty())
                {
                    ring.pop_back();
                    i++;
                }
            }
        });
    for (int i = 0; i < 20000; i++)
    {
        auto p = alloc->allocate(std::size_t(64 + i % 3000), nullptr);
        std::memset(p.get(), i & 0xff, std::size_t(64 + i % 3000));
        std::lock_guard<std::mutex> lock(m);
        ring.push_back(std::move(p));
    }
    consumer.join();
}

TEST(memory_allocator, buffer_keeps_allocator_alive)
{
    auto alloc = std::make_shared<memory_allocator>();
    std::weak_ptr<memory_allocator> weak = alloc;
    {
        auto ptr = alloc->allocate(16, nullptr);
        alloc.reset();
        EXPECT_FALSE(weak.expired());
        // Note: ptr.reset() would free the memory but keep the deleter (and so the allocator).
    }
    EXPECT_TRUE(weak.expired());
}

TEST(memory_allocator, default_deleter_uses_delete)
{
    memory_allocator::pointer ptr(new std::uint8_t[4]);
    ptr.reset(); // no allocator: must not crash (ASan checks the new[]/delete[] pairing)
}

/// A custom allocator that records frees, as a user subclass would.
class counting_allocator : public memory_allocator
{
public:
    int allocs = 0;
    int frees = 0;
    std::vector<void *> users;

    pointer allocate(std::size_t size, void *hint) override
    {
        allocs++;
        return prepare_for_deallocate(new std::uint8_t[size], hint);
    }

private:
    void free(std::uint8_t *ptr, void *user) override
    {
        frees++;
        users.push_back(user);
        delete[] ptr;
    }
};

TEST(memory_allocator, subclass_free_receives_user)
{
    auto alloc = std::make_shared<counting_allocator>();
    int marker;
    {
        auto ptr = alloc->allocate(8, &marker);
        EXPECT_EQ(alloc->allocs, 1);
        EXPECT_EQ(alloc->frees, 0);
    }
    EXPECT_EQ(alloc->frees, 1);
    ASSERT_EQ(alloc->users.size(), 1u);
    EXPECT_EQ(alloc->users[0], &marker);
}

TEST(mmap_allocator, allocate_page_aligned_and_writable)
{
    auto alloc = std::make_shared<mmap_allocator>();
    for (std::size_t size : {std::size_t(0), std::size_t(1), std::size_t(4096), std::size_t(100000)})
    {
        auto ptr = alloc->allocate(size, nullptr);
        ASSERT_NE(ptr.get(), nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ptr.get()) % 4096, 0u);
        if (size)
        {
            std::memset(ptr.get(), 0x5a, size);
            EXPECT_EQ(ptr[size - 1], 0x5a);
        }
    }
}

TEST(mmap_allocator, prefer_huge_falls_back)
{
    // Works whether or not huge pages are configured (they usually are not in CI).
    auto alloc = std::make_shared<mmap_allocator>(0, true);
    auto ptr = alloc->allocate(3 * 1024 * 1024 + 5, nullptr);
    ASSERT_NE(ptr.get(), nullptr);
    std::memset(ptr.get(), 1, 3 * 1024 * 1024 + 5);
    EXPECT_GE(reinterpret_cast<std::uintptr_t>(ptr.get_deleter().get_user()), 3u * 1024 * 1024 + 5);
}

TEST(mmap_allocator, extra_flags_used)
{
    auto alloc = std::make_shared<mmap_allocator>(MAP_POPULATE);
    auto ptr = alloc->allocate(8192, nullptr);
    ASSERT_NE(ptr.get(), nullptr);
    ptr[8191] = 3;
}

TEST(mmap_allocator, bad_flags_throw_bad_alloc)
{
    // MAP_SHARED together with MAP_PRIVATE is invalid.
    auto alloc = std::make_shared<mmap_allocator>(MAP_SHARED | MAP_SHARED_VALIDATE);
    EXPECT_THROW(alloc->allocate(4096, nullptr), std::bad_alloc);
}

} // namespace spead2
