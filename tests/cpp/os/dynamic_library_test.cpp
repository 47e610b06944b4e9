// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Libraries opened at run time: the first name that loads wins, and failures name what was tried.
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <gtest/gtest.h>
#include "os/dynamic_library.h"
#include "os/ibverbs_library.h"

namespace spead2::detail::test
{
namespace
{

TEST(dynamic_library, first_name_that_loads)
{
    dynamic_library lib({"libspead2-no-such-library.so.1", "libc.so.6"});
    EXPECT_EQ(lib.name(), "libc.so.6");
    auto *strlen_fn = reinterpret_cast<std::size_t (*)(const char *)>(lib.symbol("strlen"));
    EXPECT_EQ(strlen_fn("spead"), 5u);
    std::size_t (*bound)(const char *) = nullptr;
    lib.bind(bound, "strlen");
    EXPECT_EQ(bound, strlen_fn);
}

TEST(dynamic_library, errors_name_what_was_tried)
{
    try
    {
        dynamic_library lib({"libspead2-missing-a.so", "libspead2-missing-b.so"});
        FAIL() << "no exception";
    }
    catch (std::runtime_error &e)
    {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("cannot load libspead2-missing-a.so, libspead2-missing-b.so: ", 0), 0u) << what;
    }
    dynamic_library lib({"libc.so.6"});
    try
    {
        lib.symbol("spead2_no_such_symbol");
        FAIL() << "no exception";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_EQ(std::string(e.what()).rfind("libc.so.6 has no symbol spead2_no_such_symbol", 0), 0u)
            << e.what();
    }
}

TEST(ibverbs_library, missing_rdma_core_is_named)
{
    // As on a machine without rdma-core (each test runs in a process of its own, so this is the
    // first load).
    ::setenv(ibverbs_library_env, "libspead2_no_such_ibverbs.so.1", 1);
    try
    {
        require_ibverbs();
        FAIL() << "no error";
    }
    catch (std::runtime_error &e)
    {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("ibverbs support needs lib", 0), 0u) << what;
        // The failure is remembered: the same message every time.
        std::string again;
        try
        {
            require_ibverbs();
        }
        catch (std::runtime_error &e2)
        {
            again = e2.what();
        }
        EXPECT_EQ(again, what);
    }
}

} // namespace
} // namespace spead2::detail::test
