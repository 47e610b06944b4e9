// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The memory ceiling under the end-to-end benchmarks: only the payload copies that a receiver of
/// the same workload must make, from a source too big for the caches, and no decoding. A
/// receiver's rate divided by this rate says how much of its time is anything but the copy; the
/// reference's rate divided by it bounds the ratio any receiver can reach on the machine. The
/// heap workload also runs the copy our receivers make (memcpy_cached, the next packet prefetched
/// under 8 KiB as mem_to_stream does); as the floor under any receiver that takes its packets in
/// order, the packets only read, in order; and, as what the memory itself delivers to one core,
/// the same bytes read as two halves side by side.
#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <immintrin.h>
#include <spead2/common/memcpy.h>
#include <vector>
#include "common/memcpy_impl.h"
#include "common/prefetch.h"

namespace
{

constexpr std::size_t header_bytes = 48; // what SPEAD-64-48 with 5 item pointers puts before the payload
constexpr std::size_t chunk_packets = 131072, chunk_payload = 8192; // as bench/chunk_recv.py
constexpr std::size_t source_bytes = chunk_packets * (header_bytes + chunk_payload);

/// Page-aligned memory, written once so that no page fault is timed.
std::unique_ptr<std::uint8_t[]> touched(std::size_t size)
{
    std::unique_ptr<std::uint8_t[]> p(new (std::align_val_t(4096)) std::uint8_t[size]);
    std::memset(p.get(), 1, size);
    return p;
}

const std::uint8_t *source()
{
    static const auto buffer = touched(source_bytes);
    return buffer.get();
}

using copy_function = void *(*)(void *, const void *, std::size_t);

void *plain_memcpy(void *dest, const void *src, std::size_t n)
{
    return std::memcpy(dest, src, n);
}

void *streaming_memcpy(void *dest, const void *src, std::size_t n)
{
    return spead2::memcpy_nontemporal(dest, src, n);
}

/**
 * bench/chunk_recv.py: 1 GiB of 8 KiB payloads into four 64 MiB chunks in turn (compare the
 * time per iteration with its times). Our chunk streams copy with streaming stores; spead2
 * 4.5.1's default is memcpy.
 */
void chunk_payloads(benchmark::State &state, copy_function copy, bool prefetch)
{
    constexpr std::size_t payload = chunk_payload, chunk_bytes = std::size_t(64) << 20, n_chunks = 4;
    constexpr std::size_t packet = header_bytes + payload, packets = chunk_packets;
    std::vector<std::unique_ptr<std::uint8_t[]>> chunks;
    for (std::size_t i = 0; i < n_chunks; i++)
        chunks.push_back(touched(chunk_bytes));
    const std::uint8_t *src = source();
    for (auto _ : state)
    {
        for (std::size_t i = 0; i < packets; i++)
        {
            const std::size_t offset = i * payload;
            std::uint8_t *dest = chunks[offset / chunk_bytes % n_chunks].get() + offset % chunk_bytes;
            if (prefetch && i + 1 < packets)
                spead2::detail::prefetch_range(src + (i + 1) * packet, packet); // as mem_to_stream
            copy(dest, src + i * packet + header_bytes, payload);
        }
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations() * packets * payload));
    state.SetItemsProcessed(std::int64_t(state.iterations() * packets));
}

/// How heap_payloads moves each packet's payload.
enum heap_copy : std::int64_t
{
    std_memcpy = 0,          ///< std::memcpy, as spead2 4.5.1's default
    std_memcpy_prefetch = 1, ///< the same with the next packet prefetched
    receiver_copy = 2,       ///< what our receivers do: memcpy_cached, the next packet prefetched
    read_only = 3,           ///< every packet byte read once in order, nothing written: the floor
    read_two_halves = 4      ///< the same bytes read as two halves side by side: what memory gives
};

/// The four accumulators of the read loops below, folded into one word.
__attribute__((target("avx2"))) std::uint64_t fold(const __m256i (&acc)[4])
{
    const __m256i all = _mm256_xor_si256(_mm256_xor_si256(acc[0], acc[1]), _mm256_xor_si256(acc[2], acc[3]));
    return std::uint64_t(_mm256_extract_epi64(all, 0) ^ _mm256_extract_epi64(all, 1) ^
                         _mm256_extract_epi64(all, 2) ^ _mm256_extract_epi64(all, 3));
}

