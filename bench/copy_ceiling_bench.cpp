// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The memory ceiling under the end-to-end benchmarks: only the payload copies that a receiver of
/// the same workload must make, from a source too big for the caches, and no decoding. A
/// receiver's rate divided by this rate says how much of its time is anything but the copy; the
/// reference's rate divided by it bounds the ratio any receiver can reach on the machine. Each
/// copy runs with and without a software prefetch of the next packet (as our mem_to_stream does
/// for packets under 8 KiB): without it, the copies alone ran slower than our receiver with it.
#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <spead2/common/memcpy.h>
#include <vector>

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

/// The next packet's bytes, as mem_to_stream prefetches them.
void prefetch_packet(const std::uint8_t *packet, std::size_t size)
{
    for (std::size_t offset = 0; offset < size; offset += 64)
        __builtin_prefetch(packet + offset);
}

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
                prefetch_packet(src + (i + 1) * packet, packet);
            copy(dest, src + i * packet + header_bytes, payload);
        }
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations() * packets * payload));
    state.SetItemsProcessed(std::int64_t(state.iterations() * packets));
}

/**
 * cpp_tools.py's `spead2_bench mem`: packets of state.range(0) bytes into heap buffers of
 * state.range(1) bytes, recycled, as a memory pool hands them out, with the next packet
 * prefetched if state.range(2). The Gbit counter (per second) counts whole packets, as
 * spead2_bench does.
 */
void heap_payloads(benchmark::State &state)
{
    const std::size_t packet = std::size_t(state.range(0)), payload = packet - header_bytes;
    const std::size_t heap_bytes = std::size_t(state.range(1)) / payload * payload;
    const std::size_t packets = source_bytes / packet;
    const bool prefetch = state.range(2) != 0;
    constexpr std::size_t n_heaps = 4;
    std::vector<std::unique_ptr<std::uint8_t[]>> heaps;
    for (std::size_t i = 0; i < n_heaps; i++)
        heaps.push_back(touched(heap_bytes));
    const std::uint8_t *src = source();
    for (auto _ : state)
    {
        for (std::size_t i = 0; i < packets; i++)
        {
            const std::size_t offset = i * payload;
            std::uint8_t *dest = heaps[offset / heap_bytes % n_heaps].get() + offset % heap_bytes;
            if (prefetch && i + 1 < packets)
                prefetch_packet(src + (i + 1) * packet, packet);
            std::memcpy(dest, src + i * packet + header_bytes, payload);
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
    ->ArgsProduct({{1472, 9200}, {64 << 10, 1 << 20, 4 << 20}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
