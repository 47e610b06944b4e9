// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// CUDA chunk memory: clear errors where CUDA cannot be used, and (on a machine with a GPU) chunks
/// received into device memory through cuda_copy_engine, read back exactly. The staging and
/// event logic is tested without a GPU in chunk_copy_engine_test.cpp.
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/cuda.h>
#include <spead2/common/thread_pool.h>
#include <spead2/features.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/cuda_copy_engine.h>
#include <spead2/recv/mem_to_stream.h>
#include "common/cuda_runtime.h"
#include "recv/chunk_test_util.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

/// Skips the test, saying why, unless a GPU can be used.
#define SPEAD2_REQUIRE_GPU()                                                                                 \
    do                                                                                                       \
    {                                                                                                        \
        std::string reason;                                                                                  \
        if (!cuda_available(&reason))                                                                        \
            GTEST_SKIP() << "no GPU: " << reason;                                                            \
    } while (false)

TEST(cuda, unavailable_is_explained)
{
    std::string reason;
    if (cuda_available(&reason))
        GTEST_SKIP() << "a GPU is present";
    std::printf("CUDA unavailable here: %s\n", reason.c_str());
    EXPECT_FALSE(reason.empty());
    try
    {
        cuda_copy_engine_factory(0);
        FAIL() << "no exception";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_EQ(std::string(e.what()), reason);
    }
#if !SPEAD2_USE_CUDA
    EXPECT_EQ(reason, "spead2 was built without CUDA support");
    EXPECT_THROW(cuda_pinned_allocator(), std::runtime_error);
    EXPECT_THROW(cuda_device_allocator(0), std::runtime_error);
#endif
}

TEST(cuda, pinned_memory_round_trip)
{
    SPEAD2_REQUIRE_GPU();
    auto alloc = std::make_shared<cuda_pinned_allocator>();
    auto p = alloc->allocate(1 << 20, nullptr);
    std::memset(p.get(), 0x5a, 1 << 20);
    EXPECT_EQ(p[(1 << 20) - 1], 0x5a);
}

TEST(cuda, chunks_received_into_device_memory)
{
    SPEAD2_REQUIRE_GPU();
#if SPEAD2_USE_CUDA
    constexpr std::size_t heap_size = 4096, heaps = 64, chunks = 5;
    const spead2::detail::cuda_runtime &rt = spead2::detail::get_cuda_runtime();
    auto device = std::make_shared<cuda_device_allocator>(0);
    std::vector<std::unique_ptr<chunk>> ready;
    chunk_stream_config chunk_config;
    chunk_config.set_items({chunk_item, index_item, HEAP_LENGTH_ID})
        .set_place(place_by_items)
        .set_max_chunks(2)
        .set_copy_engine(cuda_copy_engine_factory(0))
        .set_allocate(
            [&](std::int64_t, std::uint64_t *)
            {
                auto c = std::make_unique<chunk>();
                c->present = memory_allocator::pointer(new std::uint8_t[heaps](), {});
                c->present_size = heaps;
                c->data = device->allocate(heap_size * heaps, nullptr);
                c->data_size = heap_size * heaps;
                c->data_on_device = true;
                return c;
            })
        .set_ready([&](std::unique_ptr<chunk> &&c, std::uint64_t *) { ready.push_back(std::move(c)); });
    bytes buf;
    for (std::size_t c = 0; c < chunks; c++)
        for (std::size_t i = 0; i < heaps; i++)
            buf = concat({buf, heap_packets(s_item_pointer_t(1 + c * heaps + i), s_item_pointer_t(c),
                                            s_item_pointer_t(i), int(heap_size), 4)});
    {
        thread_pool pool;
        chunk_stream s(pool, stream_config().set_max_heaps(4), chunk_config);
        mem_to_stream(s, buf.data(), buf.size());
        s.stop();
    }
    ASSERT_EQ(ready.size(), chunks);
    std::vector<std::uint8_t> host(heap_size * heaps);
    for (std::size_t c = 0; c < chunks; c++)
    {
        // The ready callback ran after the copies completed: a plain copy back sees them.
        rt.check(rt.Memcpy(host.data(), ready[c]->data.get(), host.size(), cudaMemcpyDeviceToHost),
                 "cudaMemcpy");
        for (std::size_t i = 0; i < heaps; i++)
        {
            EXPECT_EQ(ready[c]->present[i], 1);
            EXPECT_EQ(host[i * heap_size], std::uint8_t(1 + c * heaps + i)) << c << " " << i;
            EXPECT_EQ(host[i * heap_size + heap_size - 1], std::uint8_t(1 + c * heaps + i)) << c << " " << i;
        }
    }
#endif
}

} // namespace
} // namespace spead2::recv::test