/// Reads [p, p + n) with 32-byte loads, four chains at a time; returns a fold of the bytes, so
/// that no load is elided.
__attribute__((target("avx2"))) std::uint64_t read_bytes(const std::uint8_t *p, std::size_t n)
{
    __m256i acc[4] = {};
    for (std::size_t i = 0; i + 128 <= n; i += 128)
        for (int j = 0; j < 4; j++)
            acc[j] = _mm256_xor_si256(acc[j],
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + i + 32 * j)));
    return fold(acc);
}

/**
 * Reads [p, p + n) as two halves at once, a 64-byte line of each in turn; returns a fold of the
 * bytes. Two streams keep more lines in flight than one (the hardware prefetcher follows each),
 * so this is what the memory delivers to one core, above what a reader in order gets.
 */
__attribute__((target("avx2"))) std::uint64_t read_bytes_two_halves(const std::uint8_t *p, std::size_t n)
{
    const std::size_t half = n / 2 / 64 * 64;
    __m256i acc[4] = {};
    for (std::size_t i = 0; i < half; i += 64)
        for (int j = 0; j < 4; j++)
            acc[j] = _mm256_xor_si256(acc[j], _mm256_loadu_si256(reinterpret_cast<const __m256i *>(
                                                  p + (j / 2) * half + i + 32 * (j % 2))));
    return fold(acc);
}

/**
 * cpp_tools.py's `spead2_bench mem`: packets of state.range(0) bytes into heap buffers of
 * state.range(1) bytes, recycled, as a memory pool hands them out, moved as heap_copy
 * state.range(2) says. The Gbit counter (per second) counts whole packets, as spead2_bench does.
 */
void heap_payloads(benchmark::State &state)
{
    const std::size_t packet = std::size_t(state.range(0)), payload = packet - header_bytes;
    const std::size_t heap_bytes = std::size_t(state.range(1)) / payload * payload;
    const std::size_t packets = source_bytes / packet;
    const auto how = heap_copy(state.range(2));
    const bool prefetch = how == std_memcpy_prefetch || (how == receiver_copy && packet < 8192);
    const copy_function copy = how == receiver_copy ? spead2::detail::memcpy_cached : plain_memcpy;
    const bool read = how == read_only || how == read_two_halves;
    if (read && !__builtin_cpu_supports("avx2"))
    {
        state.SkipWithError("needs AVX2");
        return;
    }
    constexpr std::size_t n_heaps = 4;
    std::vector<std::unique_ptr<std::uint8_t[]>> heaps;
    for (std::size_t i = 0; i < n_heaps; i++)
        heaps.push_back(touched(heap_bytes));
    const std::uint8_t *src = source();
    for (auto _ : state)
    {
        if (read)
        {
            const std::size_t bytes = packets * packet;
            std::uint64_t folded =
                how == read_only ? read_bytes(src, bytes) : read_bytes_two_halves(src, bytes);
            benchmark::DoNotOptimize(folded);
            continue;
        }
        for (std::size_t i = 0; i < packets; i++)
        {
            const std::size_t offset = i * payload;
            std::uint8_t *dest = heaps[offset / heap_bytes % n_heaps].get() + offset % heap_bytes;
            if (prefetch && i + 1 < packets)
                spead2::detail::prefetch_range(src + (i + 1) * packet, packet); // as mem_to_stream
            copy(dest, src + i * packet + header_bytes, payload);
        }
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * packets));
    state.counters["Gbit"] =
        benchmark::Counter(double(packets * packet) * 8e-9, benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

BENCHMARK_CAPTURE(chunk_payloads, memcpy, plain_memcpy, false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(chunk_payloads, streaming, streaming_memcpy, false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(chunk_payloads, memcpy_prefetch, plain_memcpy, true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(chunk_payloads, streaming_prefetch, streaming_memcpy, true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(heap_payloads)
    ->ArgsProduct({{1472, 9200},
                   {64 << 10, 1 << 20, 4 << 20},
                   {std_memcpy, std_memcpy_prefetch, receiver_copy, read_only, read_two_halves}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
