// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The replaceable log sink.
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/logging.h>

namespace spead2
{

namespace
{

const char *level_name(log_level level)
{
    switch (level)
    {
    case log_level::warning:
        return "warning";
    case log_level::info:
        return "info";
    case log_level::debug:
        return "debug";
    }
    return "unknown";
}

void default_log_function(log_level level, const std::string &msg)
{
    std::fprintf(stderr, "spead2: %s: %s\n", level_name(level), msg.c_str());
}

/*
 * The sink is held by shared_ptr so that a logging call can take a reference under the lock and
 * call it outside the lock: a sink that logs, or a set_log_function racing with a log call, then
 * neither deadlocks nor destroys a function that is still running.
 */
struct sink_holder
{
    std::mutex mutex;
    std::shared_ptr<const log_function_type> sink =
        std::make_shared<const log_function_type>(default_log_function);
};

sink_holder &get_sink_holder()
{
    // Leaked on purpose: threads may still log during static destruction.
    static sink_holder *holder = new sink_holder;
    return *holder;
}

void log_formatted(log_level level, const char *format, std::va_list args)
{
    std::va_list args2;
    va_copy(args2, args);
    char small[256];
    int len = std::vsnprintf(small, sizeof(small), format, args);
    std::string msg;
    if (len < 0)
        msg = format; // invalid format: log something rather than nothing
    else if (std::size_t(len) < sizeof(small))
        msg.assign(small, len);
    else
    {
        std::vector<char> big(std::size_t(len) + 1);
        std::vsnprintf(big.data(), big.size(), format, args2);
        msg.assign(big.data(), len);
    }
    va_end(args2);

    sink_holder &holder = get_sink_holder();
    std::shared_ptr<const log_function_type> sink;
    {
        std::lock_guard<std::mutex> lock(holder.mutex);
        sink = holder.sink;
    }
    if (*sink)
        (*sink)(level, msg);
}

} // namespace

log_function_type set_log_function(log_function_type f)
{
    auto next = std::make_shared<const log_function_type>(std::move(f));
    sink_holder &holder = get_sink_holder();
    std::shared_ptr<const log_function_type> old;
    {
        std::lock_guard<std::mutex> lock(holder.mutex);
        old = std::exchange(holder.sink, std::move(next));
    }
    return *old;
}

void log_msg(log_level level, const char *format, ...)
{
    std::va_list args;
    va_start(args, format);
    log_formatted(level, format, args);
    va_end(args);
}

void log_warning(const char *format, ...)
{
    std::va_list args;
    va_start(args, format);
    log_formatted(log_level::warning, format, args);
    va_end(args);
}

void log_info(const char *format, ...)
{
    std::va_list args;
    va_start(args, format);
    log_formatted(log_level::info, format, args);
    va_end(args);
}

void log_debug([[maybe_unused]] const char *format, ...)
{
#if SPEAD2_MAX_LOG_LEVEL >= 2
    std::va_list args;
    va_start(args, format);
    log_formatted(log_level::debug, format, args);
    va_end(args);
#endif
}

} // namespace spead2
