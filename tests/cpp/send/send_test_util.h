// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Helpers for the send tests: splitting a byte stream back into packets, waiting for handlers.
#ifndef SPEAD2_TESTS_SEND_TEST_UTIL_H
#define SPEAD2_TESTS_SEND_TEST_UTIL_H

#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/send/stream.h>

namespace spead2::send::test
{

/// The special fields of a packet we wrote.
struct packet_info
{
    std::size_t size = 0;
    item_pointer_t cnt = 0;
    item_pointer_t heap_length = 0;
    item_pointer_t payload_offset = 0;
    item_pointer_t payload_length = 0;
    std::size_t n_pointers = 0;
};

inline packet_info parse_packet(const std::uint8_t *data, int hab = 40)
{
    packet_info info;
    std::uint64_t header = load_be<std::uint64_t>(data);
    info.n_pointers = header & 0xFFFF;
    item_pointer_t mask = (item_pointer_t(1) << hab) - 1;
    for (std::size_t i = 0; i < info.n_pointers; i++)
    {
        std::uint64_t p = load_be<std::uint64_t>(data + 8 + 8 * i);
        if (!(p >> 63))
            continue;
        item_pointer_t id = (p >> hab) & ((item_pointer_t(1) << (63 - hab)) - 1);
        item_pointer_t value = p & mask;
        if (id == HEAP_CNT_ID)
            info.cnt = value;
        else if (id == HEAP_LENGTH_ID)
            info.heap_length = value;
        else if (id == PAYLOAD_OFFSET_ID)
            info.payload_offset = value;
        else if (id == PAYLOAD_LENGTH_ID)
            info.payload_length = value;
    }
    info.size = 8 + 8 * info.n_pointers + info.payload_length;
    return info;
}

/// Splits packets written back to back.
inline std::vector<packet_info> split_packets(const std::string &bytes, int hab = 40)
{
    std::vector<packet_info> out;
    std::size_t pos = 0;
    while (pos < bytes.size())
    {
        packet_info info = parse_packet(reinterpret_cast<const std::uint8_t *>(bytes.data()) + pos, hab);
        out.push_back(info);
        pos += info.size;
    }
    return out;
}

/// Records completions (in the order they arrive) and lets a test wait for a number of them.
class completion_log
{
public:
    struct entry
    {
        int tag;
        std::error_code ec;
        item_pointer_t bytes;
    };

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<entry> entries_;

public:
    stream::completion_handler handler(int tag)
    {
        return [this, tag](const std::error_code &ec, item_pointer_t bytes)
        {
            std::lock_guard<std::mutex> lock(mutex_);
            entries_.push_back({tag, ec, bytes});
            cv_.notify_all();
        };
    }

    std::vector<entry> wait(std::size_t n)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return entries_.size() >= n; });
        return entries_;
    }
};

} // namespace spead2::send::test

#endif // SPEAD2_TESTS_SEND_TEST_UTIL_H
