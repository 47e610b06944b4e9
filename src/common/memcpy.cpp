// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Non-temporal memcpy with run-time choice of instruction set.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <spead2/common/memcpy.h>
#include "common/memcpy_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SPEAD2_MEMCPY_X86 1
#else
#define SPEAD2_MEMCPY_X86 0
#endif

namespace spead2
{

namespace
{

/*
 * Streaming stores only pay off for copies larger than a few cache lines; below this, and for
 * the unaligned head and tail of a large copy, plain memcpy is used.
 */
constexpr std::size_t small_copy = 256;

/*
 * The source is read this far ahead with software prefetches, into L2 rather than L1 (measured
 * faster). Hardware prefetchers stop at page boundaries, and the typical source (a buffer of
 * packets) continues with the next packets' data, so reading a few pages ahead keeps the copy
 * streaming (measured on 8 KiB packet payloads: 4 to 16 KiB ahead into L2 all beat no prefetch by
 * 5-10%; L1 was slower).
 */
constexpr std::size_t prefetch_distance = 8192;

/// Prefetches the line @a distance + @a offset bytes past @a p (which may lie past the buffer:
/// prefetches never fault, and integer arithmetic avoids forming an out-of-range pointer), into
/// L2, to be read or (@a Write) written.
template<bool Write = false>
inline void prefetch_ahead(const void *p, std::size_t offset,
                           std::size_t distance = prefetch_distance) noexcept
{
    const auto address =
        reinterpret_cast<const void *>(reinterpret_cast<std::uintptr_t>(p) + distance + offset);
    // Low temporal locality: prefetcht2. The write hint becomes prefetchw only where the target
    // has PREFETCHW; the AVX2 copies are not built for it, so theirs stays prefetcht2.
    __builtin_prefetch(address, Write ? 1 : 0, 1);
}

#if SPEAD2_MEMCPY_X86

template<bool Fence>
void *memcpy_sse2(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept
{
    if (n < small_copy)
        return std::memcpy(dest, src, n);
    auto *d = static_cast<std::uint8_t *>(dest);
    auto *s = static_cast<const std::uint8_t *>(src);
    std::size_t head = -reinterpret_cast<std::uintptr_t>(d) & 15;
    std::memcpy(d, s, head);
    d += head;
    s += head;
    n -= head;
    for (; n >= 64; n -= 64, d += 64, s += 64)
    {
        prefetch_ahead(s, 0);
        __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s));
        __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + 16));
        __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + 32));
        __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + 48));
        _mm_stream_si128(reinterpret_cast<__m128i *>(d), a);
        _mm_stream_si128(reinterpret_cast<__m128i *>(d + 16), b);
        _mm_stream_si128(reinterpret_cast<__m128i *>(d + 32), c);
        _mm_stream_si128(reinterpret_cast<__m128i *>(d + 48), e);
    }
    for (; n >= 16; n -= 16, d += 16, s += 16)
        _mm_stream_si128(reinterpret_cast<__m128i *>(d),
                         _mm_loadu_si128(reinterpret_cast<const __m128i *>(s)));
    // Streaming stores are weakly ordered: fence so the copy is visible before we return.
    if constexpr (Fence)
        _mm_sfence();
    std::memcpy(d, s, n);
    return dest;
}

/// One round of the AVX2 copies: four 32-byte loads, then four stores, streaming (@a Stream:
/// @a d 32-byte aligned) or ordinary (unaligned).
template<bool Stream>
__attribute__((target("avx2"))) inline void copy_128_avx2(std::uint8_t *d, const std::uint8_t *s) noexcept
{
    __m256i v[4];
    for (int i = 0; i < 4; i++)
        v[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(s + 32 * i));
    for (int i = 0; i < 4; i++)
    {
        if constexpr (Stream)
            _mm256_stream_si256(reinterpret_cast<__m256i *>(d + 32 * i), v[i]);
        else
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(d + 32 * i), v[i]);
    }
}

template<bool Fence>
__attribute__((target("avx2"))) void *memcpy_avx2(void *__restrict dest, const void *__restrict src,
                                                  std::size_t n) noexcept
{
    if (n < small_copy)
        return std::memcpy(dest, src, n);
    auto *d = static_cast<std::uint8_t *>(dest);
    auto *s = static_cast<const std::uint8_t *>(src);
    std::size_t head = -reinterpret_cast<std::uintptr_t>(d) & 31;
    std::memcpy(d, s, head);
    d += head;
    s += head;
    n -= head;
    for (; n >= 128; n -= 128, d += 128, s += 128)
    {
        prefetch_ahead(s, 0);
        prefetch_ahead(s, 64);
        copy_128_avx2<true>(d, s);
    }
    for (; n >= 32; n -= 32, d += 32, s += 32)
        _mm256_stream_si256(reinterpret_cast<__m256i *>(d),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(s)));
    if constexpr (Fence)
        _mm_sfence();
    std::memcpy(d, s, n);
    return dest;
}

