// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The pcap file reader: UDP payloads from a capture, decoded as SPEAD packets.
#include <spead2/features.h>
#if SPEAD2_USE_PCAP

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <pcap/pcap.h>
#include <asio.hpp>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/udp_pcap_file_reader.h>

#ifndef DLT_LINUX_SLL
#define DLT_LINUX_SLL 113
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

namespace spead2::recv
{

namespace
{

constexpr int batch_records = 64;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint8_t ip_protocol_udp = 17;
constexpr std::size_t udp_header_size = 8;
// Unfragmented (no MF flag, zero fragment offset) UDP over IPv4.
constexpr const char *fixed_filter = "ip and udp and (ip[6:2] & 0x3fff) = 0";

/// Where a link type keeps the ethertype and how long its header is.
struct link_layout
{
    std::size_t header_size;
    std::size_t ethertype_offset;
};

} // namespace

struct udp_pcap_file_reader::impl
{
    std::string filename;
    /// The stdio buffer of the file: libpcap reads through stdio, 4 KiB at a time by default.
    std::unique_ptr<char[]> file_buffer;
    pcap_t *handle = nullptr;
    link_layout layout{};

    ~impl()
    {
        if (handle)
            pcap_close(handle);
    }
};

udp_pcap_file_reader::udp_pcap_file_reader(stream &owner, const std::string &filename,
                                           const std::string &filter)
    : reader(owner)
    , impl_(std::make_unique<impl>())
{
    impl_->filename = filename;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    std::FILE *file = std::fopen(filename.c_str(), "rb");
    if (!file)
        throw std::runtime_error(filename + ": " + std::strerror(errno));
    // A large buffer: one read system call per MiB instead of per 4 KiB (most of the time spent
    // on a page-cached file went there).
    constexpr std::size_t file_buffer_size = std::size_t(1) << 20;
    impl_->file_buffer = std::make_unique<char[]>(file_buffer_size);
    std::setvbuf(file, impl_->file_buffer.get(), _IOFBF, file_buffer_size);
    impl_->handle = pcap_fopen_offline(file, errbuf); // owns the file on success
    if (!impl_->handle)
    {
        std::fclose(file);
        // libpcap names the file in some messages ("x: No such file ...") but not in others.
        std::string msg = errbuf;
        if (msg.compare(0, filename.size(), filename) != 0)
            msg = filename + ": " + msg;
        throw std::runtime_error(msg);
    }
    const int link = pcap_datalink(impl_->handle);
    switch (link)
    {
    case DLT_EN10MB:
        impl_->layout = {14, 12};
        break;
    case DLT_LINUX_SLL:
        impl_->layout = {16, 14};
        break;
    case DLT_LINUX_SLL2:
        impl_->layout = {20, 0};
        break;
    default:
        throw std::runtime_error(filename + ": unsupported link type " + std::to_string(link) +
                                 " (Ethernet or Linux cooked capture expected)");
    }
    std::string full_filter = fixed_filter;
    if (!filter.empty())
        full_filter = "(" + full_filter + ") and (" + filter + ")";
    bpf_program program;
    if (pcap_compile(impl_->handle, &program, full_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
        throw std::invalid_argument(pcap_geterr(impl_->handle));
    const int set_result = pcap_setfilter(impl_->handle, &program);
    pcap_freecode(&program);
    if (set_result != 0)
        throw std::runtime_error(filename + ": cannot set filter: " + pcap_geterr(impl_->handle));
}

udp_pcap_file_reader::~udp_pcap_file_reader() = default;

void udp_pcap_file_reader::start()
{
    enqueue();
}

void udp_pcap_file_reader::enqueue()
{
    asio::post(get_io_context(), bind_handler([this](stream_base::add_packet_state &state) { run(state); }));
}

void udp_pcap_file_reader::add_datagram(stream_base::add_packet_state &state, const std::uint8_t *data,
                                        std::size_t length)
{
    packet_header packet;
    const std::size_t size = decode_packet(packet, data, length);
    if (size == 0) // also an empty payload, which "decodes" to its size 0
    {
        rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (size == length)
    {
        state.add_packet(packet);
        return;
    }
    // Several packets back to back (GSO): accept only if each decodes and they fill the payload
    // exactly, checked before any is added so that a bad tail does not leave half a datagram.
    std::size_t offset = size;
    while (offset < length)
    {
        const std::size_t next = decode_packet(packet, data + offset, length - offset);
        if (next == 0)
        {
            SPEAD2_LOG_INFO("discarding datagram of %zu bytes: only %zu bytes decode as packets", length,
                            offset);
            rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        offset += next;
    }
    split_datagrams_.fetch_add(1, std::memory_order_relaxed);
    for (offset = 0; offset < length && !state.is_stopped();)
    {
        offset += decode_packet(packet, data + offset, length - offset);
        state.add_packet(packet);
    }
}

void udp_pcap_file_reader::run(stream_base::add_packet_state &state)
{
    if (state.is_stopped())
        return;
    const link_layout layout = impl_->layout;
    for (int i = 0; i < batch_records && !state.is_stopped(); i++)
    {
        pcap_pkthdr *h;
        const u_char *pkt;
        const int status = pcap_next_ex(impl_->handle, &h, &pkt);
        if (status == PCAP_ERROR_BREAK) // end of file
        {
            state.stop();
            return;
        }
        if (status != 1)
        {
            log_warning("%s: error reading capture: %s", impl_->filename.c_str(), pcap_geterr(impl_->handle));
            state.stop();
            return;
        }
        if (h->caplen < h->len)
        {
            truncated_records_.fetch_add(1, std::memory_order_relaxed);
            SPEAD2_LOG_INFO("skipping truncated record (%u of %u bytes captured)", h->caplen, h->len);
            continue;
        }
        // The BPF filter has selected unfragmented IPv4 UDP; still check every length, since the
        // file is untrusted input.
        const std::uint8_t *data = pkt;
        std::size_t length = h->caplen;
        if (length < layout.header_size + 20 ||
            load_be<std::uint16_t>(data + layout.ethertype_offset) != ethertype_ipv4)
        {
            rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        data += layout.header_size;
        length -= layout.header_size;
        const std::size_t ip_header = std::size_t(data[0] & 0xf) * 4;
        const std::size_t ip_total = load_be<std::uint16_t>(data + 2);
        if ((data[0] >> 4) != 4 || data[9] != ip_protocol_udp || ip_header < 20 ||
            ip_total < ip_header + udp_header_size || ip_total > length)
        {
            rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        data += ip_header;
        length = ip_total - ip_header; // drops link-layer padding after the IP datagram
        const std::size_t udp_length = load_be<std::uint16_t>(data + 4);
        if (udp_length < udp_header_size || udp_length > length)
        {
            rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        add_datagram(state, data + udp_header_size, udp_length - udp_header_size);
    }
    if (!state.is_stopped())
        enqueue();
}

} // namespace spead2::recv

#endif // SPEAD2_USE_PCAP
