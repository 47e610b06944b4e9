// SPDX-License-Identifier: LGPL-3.0-or-later
#include "mcdump/pcap_file_writer.h"
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <system_error>
#include <utility>
#include <spead2/common/thread_pool.h>

namespace spead2::tools
{

namespace
{

constexpr std::size_t direct_align = 4096; // O_DIRECT's alignment of buffers, offsets and sizes

[[noreturn]] void fail(const std::string &what)
{
    throw std::system_error(errno, std::system_category(), what);
}

} // namespace

/// Chunk buffers: free ones for the network thread, filled ones (with their file offsets) for the
/// disk threads. At most max_buffers exist; they are allocated as first needed.
class pcap_file_writer::chunk_pool
{
public:
    struct filled
    {
        buffer data;
        std::size_t size = 0;
        std::uint64_t offset = 0;
    };

    explicit chunk_pool(std::size_t max_buffers)
        : max_buffers_(max_buffers)
    {
    }

    buffer acquire()
    {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            free_cv_.wait(lock, [&] { return !free_.empty() || allocated_ < max_buffers_; });
            if (!free_.empty())
            {
                buffer b = std::move(free_.back());
                free_.pop_back();
                return b;
            }
            allocated_++;
        }
        buffer b(static_cast<std::uint8_t *>(std::aligned_alloc(direct_align, chunk_size)));
        if (!b)
            throw std::bad_alloc();
        return b;
    }

    void submit(filled &&chunk)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        filled_.push_back(std::move(chunk));
        filled_cv_.notify_one();
    }

    /// The next chunk to write; false once closed and drained.
    bool take(filled &chunk)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        filled_cv_.wait(lock, [&] { return !filled_.empty() || closed_; });
        if (filled_.empty())
            return false;
        chunk = std::move(filled_.front());
        filled_.pop_front();
        return true;
    }

    void release(buffer &&b)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(b));
        free_cv_.notify_one();
    }

    void close()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        filled_cv_.notify_all();
    }

    /// Keeps the first error; later chunks are then dropped rather than written.
    void set_error(std::exception_ptr error)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_)
            error_ = std::move(error);
    }

    std::exception_ptr error()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return error_;
    }

private:
    std::mutex mutex_;
    std::condition_variable free_cv_;
    std::condition_variable filled_cv_;
    std::vector<buffer> free_;
    std::deque<filled> filled_;
    std::size_t allocated_ = 0;
    const std::size_t max_buffers_;
    bool closed_ = false;
    std::exception_ptr error_;
};

pcap_file_writer::pcap_file_writer(const std::string &filename, std::size_t snaplen, std::size_t buffer_bytes,
                                   const std::vector<int> &disk_cpus, bool direct_io,
                                   std::function<void()> on_error)
    : filename_(filename)
    , direct_io_(direct_io)
{
    const std::size_t n_threads = std::max<std::size_t>(1, disk_cpus.size());
    // Each disk thread writes one chunk while the network thread fills another.
    pool_ = std::make_unique<chunk_pool>(std::max(n_threads + 1, buffer_bytes / chunk_size));
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (direct_io ? O_DIRECT : 0);
    fd_ = ::open(filename.c_str(), flags, 0666);
    if (fd_ < 0)
        fail("cannot open " + filename);
    try
    {
        current_ = pool_->acquire();
        // The file header, in the writer's byte order as pcap expects.
        const std::uint32_t magic = 0xa1b23c4d; // nanosecond timestamps
        const std::uint16_t version[2] = {2, 4};
        const std::uint32_t rest[4] = {0, 0, std::uint32_t(snaplen),
                                       1}; // thiszone, sigfigs, snaplen, DLT_EN10MB
        append(reinterpret_cast<const std::uint8_t *>(&magic), sizeof(magic));
        append(reinterpret_cast<const std::uint8_t *>(version), sizeof(version));
        append(reinterpret_cast<const std::uint8_t *>(rest), sizeof(rest));
        for (std::size_t i = 0; i < n_threads; i++)
        {
            const int cpu = disk_cpus.empty() ? -1 : disk_cpus[i];
            threads_.emplace_back([this, cpu, on_error] { disk_thread(cpu, on_error); });
        }
    }
    catch (...)
    {
        stop_threads();
        ::close(fd_);
        throw;
    }
}

pcap_file_writer::~pcap_file_writer()
{
    if (!finished_)
    {
        stop_threads();
        ::close(fd_);
    }
}

void pcap_file_writer::begin_record(const timespec &ts, std::size_t incl, std::size_t orig)
{
    const std::uint32_t header[4] = {std::uint32_t(ts.tv_sec), std::uint32_t(ts.tv_nsec), std::uint32_t(incl),
                                     std::uint32_t(orig)};
    append(reinterpret_cast<const std::uint8_t *>(header), sizeof(header));
}

void pcap_file_writer::append(const std::uint8_t *data, std::size_t size)
{
    while (size > 0)
    {
        const std::size_t n = std::min(size, chunk_size - used_);
        std::memcpy(current_.get() + used_, data, n);
        used_ += n;
        data += n;
        size -= n;
        if (used_ == chunk_size)
            next_chunk();
    }
}

void pcap_file_writer::next_chunk()
{
    pool_->submit({std::move(current_), chunk_size, offset_});
    offset_ += chunk_size;
    used_ = 0;
    current_ = pool_->acquire();
}

void pcap_file_writer::disk_thread(int cpu, const std::function<void()> &on_error)
{
    pthread_setname_np(pthread_self(), "mcdump-disk"); // for top -H and the tests
    if (cpu >= 0)
        thread_pool::set_affinity(cpu);
    chunk_pool::filled chunk;
    while (pool_->take(chunk))
    {
        if (!pool_->error())
        {
            try
            {
                write_at(chunk.data.get(), chunk.size, chunk.offset);
            }
            catch (...)
            {
                pool_->set_error(std::current_exception());
                on_error();
            }
        }
        // Written or not, the buffer goes back, so that the network thread never waits on a dead disk.
        pool_->release(std::move(chunk.data));
    }
}

void pcap_file_writer::write_at(const std::uint8_t *data, std::size_t size, std::uint64_t offset)
{
    while (size > 0)
    {
        const ssize_t n = ::pwrite(fd_, data, size, off_t(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail("write " + filename_);
        data += n;
        size -= std::size_t(n);
        offset += std::uint64_t(n);
    }
}

void pcap_file_writer::stop_threads()
{
    pool_->close();
    for (auto &thread : threads_)
        thread.join();
    threads_.clear();
}

void pcap_file_writer::finish()
{
    if (finished_)
        return;
    finished_ = true;
    stop_threads();
    std::exception_ptr error = pool_->error();
    if (!error && used_ > 0)
    {
        try
        {
            // O_DIRECT takes only whole blocks: the tail goes without it.
            const std::size_t aligned = direct_io_ ? used_ / direct_align * direct_align : used_;
            write_at(current_.get(), aligned, offset_);
            if (aligned < used_)
            {
                const int flags = fcntl(fd_, F_GETFL);
                if (flags < 0 || fcntl(fd_, F_SETFL, flags & ~O_DIRECT) < 0)
                    fail("fcntl " + filename_);
                write_at(current_.get() + aligned, used_ - aligned, offset_ + aligned);
            }
        }
        catch (...)
        {
            error = std::current_exception();
        }
    }
    if (::close(fd_) < 0 && !error)
        error =
            std::make_exception_ptr(std::system_error(errno, std::system_category(), "close " + filename_));
    if (error)
        std::rethrow_exception(error);
}

} // namespace spead2::tools