template<bool Fence>
__attribute__((target("avx512f"))) void *memcpy_avx512(void *__restrict dest, const void *__restrict src,
                                                       std::size_t n) noexcept
{
    if (n < small_copy)
        return std::memcpy(dest, src, n);
    auto *d = static_cast<std::uint8_t *>(dest);
    auto *s = static_cast<const std::uint8_t *>(src);
    std::size_t head = -reinterpret_cast<std::uintptr_t>(d) & 63;
    std::memcpy(d, s, head);
    d += head;
    s += head;
    n -= head;
    for (; n >= 256; n -= 256, d += 256, s += 256)
    {
        for (std::size_t line = 0; line < 256; line += 64)
            prefetch_ahead(s, line);
        __m512i a = _mm512_loadu_si512(s);
        __m512i b = _mm512_loadu_si512(s + 64);
        __m512i c = _mm512_loadu_si512(s + 128);
        __m512i e = _mm512_loadu_si512(s + 192);
        _mm512_stream_si512(reinterpret_cast<__m512i *>(d), a);
        _mm512_stream_si512(reinterpret_cast<__m512i *>(d + 64), b);
        _mm512_stream_si512(reinterpret_cast<__m512i *>(d + 128), c);
        _mm512_stream_si512(reinterpret_cast<__m512i *>(d + 192), e);
    }
    for (; n >= 64; n -= 64, d += 64, s += 64)
        _mm512_stream_si512(reinterpret_cast<__m512i *>(d), _mm512_loadu_si512(s));
    if constexpr (Fence)
        _mm_sfence();
    std::memcpy(d, s, n);
    return dest;
}

#endif // SPEAD2_MEMCPY_X86

#if SPEAD2_MEMCPY_X86
/*
 * An ordinary (cached) copy: four unaligned 32-byte loads, then four stores, a round; copies of
 * 4 KiB or more also prefetch source and destination a page ahead. It measured faster than
 * glibc's memcpy (`rep movsb` above a few KB) for packet payloads copied out of a buffer too big
 * for the caches into heaps (spead2_bench mem, medians of A/B pairs): 1472-byte packets 5-15%
 * into 64 KiB and 1 MiB heaps, 9200-byte packets 4-9% into 64 KiB to 4 MiB heaps. Without the
 * source prefetch the loop lost to `rep movsb` at 9200 bytes into 4 MiB heaps (76 against 84
 * Gb/s); the destination prefetch gained 1-5% into 1 MiB heaps and was neutral elsewhere.
 */
template<bool Prefetch>
__attribute__((target("avx2"))) void *memcpy_cached_avx2(void *__restrict dest, const void *__restrict src,
                                                         std::size_t n) noexcept
{
    auto *d = static_cast<std::uint8_t *>(dest);
    auto *s = static_cast<const std::uint8_t *>(src);
    for (; n >= 128; n -= 128, d += 128, s += 128)
    {
        if constexpr (Prefetch)
        {
            // A page ahead: the hardware prefetcher stops at each page boundary.
            prefetch_ahead(s, 0, 4096);
            prefetch_ahead(s, 64, 4096);
            prefetch_ahead<true>(d, 0, 4096);
            prefetch_ahead<true>(d, 64, 4096);
        }
        copy_128_avx2<false>(d, s);
    }
    std::memcpy(d, s, n);
    return dest;
}
#endif

void *memcpy_std(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept
{
    if (n == 0)
        return dest; // memcpy's pointers must be valid even for n = 0
    return std::memcpy(dest, src, n);
}

struct variant_table
{
    detail::memcpy_variant variants[4];
    std::size_t count = 0;
    detail::memcpy_function_ptr best = memcpy_std;
    detail::memcpy_function_ptr best_unfenced = memcpy_std;

    variant_table()
    {
        variants[count++] = {"std", memcpy_std, memcpy_std, true};
#if SPEAD2_MEMCPY_X86
        __builtin_cpu_init();
        variants[count++] = {"sse2", memcpy_sse2<true>, memcpy_sse2<false>, true};
        variants[count++] = {"avx2", memcpy_avx2<true>, memcpy_avx2<false>,
                             bool(__builtin_cpu_supports("avx2"))};
        variants[count++] = {"avx512f", memcpy_avx512<true>, memcpy_avx512<false>,
                             bool(__builtin_cpu_supports("avx512f"))};
#endif
        for (std::size_t i = 0; i < count; i++)
            if (variants[i].supported)
            {
                best = variants[i].function;
                best_unfenced = variants[i].unfenced;
            }
    }
};

const variant_table &get_table() noexcept
{
    static const variant_table table;
    return table;
}

} // namespace

namespace detail
{

const memcpy_variant *get_memcpy_variants(std::size_t &count) noexcept
{
    const variant_table &table = get_table();
    count = table.count;
    return table.variants;
}

void *memcpy_nontemporal_unfenced(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept
{
    if (n == 0)
        return dest;
    return get_table().best_unfenced(dest, src, n);
}

void *memcpy_cached(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept
{
#if SPEAD2_MEMCPY_X86
    static const bool avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
    if (avx2 && n >= small_copy)
        return n < 4096 ? memcpy_cached_avx2<false>(dest, src, n) : memcpy_cached_avx2<true>(dest, src, n);
#endif
    if (n == 0)
        return dest;
    return std::memcpy(dest, src, n);
}

void store_fence() noexcept
{
#if SPEAD2_MEMCPY_X86
    _mm_sfence();
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

} // namespace detail

void *memcpy_nontemporal(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept
{
    if (n == 0)
        return dest;
    return get_table().best(dest, src, n);
}

} // namespace spead2
