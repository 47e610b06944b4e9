// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Byte-exact packetisation against golden packets from the reference spead2
/// (tests/data/send/packets.txt, written by make_golden.py).
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/endian.h>
#include <spead2/send/heap.h>
#include <spead2/send/packet_generator.h>

namespace spead2::send
{
namespace
{

std::vector<std::uint8_t> from_hex(const std::string &hex)
{
    std::vector<std::uint8_t> out;
    if (hex == "-")
        return out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(std::uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string to_hex(const std::vector<std::uint8_t> &data)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : data)
    {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::uint64_t fnv1a64(std::uint64_t h, const std::vector<std::uint8_t> &data)
{
    for (std::uint8_t b : data)
    {
        h ^= b;
        h *= 0x100000001B3ULL;
    }
    return h;
}

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, sep))
        out.push_back(part);
    return out;
}

struct golden_case
{
    std::string name;
    int hab = 40;
    bug_compat_mask bug_compat = 0;
    item_pointer_t cnt = 1;
    std::size_t mps = 1472;
    bool repeat = false;
    std::vector<std::string> ops; ///< item/inline/start/end/descriptor lines
    std::optional<std::string> error;
    bool fixed = false; ///< golden bytes corrected for spead2's padding-order bug
    std::size_t n_packets = 0;
    std::size_t total_bytes = 0;
    std::uint64_t hash = 0;
    std::vector<std::size_t> sizes;
    std::vector<std::pair<std::size_t, std::string>> packets;
};

std::vector<golden_case> load_cases()
{
    std::ifstream in(SPEAD2_TEST_DATA_DIR "/send/packets.txt");
    if (!in)
        throw std::runtime_error("cannot open golden packet file");
    std::vector<golden_case> cases;
    std::string line;
    golden_case cur;
    while (std::getline(in, line))
    {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream ls(line);
        std::string key;
        ls >> key;
        if (key == "case")
        {
            cur = golden_case();
            ls >> cur.name;
        }
        else if (key == "flavour")
            ls >> cur.hab >> cur.bug_compat;
        else if (key == "cnt")
            ls >> cur.cnt;
        else if (key == "mps")
            ls >> cur.mps;
        else if (key == "repeat")
        {
            int r;
            ls >> r;
            cur.repeat = r;
        }
        else if (key == "item" || key == "inline" || key == "start" || key == "end" || key == "descriptor")
            cur.ops.push_back(line);
        else if (key == "fixed")
            cur.fixed = true;
        else if (key == "error")
            cur.error = line.substr(6);
        else if (key == "packets")
        {
            std::string hash;
            ls >> cur.n_packets >> cur.total_bytes >> hash;
            cur.hash = std::stoull(hash, nullptr, 16);
        }
        else if (key == "sizes")
        {
            std::size_t s;
            while (ls >> s)
                cur.sizes.push_back(s);
        }
        else if (key == "packet")
        {
            std::size_t index;
            std::string hex;
            ls >> index >> hex;
            cur.packets.emplace_back(index, hex);
        }
        else if (key == "endcase")
            cases.push_back(cur);
        else
            throw std::runtime_error("bad golden line: " + line);
    }
    return cases;
}

/// Rebuilds the heap of a golden case with the C++ API.
std::unique_ptr<heap> build_heap(const golden_case &c)
{
    auto h = std::make_unique<heap>(flavour(c.hab, c.bug_compat));
    h->set_repeat_pointers(c.repeat);
    for (const std::string &line : c.ops)
    {
        std::istringstream ls(line);
        std::string key;
        ls >> key;
        if (key == "item")
        {
            s_item_pointer_t id;
            int imm;
            std::string data;
            ls >> id >> imm >> data;
            std::vector<std::uint8_t> bytes;
            if (data.rfind("pat:", 0) == 0)
            {
                auto parts = split(data, ':');
                std::size_t len = std::stoull(parts[1]);
                unsigned seed = std::stoul(parts[2]);
                bytes.resize(len);
                for (std::size_t i = 0; i < len; i++)
                    bytes[i] = std::uint8_t(i * 31 + seed);
            }
            else
                bytes = from_hex(data);
            std::unique_ptr<std::uint8_t[]> owned(new std::uint8_t[bytes.size() + 1]);
            std::copy(bytes.begin(), bytes.end(), owned.get());
            h->add_item(id, owned.get(), bytes.size(), imm != 0);
            h->add_pointer(std::move(owned));
        }
        else if (key == "inline")
        {
            s_item_pointer_t id;
            std::uint64_t value;
            ls >> id >> value;
            h->add_item(id, value);
        }
        else if (key == "start")
            h->add_start();
        else if (key == "end")
            h->add_end();
        else if (key == "descriptor")
        {
            descriptor d;
            std::string name, desc, format, shape, numpy_header;
            ls >> d.id >> name >> desc >> format >> shape >> numpy_header;
            auto text = [](const std::string &hex)
            {
                auto b = from_hex(hex);
                return std::string(b.begin(), b.end());
            };
            d.name = text(name);
            d.description = text(desc);
            d.numpy_header = text(numpy_header);
            if (format != "-")
                for (const std::string &f : split(format, ','))
                    d.format.emplace_back(f[0], std::stoll(f.substr(2)));
            if (shape != "-")
                for (const std::string &s : split(shape, ','))
                    d.shape.push_back(std::stoll(s));
            h->add_descriptor(d);
        }
    }
    return h;
}

void PrintTo(const golden_case &c, std::ostream *os)
{
    *os << c.name;
}

class golden_packets : public ::testing::TestWithParam<golden_case>
{
};

TEST_P(golden_packets, match_reference)
{
    const golden_case &c = GetParam();
    auto h = build_heap(c);
    if (c.error)
    {
        try
        {
            packet_generator gen(*h, c.cnt, c.mps);
            FAIL() << "expected std::invalid_argument: " << *c.error;
        }
        catch (const std::invalid_argument &e)
        {
            EXPECT_EQ(std::string(e.what()), *c.error);
        }
        EXPECT_THROW(packet_generator::check(*h, c.mps), std::invalid_argument);
        return;
    }
    packet_generator gen(*h, c.cnt, c.mps);
    std::vector<std::vector<std::uint8_t>> packets;
    while (gen.has_next_packet())
    {
        packets.push_back(gen.next_packet());
        ASSERT_LE(packets.size(), c.n_packets) << "too many packets";
    }
    ASSERT_EQ(packets.size(), c.n_packets);
    std::uint64_t hash = 0xCBF29CE484222325ULL;
    std::size_t total = 0;
    for (std::size_t i = 0; i < packets.size(); i++)
    {
        EXPECT_EQ(packets[i].size(), c.sizes[i]) << "packet " << i;
        hash = fnv1a64(hash, packets[i]);
        total += packets[i].size();
    }
    EXPECT_EQ(total, c.total_bytes);
    EXPECT_EQ(hash, c.hash);
    for (const auto &[index, hex] : c.packets)
        EXPECT_EQ(to_hex(packets[index]), hex) << "packet " << index;
}

INSTANTIATE_TEST_SUITE_P(reference, golden_packets, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<golden_case> &param_info)
                         { return param_info.param.name; });

