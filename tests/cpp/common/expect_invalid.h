// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Test helper: checking both the type and the exact message of an invalid_argument.
#ifndef SPEAD2_TESTS_COMMON_EXPECT_INVALID_H
#define SPEAD2_TESTS_COMMON_EXPECT_INVALID_H

#include <stdexcept>
#include <string>
#include <gtest/gtest.h>

namespace spead2::test
{

/// Expects @a f() to throw std::invalid_argument whose what() is exactly @a message.
template<typename F>
void expect_invalid(F &&f, const std::string &message)
{
    try
    {
        f();
        ADD_FAILURE() << "expected std::invalid_argument: " << message;
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_EQ(std::string(e.what()), message);
    }
}

} // namespace spead2::test

#endif // SPEAD2_TESTS_COMMON_EXPECT_INVALID_H
