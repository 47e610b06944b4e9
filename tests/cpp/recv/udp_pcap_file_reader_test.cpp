// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// udp_pcap_file_reader: captures written here with libpcap's dump API (Ethernet, Linux SLL and
/// SLL2), plus the checked-in captures in tests/data/pcap.
#include <spead2/features.h>
#if SPEAD2_USE_PCAP

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <pcap/pcap.h>
#include <gtest/gtest.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/udp_pcap_file_reader.h>
#include "common/log_capture.h"
#include "recv/test_packets.h"

namespace spead2::recv::test
{
namespace
{

/// A udp_pcap_file_reader that reports where it lives, so that a test can read its counters.
class probed_pcap_reader : public udp_pcap_file_reader
{
public:
    template<typename... Args>
    probed_pcap_reader(stream &owner, udp_pcap_file_reader **out, Args &&...args)
        : udp_pcap_file_reader(owner, std::forward<Args>(args)...)
    {
        *out = this;
    }
};

/// One frame to write: the UDP payload and how to wrap it.
struct frame
{
    bytes payload;
    std::uint16_t dst_port = 8888;
    std::uint8_t protocol = 17;      ///< IP protocol (17 = UDP)
    std::uint16_t frag = 0;          ///< IP flags + fragment offset field
    std::size_t captured = 0;        ///< If non-zero, caplen (the record is truncated)
    std::size_t link_padding = 0;    ///< Bytes after the IP datagram (Ethernet minimum-size padding)
    std::size_t udp_length = 0;      ///< If non-zero, the UDP length field (otherwise the true length)
    std::size_t ip_length_extra = 0; ///< Added to the IP total length field
};

bytes link_header(int dlt)
{
    bytes h;
    switch (dlt)
    {
    case DLT_EN10MB:
        h = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
        break;
    case DLT_LINUX_SLL:
        // packet type, ARPHRD_ETHER, address length, 8 address bytes, protocol
        h = {0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 2, 0, 0, 0x08, 0x00};
        break;
    case DLT_LINUX_SLL2:
        // protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address
        h = {0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 2, 0, 0};
        break;
    default:
        h = {};
    }
    return h;
}

bytes make_frame(int dlt, const frame &f)
{
    bytes out = link_header(dlt);
    const std::size_t udp_len = 8 + f.payload.size();
    const std::size_t ip_len = 20 + udp_len + f.ip_length_extra;
    bytes ip = {0x45,
                0,
                std::uint8_t(ip_len >> 8),
                std::uint8_t(ip_len),
                0,
                1,
                std::uint8_t(f.frag >> 8),
                std::uint8_t(f.frag),
                64,
                f.protocol,
                0,
                0,
                127,
                0,
                0,
                1,
                127,
                0,
                0,
                1};
    bytes udp = {0x30,
                 0x39,
                 std::uint8_t(f.dst_port >> 8),
                 std::uint8_t(f.dst_port),
                 std::uint8_t((f.udp_length ? f.udp_length : udp_len) >> 8),
                 std::uint8_t(f.udp_length ? f.udp_length : udp_len),
                 0,
                 0};
    out.insert(out.end(), ip.begin(), ip.end());
    out.insert(out.end(), udp.begin(), udp.end());
    out.insert(out.end(), f.payload.begin(), f.payload.end());
    out.insert(out.end(), f.link_padding, 0);
    return out;
}

/// Writes @a frames to a new capture file with link type @a dlt.
void write_capture(const std::string &path, int dlt, const std::vector<frame> &frames)
{
    pcap_t *dead = pcap_open_dead(dlt, 65535);
    ASSERT_NE(dead, nullptr);
    pcap_dumper_t *dumper = pcap_dump_open(dead, path.c_str());
    ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
    int usec = 0;
    for (const frame &f : frames)
    {
        bytes data = make_frame(dlt, f);
        pcap_pkthdr h{};
        h.ts.tv_sec = 1700000000;
        h.ts.tv_usec = usec++;
        h.len = bpf_u_int32(data.size());
        h.caplen = f.captured ? bpf_u_int32(f.captured) : h.len;
        pcap_dump(reinterpret_cast<u_char *>(dumper), &h, data.data());
    }
    pcap_dump_close(dumper);
    pcap_close(dead);
}

bytes heap_packet(s_item_pointer_t cnt, const std::string &payload = "abcd")
{
    return make_packet(cnt, 0, payload, s_item_pointer_t(payload.size()),
                       {addr(0x1000, 0), imm(0x1001, cnt)});
}

std::string expected(s_item_pointer_t cnt, const std::string &payload = "abcd")
{
    return std::to_string(cnt) + ":4096=" + payload + ",4097#" + std::to_string(cnt);
}

std::vector<std::string> drain(ring_stream<> &s)
{
    std::vector<std::string> out;
    while (true)
    {
        try
        {
            heap h = s.pop();
            out.push_back(std::to_string(h.get_cnt()) + ":" + describe_items(h));
        }
        catch (ringbuffer_stopped &)
        {
            return out;
        }
    }
}

class pcap_fixture : public ::testing::Test
{
protected:
    thread_pool tp{1};
    std::filesystem::path dir;

