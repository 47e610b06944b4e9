// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Test helper: captures spead2 log messages for the lifetime of the object.
#ifndef SPEAD2_TESTS_COMMON_LOG_CAPTURE_H
#define SPEAD2_TESTS_COMMON_LOG_CAPTURE_H

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/logging.h>

namespace spead2::test
{

class log_capture
{
private:
    mutable std::mutex mutex_;
    std::vector<std::pair<log_level, std::string>> messages_;
    log_function_type previous_;

public:
    log_capture()
    {
        previous_ = set_log_function(
            [this](log_level level, const std::string &msg)
            {
                std::lock_guard<std::mutex> lock(mutex_);
                messages_.emplace_back(level, msg);
            });
    }
    ~log_capture() { set_log_function(std::move(previous_)); }
    log_capture(const log_capture &) = delete;
    log_capture &operator=(const log_capture &) = delete;

    std::vector<std::pair<log_level, std::string>> messages() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return messages_;
    }
};

/**
 * The warning logged when the kernel grants @a granted bytes of socket buffer (the sysctl's
 * value) for a request of @a requested (request_socket_buffer_size in src/common).
 */
inline std::string socket_buffer_warning(std::size_t requested, std::size_t granted, bool receive)
{
    return "requested socket buffer size " + std::to_string(requested) + " but only received " +
           std::to_string(granted) +
           ": refer to documentation for details on increasing buffer size (try raising net.core." +
           (receive ? "rmem_max" : "wmem_max") + ", now " + std::to_string(granted) + ")";
}

} // namespace spead2::test

#endif // SPEAD2_TESTS_COMMON_LOG_CAPTURE_H
