// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for the log sink.
#include <string>
#include <gtest/gtest.h>
#include <spead2/common/logging.h>
#include "common/log_capture.h"

namespace spead2
{

TEST(logging, sink_receives_formatted_messages)
{
    test::log_capture capture;
    log_warning("value %d of %s", 3, "x");
    log_info("info %.2f", 1.5);
    log_debug("debug %u", 7u);
    log_msg(log_level::info, "direct");
    auto msgs = capture.messages();
#if SPEAD2_MAX_LOG_LEVEL >= 2
    ASSERT_EQ(msgs.size(), 4u);
    EXPECT_EQ(msgs[2].first, log_level::debug);
    EXPECT_EQ(msgs[2].second, "debug 7");
    EXPECT_EQ(msgs[3].second, "direct");
#else
    ASSERT_EQ(msgs.size(), 3u);
#endif
    EXPECT_EQ(msgs[0].first, log_level::warning);
    EXPECT_EQ(msgs[0].second, "value 3 of x");
    EXPECT_EQ(msgs[1].first, log_level::info);
    EXPECT_EQ(msgs[1].second, "info 1.50");
}

TEST(logging, long_message_not_truncated)
{
    test::log_capture capture;
    std::string big(5000, 'q');
    log_info("[%s]", big.c_str());
    auto msgs = capture.messages();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].second, "[" + big + "]");
}

TEST(logging, macros_respect_cap)
{
    test::log_capture capture;
    SPEAD2_LOG_WARNING("w%d", 1);
    SPEAD2_LOG_INFO("i%d", 2);
    SPEAD2_LOG_DEBUG("d%d", 3);
    auto msgs = capture.messages();
    ASSERT_EQ(msgs.size(), std::size_t(SPEAD2_MAX_LOG_LEVEL + 1));
    EXPECT_EQ(msgs[0].second, "w1");
}

TEST(logging, set_returns_previous_and_restores)
{
    std::string first, second;
    auto original = set_log_function([&](log_level, const std::string &m) { first = m; });
    log_info("one");
    auto prev = set_log_function([&](log_level, const std::string &m) { second = m; });
    log_info("two");
    EXPECT_EQ(first, "one");
    EXPECT_EQ(second, "two");
    prev(log_level::info, "via prev"); // the returned function is the first sink
    EXPECT_EQ(first, "via prev");
    set_log_function(original);
    log_info("three");
    EXPECT_EQ(first, "via prev");
    EXPECT_EQ(second, "two");
}

TEST(logging, default_sink_writes_stderr)
{
    // Make sure the default sink is installed, whatever earlier tests did.
    auto current = set_log_function(log_function_type());
    set_log_function(current);
    ::testing::internal::CaptureStderr();
    current(log_level::warning, "hello there");
    current(log_level::info, "x");
    current(log_level::debug, "y");
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "spead2: warning: hello there\nspead2: info: x\nspead2: debug: y\n");
}

TEST(logging, null_sink_discards)
{
    auto previous = set_log_function(log_function_type());
    log_warning("dropped"); // must not throw bad_function_call
    set_log_function(previous);
}

} // namespace spead2