    void SetUp() override
    {
        const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir = std::filesystem::temp_directory_path() /
              ("spead2_pcap_test_" + std::to_string(::getpid()) + "_" + info->name());
        std::filesystem::create_directories(dir);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::string path(const std::string &name) const { return (dir / name).string(); }

    /**
     * Reads @a file through a ring_stream; returns the heaps and the reader's counters. Checks
     * that the udp_dropped statistic counts every record skipped.
     */
    std::vector<std::string> read(const std::string &file, const std::string &filter = "",
                                  std::vector<std::uint64_t> *counters = nullptr,
                                  stream_stats *stats = nullptr)
    {
        stream_config config;
        config.set_max_heaps(8);
        config.add_stat(spead2::recv::udp_dropped_stat_name);
        ring_stream<> s(tp, config, ring_stream_config().set_heaps(256));
        udp_pcap_file_reader *r = nullptr;
        s.emplace_reader<probed_pcap_reader>(&r, file, filter);
        auto heaps = drain(s);
        std::uint64_t skipped = r->get_truncated_records() + r->get_rejected_datagrams();
        for (std::size_t reason = 0; reason < spead2::frame::drop_reason_count; reason++)
            skipped += r->get_dropped_frames(spead2::frame::drop_reason(reason));
        EXPECT_EQ(s.get_stats()["udp_dropped"], skipped);
        if (counters)
            *counters = {r->get_truncated_records(), r->get_split_datagrams(), r->get_rejected_datagrams()};
        if (stats)
            *stats = s.get_stats();
        return heaps;
    }
};

TEST_F(pcap_fixture, link_types_read_back)
{
    for (int dlt : {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2})
    {
        SCOPED_TRACE(dlt);
        std::vector<frame> frames;
        std::vector<std::string> want;
        // More than one batch of 64 records; Ethernet frames get minimum-size padding.
        for (int c = 1; c <= 150; c++)
        {
            const std::string payload(std::size_t(c % 17 + 1), char('a' + c % 26));
            frame f{heap_packet(c, payload)};
            f.link_padding = (c % 3 == 0) ? 6 : 0;
            frames.push_back(f);
            want.push_back(expected(c, payload));
        }
        const std::string file = path("link" + std::to_string(dlt) + ".pcap");
        write_capture(file, dlt, frames);
        std::vector<std::uint64_t> counters;
        stream_stats stats;
        EXPECT_EQ(read(file, "", &counters, &stats), want);
        EXPECT_EQ(counters, (std::vector<std::uint64_t>{0, 0, 0}));
        EXPECT_EQ(stats.packets, 150u);
        EXPECT_EQ(stats.batches, 3u); // 64 + 64 + 22 records
    }
}

TEST_F(pcap_fixture, multi_packet_heap)
{
    const std::string payload = "0123456789abcdefghij";
    std::vector<frame> frames = {{make_packet(7, 0, payload.substr(0, 8), 20, {addr(0x1000, 0)})},
                                 {make_packet(7, 8, payload.substr(8, 8), 20)},
                                 {make_packet(7, 16, payload.substr(16), 20)}};
    write_capture(path("multi.pcap"), DLT_EN10MB, frames);
    EXPECT_EQ(read(path("multi.pcap")), (std::vector<std::string>{"7:4096=" + payload}));
}

TEST_F(pcap_fixture, non_udp_and_fragments_are_filtered)
{
    frame tcp_frame{heap_packet(2)};
    tcp_frame.protocol = 6;
    frame more_fragments{heap_packet(3)};
    more_fragments.frag = 0x2000;
    frame later_fragment{heap_packet(4)};
    later_fragment.frag = 0x0010;
    frame dont_fragment{heap_packet(5)};
    dont_fragment.frag = 0x4000; // DF alone is not a fragment
    write_capture(path("f.pcap"), DLT_EN10MB,
                  {{heap_packet(1)}, tcp_frame, more_fragments, later_fragment, dont_fragment});
    std::vector<std::uint64_t> counters;
    EXPECT_EQ(read(path("f.pcap"), "", &counters), (std::vector<std::string>{expected(1), expected(5)}));
    EXPECT_EQ(counters, (std::vector<std::uint64_t>{0, 0, 0}));
}

TEST_F(pcap_fixture, malformed_frames_are_counted_by_reason)
{
    // Each passes the BPF filter (IPv4, UDP, not a fragment) but not the raw-frame layer.
    frame short_udp_length{heap_packet(2)};
    short_udp_length.udp_length = 7;
    frame long_udp_length{heap_packet(3)};
    long_udp_length.udp_length = 1000;
    frame ip_beyond_capture{heap_packet(4)};
    ip_beyond_capture.ip_length_extra = 100;
    write_capture(path("m.pcap"), DLT_EN10MB,
                  {{heap_packet(1)}, short_udp_length, long_udp_length, ip_beyond_capture, {heap_packet(5)}});
    stream_config config;
    config.set_max_heaps(8);
    config.add_stat("udp_dropped");
    ring_stream<> s(tp, config, ring_stream_config().set_heaps(256));
    udp_pcap_file_reader *r = nullptr;
    s.emplace_reader<probed_pcap_reader>(&r, path("m.pcap"));
    EXPECT_EQ(drain(s), (std::vector<std::string>{expected(1), expected(5)}));
    EXPECT_EQ(s.get_stats()["udp_dropped"], 3u);
    EXPECT_EQ(r->get_dropped_frames(spead2::frame::drop_reason::bad_udp_length), 2u);
    EXPECT_EQ(r->get_dropped_frames(spead2::frame::drop_reason::runt), 1u);
    EXPECT_EQ(r->get_dropped_frames(spead2::frame::drop_reason::accepted), 0u);
    EXPECT_EQ(r->get_rejected_datagrams(), 0u);
}

TEST_F(pcap_fixture, byte_swapped_and_nanosecond_files)
{
    // The same records under the three other classic headers: swap every header field.
    write_capture(path("n.pcap"), DLT_EN10MB, {{heap_packet(1)}, {heap_packet(2)}});
    std::ifstream in(path("n.pcap"), std::ios::binary);
    bytes native((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto swap32 = [](bytes &b, std::size_t offset)
    { std::reverse(b.begin() + std::ptrdiff_t(offset), b.begin() + std::ptrdiff_t(offset + 4)); };
    auto swap16 = [](bytes &b, std::size_t offset) { std::swap(b[offset], b[offset + 1]); };
    bytes swapped = native;
    swap32(swapped, 0);
    swap16(swapped, 4);
    swap16(swapped, 6);
    for (std::size_t offset : {8, 12, 16, 20})
        swap32(swapped, offset);
    for (std::size_t record = 24; record < swapped.size();)
    {
        std::uint32_t caplen;
        std::memcpy(&caplen, &native[record + 8], 4);
        for (std::size_t i = 0; i < 16; i += 4)
            swap32(swapped, record + i);
        record += 16 + caplen;
    }
    bytes nano = native;
    nano[0] = 0x4d;
    nano[1] = 0x3c;
    for (const auto &[name, data] : {std::pair{"s.pcap", swapped}, std::pair{"ns.pcap", nano}})
    {
        std::ofstream(path(name), std::ios::binary)
            .write(reinterpret_cast<const char *>(data.data()), std::streamsize(data.size()));
        EXPECT_EQ(read(path(name)), (std::vector<std::string>{expected(1), expected(2)})) << name;
    }
}

TEST_F(pcap_fixture, pcapng_is_read_through_libpcap)
{
    // A minimal pcapng file: section header, one Ethernet interface, one enhanced packet per frame.
    bytes file;
    auto u32 = [&file](std::uint32_t v)
    {
        file.insert(file.end(),
                    {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16), std::uint8_t(v >> 24)});
    };
    u32(0x0a0d0d0a), u32(28), u32(0x1a2b3c4d), u32(1), u32(0xffffffff), u32(0xffffffff), u32(28);
    u32(1), u32(20), u32(1), u32(65535), u32(20);
    for (s_item_pointer_t cnt : {1, 2})
    {
        bytes data = make_frame(DLT_EN10MB, {heap_packet(cnt)});
        const std::size_t padded = (data.size() + 3) / 4 * 4;
        const auto total = std::uint32_t(32 + padded);
        u32(6), u32(total), u32(0), u32(0), u32(0), u32(std::uint32_t(data.size())),
            u32(std::uint32_t(data.size()));
        file.insert(file.end(), data.begin(), data.end());
        file.insert(file.end(), padded - data.size(), 0);
        u32(total);
    }
    std::ofstream(path("p.pcapng"), std::ios::binary)
        .write(reinterpret_cast<const char *>(file.data()), std::streamsize(file.size()));
    EXPECT_EQ(read(path("p.pcapng"), "udp dst port 8888"),
              (std::vector<std::string>{expected(1), expected(2)}));
}

TEST_F(pcap_fixture, user_filter)
{
    frame other{heap_packet(2)};
    other.dst_port = 9999;
    write_capture(path("u.pcap"), DLT_LINUX_SLL, {{heap_packet(1)}, other, {heap_packet(3)}});
    EXPECT_EQ(read(path("u.pcap"), "udp dst port 8888"),
              (std::vector<std::string>{expected(1), expected(3)}));
    EXPECT_EQ(read(path("u.pcap"), "udp dst port 9999"), (std::vector<std::string>{expected(2)}));
    // Like the reference, a filter that can match nothing is refused by libpcap's optimiser.
    ring_stream<> s(tp);
    try
    {
        s.emplace_reader<udp_pcap_file_reader>(path("u.pcap"), "tcp");
        FAIL() << "expected std::invalid_argument";
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "expression rejects all packets");
    }
}

TEST_F(pcap_fixture, bad_filter_is_invalid_argument)
{
    write_capture(path("b.pcap"), DLT_EN10MB, {{heap_packet(1)}});
    ring_stream<> s(tp);
    try
    {
        s.emplace_reader<udp_pcap_file_reader>(path("b.pcap"), "udp and (");
        FAIL() << "expected std::invalid_argument";
    }
    catch (std::invalid_argument &e)
    {
        EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
    }
}

TEST_F(pcap_fixture, truncated_records_are_skipped)
{
    frame cut{heap_packet(2)};
    cut.captured = 50;
    write_capture(path("t.pcap"), DLT_EN10MB, {{heap_packet(1)}, cut, {heap_packet(3)}});
    std::vector<std::uint64_t> counters;
    EXPECT_EQ(read(path("t.pcap"), "", &counters), (std::vector<std::string>{expected(1), expected(3)}));
    EXPECT_EQ(counters, (std::vector<std::uint64_t>{1, 0, 0}));
}

TEST_F(pcap_fixture, coalesced_gso_datagram_is_split)
{
    // A GSO super-datagram: equal-sized segments and a shorter last one, all in one UDP payload.
    const std::string a(100, 'a'), b(100, 'b'), c(40, 'c');
    frame gso{concat({heap_packet(1, a), heap_packet(2, b), heap_packet(3, c)})};
    write_capture(path("g.pcap"), DLT_EN10MB, {gso, {heap_packet(4)}});
    std::vector<std::uint64_t> counters;
    stream_stats stats;
    EXPECT_EQ(read(path("g.pcap"), "", &counters, &stats),
              (std::vector<std::string>{expected(1, a), expected(2, b), expected(3, c), expected(4)}));
    EXPECT_EQ(counters, (std::vector<std::uint64_t>{0, 1, 0}));
    EXPECT_EQ(stats.packets, 4u);
}

TEST_F(pcap_fixture, datagram_that_does_not_decode_exactly_is_dropped_whole)
{
    // Two good packets then a tail that is not a packet: nothing of the datagram is used.
    frame bad_tail{concat({heap_packet(1), heap_packet(2), bytes(16, 0xee)})};
    // One packet with trailing junk shorter than any packet.
    frame junk{concat({heap_packet(3), bytes(3, 0)})};
    // Not SPEAD at all, and an empty payload.
    frame garbage{bytes(40, 0x11)};
    frame empty{bytes()};
    write_capture(path("d.pcap"), DLT_EN10MB, {bad_tail, junk, garbage, empty, {heap_packet(4)}});
    std::vector<std::uint64_t> counters;
    stream_stats stats;
    EXPECT_EQ(read(path("d.pcap"), "", &counters, &stats), (std::vector<std::string>{expected(4)}));
    EXPECT_EQ(counters, (std::vector<std::uint64_t>{0, 0, 4}));
    EXPECT_EQ(stats.packets, 1u);
}

TEST_F(pcap_fixture, missing_file)
{
    ring_stream<> s(tp);
    const std::string file = path("nope.pcap");
    try
    {
        s.emplace_reader<udp_pcap_file_reader>(file);
        FAIL() << "expected std::runtime_error";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_EQ(std::string(e.what()), file + ": No such file or directory");
    }
}

TEST_F(pcap_fixture, corrupt_file)
{
    const std::string file = path("corrupt.pcap");
    std::ofstream(file) << std::string(100, 'x');
    ring_stream<> s(tp);
    try
    {
        s.emplace_reader<udp_pcap_file_reader>(file);
        FAIL() << "expected std::runtime_error";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_EQ(std::string(e.what()), file + ": unknown file format");
    }
}

TEST_F(pcap_fixture, unsupported_link_type)
{
    write_capture(path("raw.pcap"), DLT_RAW, {});
    ring_stream<> s(tp);
    try
    {
        s.emplace_reader<udp_pcap_file_reader>(path("raw.pcap"));
        FAIL() << "expected std::runtime_error";
    }
    catch (std::runtime_error &e)
    {
        EXPECT_EQ(std::string(e.what()).find(path("raw.pcap") + ": unsupported link type"), 0u) << e.what();
    }
}

TEST_F(pcap_fixture, file_cut_short_stops_after_good_records)
{
    spead2::test::log_capture logs;
    const std::string file = path("cut.pcap");
    write_capture(file, DLT_EN10MB, {{heap_packet(1)}, {heap_packet(2)}});
    // Chop the last record in half.
    std::filesystem::resize_file(file, std::filesystem::file_size(file) - 20);
    EXPECT_EQ(read(file), (std::vector<std::string>{expected(1)}));
    bool warned = false;
    for (const auto &m : logs.messages())
        if (m.first == log_level::warning && m.second.find(file + ": error reading capture") == 0)
            warned = true;
    EXPECT_TRUE(warned);
}

TEST_F(pcap_fixture, explicit_start_and_early_stop)
{
    write_capture(path("e.pcap"), DLT_EN10MB, {{heap_packet(1)}, {heap_packet(2)}});
    ring_stream<> s(tp, stream_config().set_explicit_start(true));
    s.emplace_reader<udp_pcap_file_reader>(path("e.pcap"));
    EXPECT_THROW(s.try_pop(), ringbuffer_empty);
    s.start();
    EXPECT_EQ(drain(s), (std::vector<std::string>{expected(1), expected(2)}));
    // Stopping before the reader ever runs leaves nothing pending.
    ring_stream<> s2(tp, stream_config().set_explicit_start(true));
    s2.emplace_reader<udp_pcap_file_reader>(path("e.pcap"));
    s2.stop();
    s2.start();
    EXPECT_EQ(drain(s2), (std::vector<std::string>{}));
}

TEST_F(pcap_fixture, checked_in_captures)
{
    // Generated by tests/data/pcap/make_captures.py; the same heaps in both link types, the
    // second with a coalesced datagram.
    std::vector<std::uint64_t> counters;
    auto eth = read(SPEAD2_TEST_DATA_DIR "/pcap/heaps_ethernet.pcap", "", &counters);
    EXPECT_EQ(counters, (std::vector<std::uint64_t>{1, 0, 0}));
    auto sll = read(SPEAD2_TEST_DATA_DIR "/pcap/heaps_sll_gso.pcap", "", &counters);
    EXPECT_EQ(counters, (std::vector<std::uint64_t>{0, 1, 0}));
    std::vector<std::string> want;
    for (int c = 1; c <= 5; c++)
        want.push_back(std::to_string(c) + ":4096=" + std::string(std::size_t(c * 10), char('0' + c)) +
                       ",4097#" + std::to_string(c));
    EXPECT_EQ(eth, want);
    EXPECT_EQ(sll, want);
}

} // namespace
} // namespace spead2::recv::test

#endif // SPEAD2_USE_PCAP