TEST(packet_generator, golden_file_covers_the_cases)
{
    auto cases = load_cases();
    EXPECT_GE(cases.size(), 60u);
    int errors = 0, fixed = 0;
    for (const auto &c : cases)
    {
        errors += bool(c.error);
        fixed += c.fixed;
    }
    EXPECT_EQ(errors, 3);
    EXPECT_EQ(fixed, 4);
}

/// A heap whose tiny payload shares a packet with NULL padding: the real bytes come first, where
/// the item pointer says they are (spead2 4.5.1 puts the zeros first; see make_golden.py).
TEST(packet_generator, padding_follows_real_payload)
{
    heap h;
    std::uint8_t value[2] = {0xAA, 0xBB};
    for (int i = 0; i < 6; i++)
        h.add_item(0x1000 + i, std::uint64_t(i));
    h.add_item(0x2000, value, 2, false);
    packet_generator gen(h, 1, 96); // 6 pointers per packet: 7 items + NULL need 2 packets
    auto p0 = gen.next_packet();
    ASSERT_EQ(p0.size(), 96u);
    EXPECT_EQ(p0[88], 0xAA);
    EXPECT_EQ(p0[89], 0xBB);
    for (int i = 90; i < 96; i++)
        EXPECT_EQ(p0[i], 0) << i;
    auto p1 = gen.next_packet();
    EXPECT_EQ(p1.size(), 8u + 8 * 6 + 1);
    EXPECT_FALSE(gen.has_next_packet());
}

