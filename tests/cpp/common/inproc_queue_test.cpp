// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests for inproc_queue.
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include <gtest/gtest.h>
#include <poll.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/ringbuffer.h>

namespace spead2
{

namespace
{

bool fd_readable(int fd)
{
    pollfd pfd{fd, POLLIN, 0};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

std::string as_string(const inproc_queue::packet &p)
{
    return std::string(reinterpret_cast<const char *>(p.data.get()), p.size);
}

} // namespace

TEST(inproc_queue, copies_and_preserves_order)
{
    inproc_queue q;
    char buf[] = "hello";
    q.add_packet(buf, 5);
    buf[0] = 'j'; // the queue holds a copy
    q.add_packet("world!", 6);
    q.add_packet("", 0);
    EXPECT_EQ(q.size(), 3u);
    std::vector<inproc_queue::packet> out;
    EXPECT_TRUE(q.try_pop_batch(out, 2));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(as_string(out[0]), "hello");
    EXPECT_EQ(as_string(out[1]), "world!");
    EXPECT_TRUE(q.try_pop_batch(out, 10)); // appends
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].size, 0u);
    EXPECT_TRUE(q.try_pop_batch(out, 10)); // empty but not stopped
    EXPECT_EQ(out.size(), 3u);
}

TEST(inproc_queue, takes_a_packet_without_copying)
{
    inproc_queue q;
    inproc_queue::packet pkt;
    pkt.data.reset(new std::uint8_t[3]{'a', 'b', 'c'});
    pkt.size = 3;
    const std::uint8_t *buffer = pkt.data.get();
    q.add_packet(std::move(pkt));
    std::vector<inproc_queue::packet> out;
    q.try_pop_batch(out, 10);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data.get(), buffer);
    EXPECT_EQ(as_string(out[0]), "abc");
    q.stop();
    EXPECT_THROW(q.add_packet(inproc_queue::packet{}), ringbuffer_stopped);
}

TEST(inproc_queue, fd_readability)
{
    inproc_queue q;
    int fd = q.get_fd();
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(fd_readable(fd));
    q.add_packet("a", 1);
    q.add_packet("b", 1);
    EXPECT_TRUE(fd_readable(fd));
    std::vector<inproc_queue::packet> out;
    q.try_pop_batch(out, 1);
    EXPECT_TRUE(fd_readable(fd)); // one still waiting
    q.try_pop_batch(out, 1);
    EXPECT_FALSE(fd_readable(fd));
    q.add_packet("c", 1);
    EXPECT_TRUE(fd_readable(fd));
    q.try_pop_batch(out, 5);
    EXPECT_FALSE(fd_readable(fd));
    q.stop();
    EXPECT_TRUE(fd_readable(fd));
    EXPECT_FALSE(q.try_pop_batch(out, 5));
    EXPECT_TRUE(fd_readable(fd)); // stays readable once stopped
}

TEST(inproc_queue, stop_semantics)
{
    inproc_queue q;
    EXPECT_FALSE(q.is_stopped());
    q.add_packet("x", 1);
    q.stop();
    q.stop(); // idempotent
    EXPECT_TRUE(q.is_stopped());
    EXPECT_THROW(q.add_packet("y", 1), ringbuffer_stopped);
    std::vector<inproc_queue::packet> out;
    EXPECT_TRUE(q.try_pop_batch(out, 5)); // delivers the last packet
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(as_string(out[0]), "x");
    EXPECT_FALSE(q.try_pop_batch(out, 5));
    EXPECT_EQ(out.size(), 1u);
}

TEST(inproc_queue, several_senders_one_reader)
{
    inproc_queue q;
    constexpr int senders = 3, per_sender = 1000;
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; s++)
        threads.emplace_back(
            [&, s]
            {
                for (int i = 0; i < per_sender; i++)
                {
                    std::uint32_t v = s * per_sender + i;
                    q.add_packet(&v, sizeof(v));
                }
            });
    std::vector<int> seen(senders * per_sender, 0);
    std::vector<int> last(senders, -1);
    std::size_t total = 0;
    std::thread reader(
        [&]
        {
            std::vector<inproc_queue::packet> out;
            while (true)
            {
                pollfd pfd{q.get_fd(), POLLIN, 0};
                poll(&pfd, 1, -1);
                out.clear();
                if (!q.try_pop_batch(out, 64))
                    break;
                for (auto &p : out)
                {
                    std::uint32_t v;
                    ASSERT_EQ(p.size, sizeof(v));
                    std::memcpy(&v, p.data.get(), sizeof(v));
                    seen[v]++;
                    int s = v / per_sender, i = v % per_sender;
                    EXPECT_GT(i, last[s]); // each sender's packets stay in order
                    last[s] = i;
                    total++;
                }
            }
        });
    for (auto &t : threads)
        t.join();
    q.stop();
    reader.join();
    EXPECT_EQ(total, std::size_t(senders * per_sender));
    for (int c : seen)
        EXPECT_EQ(c, 1);
}

} // namespace spead2
