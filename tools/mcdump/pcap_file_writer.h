// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// mcdump's disk side: pcap records packed into fixed-size chunks, which one or more disk threads
/// write at their own offsets in the file (pwrite), so that several threads can keep a fast disk
/// array busy. Chunks come from a bounded pool (--disk-buffer) and go back to it once written: the
/// network thread waits for a free one when the disks fall behind.
///
/// Every chunk but the last is exactly chunk_size bytes at a multiple of chunk_size, so O_DIRECT's
/// alignment holds for them; records are split across chunks where they meet a boundary. The last,
/// partial chunk is written by finish() once the disk threads have stopped: its aligned part with
/// O_DIRECT, the tail without.
#ifndef SPEAD2_TOOLS_MCDUMP_PCAP_FILE_WRITER_H
#define SPEAD2_TOOLS_MCDUMP_PCAP_FILE_WRITER_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace spead2::tools
{

class pcap_file_writer
{
public:
    static constexpr std::size_t chunk_size = 1024 * 1024;

    /// Creates (truncates) @a filename and starts one disk thread per entry of @a disk_cpus (that
    /// core; a negative entry or an empty list: one unpinned thread). @a on_error runs on a disk
    /// thread when a write fails, to stop the capture; finish() then throws the error.
    pcap_file_writer(const std::string &filename, std::size_t snaplen, std::size_t buffer_bytes,
                     const std::vector<int> &disk_cpus, bool direct_io, std::function<void()> on_error);
    ~pcap_file_writer();

    pcap_file_writer(const pcap_file_writer &) = delete;
    pcap_file_writer &operator=(const pcap_file_writer &) = delete;

    /// Starts a record of @a incl captured bytes (of @a orig on the wire); the caller appends them.
    void begin_record(const timespec &ts, std::size_t incl, std::size_t orig);
    void append(const std::uint8_t *data, std::size_t size);

    /// Writes the rest and closes the file; throws the first error of any disk thread.
    void finish();

private:
    class chunk_pool;
    struct free_deleter
    {
        void operator()(std::uint8_t *p) const { std::free(p); }
    };
    using buffer = std::unique_ptr<std::uint8_t, free_deleter>;

    std::string filename_;
    int fd_ = -1;
    bool direct_io_;
    std::unique_ptr<chunk_pool> pool_;
    std::vector<std::thread> threads_;
    buffer current_;
    std::size_t used_ = 0;
    std::uint64_t offset_ = 0; ///< file offset of current_
    bool finished_ = false;

    void next_chunk();
    void disk_thread(int cpu, const std::function<void()> &on_error);
    void write_at(const std::uint8_t *data, std::size_t size, std::uint64_t offset);
    void stop_threads();
};

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_MCDUMP_PCAP_FILE_WRITER_H