/// Scatter-gather: payload pieces point into the item's memory (no copy).
TEST(packet_generator, payload_is_referenced_not_copied)
{
    std::vector<std::uint8_t> data(3000, 0xAB);
    heap h;
    h.add_item(0x1000, data.data(), data.size(), false);
    packet_generator gen(h, 7, 1472);
    std::vector<std::uint8_t> scratch(gen.get_max_packet_size());
    std::vector<packet_piece> pieces;
    std::size_t size = gen.next_packet(scratch.data(), pieces);
    EXPECT_EQ(size, 1472u);
    ASSERT_EQ(pieces.size(), 2u);
    EXPECT_EQ(pieces[0].data, scratch.data());
    EXPECT_EQ(pieces[0].size, 48u);
    EXPECT_EQ(pieces[1].data, data.data());
    EXPECT_EQ(pieces[1].size, 1472u - 48u);
    pieces.clear();
    gen.next_packet(scratch.data(), pieces);
    ASSERT_EQ(pieces.size(), 2u);
    EXPECT_EQ(pieces[1].data, data.data() + 1424);
    EXPECT_EQ(pieces[1].size, 1432u);
}

/// Strings and byte vectors are referenced in place, through heap::add_item and item's constructors.
TEST(packet_generator, containers_are_referenced)
{
    const std::string text = "hello";
    const std::vector<std::uint8_t> bytes{1, 2, 3, 4, 5, 6, 7};
    heap h;
    heap::item_handle a = h.add_item(0x1000, text, false);
    heap::item_handle b = h.add_item(0x1001, bytes, false);
    const item c(0x1002, bytes, true);
    const item d(0x1003, text, true);
    EXPECT_EQ(h.get_item(a).data.buffer.ptr, reinterpret_cast<const std::uint8_t *>(text.data()));
    EXPECT_EQ(h.get_item(a).data.buffer.length, 5u);
    EXPECT_EQ(h.get_item(b).data.buffer.ptr, bytes.data());
    EXPECT_EQ(h.get_item(b).data.buffer.length, 7u);
    EXPECT_EQ(c.data.buffer.ptr, bytes.data());
    EXPECT_TRUE(c.allow_immediate && !c.is_inline);
    EXPECT_EQ(d.data.buffer.length, 5u);
}

/// The immediate/addressed choice: allow_immediate and length <= HAB/8; inline always.
TEST(packet_generator, immediate_choice)
{
    const std::uint8_t five[5] = {1, 2, 3, 4, 5};
    const std::uint8_t six[6] = {1, 2, 3, 4, 5, 6};
    heap h;
    h.add_item(0x1000, five, 5, true);                   // immediate, right-aligned
    h.add_item(0x1001, six, 6, true);                    // too long: addressed
    h.add_item(0x1002, five, 2, false);                  // not allowed: addressed
    h.add_item(0x1003, std::uint64_t(0xFFFF0000000001)); // inline, truncated to 40 bits
    packet_generator gen(h, 1, 1472);
    auto p = gen.next_packet();
    ASSERT_FALSE(gen.has_next_packet());
    ASSERT_EQ(p.size(), 8u + 8 * 8 + 8);
    auto ptr = [&p](int i) { return load_be<std::uint64_t>(p.data() + 8 + 8 * i); };
    EXPECT_EQ(ptr(4), (std::uint64_t(1) << 63) | (std::uint64_t(0x1000) << 40) | 0x0102030405ULL);
    EXPECT_EQ(ptr(4) & 0xFFFFFFFFFFULL, 0x0102030405ULL);
    EXPECT_EQ(ptr(5), (std::uint64_t(0x1001) << 40) | 0);
    EXPECT_EQ(ptr(6), (std::uint64_t(0x1002) << 40) | 6);
    EXPECT_EQ(ptr(7), (std::uint64_t(1) << 63) | (std::uint64_t(0x1003) << 40) | 1);
    EXPECT_EQ(ptr(1) & 0xFFFFFFFFFFULL, 8u); // HEAP_LENGTH
}

TEST(packet_generator, too_small_message)
{
    heap h;
    try
    {
        packet_generator gen(h, 1, 55);
        FAIL();
    }
    catch (const std::invalid_argument &e)
    {
        EXPECT_STREQ(e.what(), "packet size is too small");
    }
    EXPECT_NO_THROW(packet_generator(h, 1, 56));
}

} // namespace
} // namespace spead2::send
