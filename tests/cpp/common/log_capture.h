// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Test helper: captures spead2 log messages for the lifetime of the object.
#ifndef SPEAD2_TESTS_COMMON_LOG_CAPTURE_H
#define SPEAD2_TESTS_COMMON_LOG_CAPTURE_H

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

} // namespace spead2::test

#endif // SPEAD2_TESTS_COMMON_LOG_CAPTURE_H
