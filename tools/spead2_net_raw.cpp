// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2_net_raw: runs a program with CAP_NET_RAW (API.md §6.5).
///
/// Install it with `setcap cap_net_raw+p spead2_net_raw`. It adds CAP_NET_RAW to its inheritable
/// set (it must already be permitted) and raises it in the ambient set, so that the program it
/// then execs keeps it even though that program has no file capabilities. Exit status: that of
/// the program; 2 on wrong usage; 1 if the capability cannot be raised (with setup instructions)
/// or the program cannot be run.
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace
{

void usage(std::FILE *out)
{
    std::fprintf(out, "Usage: spead2_net_raw <program> [args...]\n\n"
                      "Runs <program> with the CAP_NET_RAW capability (needed for ibverbs).\n");
}

void setup_instructions(const char *self, const char *what)
{
    std::fprintf(stderr,
                 "spead2_net_raw: cannot %s CAP_NET_RAW: %s\n"
                 "spead2_net_raw needs the capability in its permitted set. Grant it with\n"
                 "    sudo setcap cap_net_raw+p %s\n"
                 "(the file system must support extended attributes, and must not be mounted nosuid).\n",
                 what, std::strerror(errno), self);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2)
    {
        usage(stderr);
        return 2;
    }
    if (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)
    {
        usage(stdout);
        return 0;
    }
    if (argv[1][0] == '-')
    {
        std::fprintf(stderr, "spead2_net_raw: unknown option %s\n\n", argv[1]);
        usage(stderr);
        return 2;
    }

    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &header, data) != 0)
    {
        setup_instructions(argv[0], "query");
        return 1;
    }
    constexpr unsigned int bit = 1U << (CAP_NET_RAW % 32);
    constexpr int word = CAP_NET_RAW / 32;
    if (!(data[word].permitted & bit))
    {
        errno = EPERM;
        setup_instructions(argv[0], "obtain");
        return 1;
    }
    data[word].inheritable |= bit;
    if (syscall(SYS_capset, &header, data) != 0)
    {
        setup_instructions(argv[0], "make inheritable");
        return 1;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) != 0)
    {
        setup_instructions(argv[0], "raise ambient");
        return 1;
    }
    execvp(argv[1], argv + 1);
    std::fprintf(stderr, "spead2_net_raw: cannot run %s: %s\n", argv[1], std::strerror(errno));
    return 1;
}
