// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Logging with a replaceable sink. Messages are printf-style (checked by the compiler);
/// levels above SPEAD2_MAX_LOG_LEVEL compile to nothing.
#ifndef SPEAD2_COMMON_LOGGING_H
#define SPEAD2_COMMON_LOGGING_H

#include <functional>
#include <string>
#include <spead2/features.h>

namespace spead2
{

enum class log_level : unsigned int
{
    warning = 0,
    info = 1,
    debug = 2
};

typedef std::function<void(log_level, const std::string &)> log_function_type;

/**
 * Replaces the sink for log messages and returns the previous one. The default writes
 * "spead2: <level>: <message>" to stderr. The sink may be called from any thread, concurrently;
 * it must not block for long (the Python binding queues records to a logging thread).
 */
log_function_type set_log_function(log_function_type f);

/// Formats and logs a message at @a level, whatever the compile-time cap.
void log_msg(log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));
void log_warning(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *format, ...) __attribute__((format(printf, 1, 2)));
/// Does nothing unless built with SPEAD2_MAX_LOG_LEVEL = debug.
void log_debug(const char *format, ...) __attribute__((format(printf, 1, 2)));

} // namespace spead2

#define SPEAD2_LOG_AT(level_num, level, ...)                                                                 \
    do                                                                                                       \
    {                                                                                                        \
        if constexpr ((level_num) <= SPEAD2_MAX_LOG_LEVEL)                                                   \
            ::spead2::log_msg(level, __VA_ARGS__);                                                           \
    } while (false)

/// printf-style logging for hot paths, compiled out above the cap: SPEAD2_LOG_INFO("bad %d", n).
#define SPEAD2_LOG_WARNING(...) SPEAD2_LOG_AT(0, ::spead2::log_level::warning, __VA_ARGS__)
#define SPEAD2_LOG_INFO(...) SPEAD2_LOG_AT(1, ::spead2::log_level::info, __VA_ARGS__)
#define SPEAD2_LOG_DEBUG(...) SPEAD2_LOG_AT(2, ::spead2::log_level::debug, __VA_ARGS__)

#endif // SPEAD2_COMMON_LOGGING_H
