// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The pcap file reader: UDP payloads from a capture, decoded as SPEAD packets.
#include <spead2/features.h>
#if SPEAD2_USE_PCAP

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <pcap/pcap.h>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/udp_pcap_file_reader.h>
#include "os/mapped_file.h"

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
// Unfragmented (no MF flag, zero fragment offset) UDP over IPv4.
constexpr const char *fixed_filter = "ip and udp and (ip[6:2] & 0x3fff) = 0";
// Captures are often taken on the sending host, where checksums are left to the NIC and so are
// wrong in the file; IP options are legal and rare.
constexpr frame::parse_options capture_parse_options{
    .allow_vlan = false, .allow_ip_options = true, .verify_ip_checksum = false, .verify_udp_checksum = false};

constexpr std::size_t file_header_size = 24;
constexpr std::size_t record_header_size = 16;
/// Pages behind the read position are given back after this many bytes.
constexpr std::size_t release_interval = std::size_t(64) << 20;

std::uint32_t load_u32(const std::uint8_t *p, bool swapped)
{
    std::uint32_t value;
    std::memcpy(&value, p, 4);
    return swapped ? __builtin_bswap32(value) : value;
}

/// Whether @a file starts like a classic pcap file (micro- or nanosecond timestamps, either
/// byte order); sets @a swapped.
bool is_classic_pcap(const spead2::detail::mapped_file &file, bool &swapped)
{
    if (file.size() < file_header_size)
        return false;
    const std::uint32_t magic = load_u32(file.data(), false);
    for (std::uint32_t known : {0xa1b2c3d4u, 0xa1b23c4du})
    {
        if (magic == known || magic == __builtin_bswap32(known))
        {
            swapped = magic != known;
            return true;
        }
    }
    return false;
}

} // namespace

struct udp_pcap_file_reader::impl
{
    std::string filename;
    frame::link_type link = frame::link_type::ethernet;
    /// Classic pcap files are mapped and walked here (one copy per byte, into the heap); other
    /// formats (pcapng) are read by libpcap through stdio.
    std::optional<spead2::detail::mapped_file> mapped;
    std::size_t offset = 0;   ///< of the next record in @ref mapped
    std::size_t released = 0; ///< where @ref mapped was last given back up to
    bool swapped = false;     ///< the mapped file's byte order is not ours
    /// The stdio buffer of the file libpcap reads (4 KiB at a time by default).
    std::unique_ptr<char[]> file_buffer;
    /// Reads the file (libpcap path), or only compiles the filter (mapped path).
    pcap_t *handle = nullptr;
    std::optional<bpf_program> filter; ///< applied here on the mapped path only

    ~impl()
    {
        if (filter)
            pcap_freecode(&*filter);
        if (handle)
            pcap_close(handle);
    }

    void open_with_libpcap();
};

void udp_pcap_file_reader::impl::open_with_libpcap()
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    std::FILE *file = std::fopen(filename.c_str(), "rb");
    if (!file)
        throw std::runtime_error(filename + ": " + std::strerror(errno));
    // One read system call per MiB instead of per 4 KiB.
    constexpr std::size_t file_buffer_size = std::size_t(1) << 20;
    file_buffer = std::make_unique<char[]>(file_buffer_size);
    std::setvbuf(file, file_buffer.get(), _IOFBF, file_buffer_size);
    handle = pcap_fopen_offline(file, errbuf); // owns the file on success
    if (!handle)
    {
        std::fclose(file);
        // libpcap names the file in some messages ("x: No such file ...") but not in others.
        std::string msg = errbuf;
        if (msg.compare(0, filename.size(), filename) != 0)
            msg = filename + ": " + msg;
        throw std::runtime_error(msg);
    }
}

udp_pcap_file_reader::udp_pcap_file_reader(stream &owner, const std::string &filename,
                                           const std::string &filter)
    : reader(owner, udp_dropped_stat_name)
    , impl_(std::make_unique<impl>())
{
    impl_->filename = filename;
    try
    {
        impl_->mapped.emplace(filename);
    }
    catch (std::runtime_error &)
    {
        // Not a regular file (a pipe, say) or not there: libpcap reads it or says what is wrong.
    }
    int link;
    if (impl_->mapped && is_classic_pcap(*impl_->mapped, impl_->swapped))
    {
        link = int(load_u32(impl_->mapped->data() + 20, impl_->swapped) & 0xffff); // above: FCS bits
        impl_->offset = file_header_size;
        impl_->handle = pcap_open_dead(link, 65535);
        if (!impl_->handle)
            throw std::runtime_error(filename + ": cannot compile filters for link type " +
                                     std::to_string(link));
    }
    else
    {
        impl_->mapped.reset();
        impl_->open_with_libpcap();
        link = pcap_datalink(impl_->handle);
    }
    switch (link)
    {
    case DLT_EN10MB:
        impl_->link = frame::link_type::ethernet;
        break;
    case DLT_LINUX_SLL:
        impl_->link = frame::link_type::linux_sll;
        break;
    case DLT_LINUX_SLL2:
        impl_->link = frame::link_type::linux_sll2;
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
    if (impl_->mapped)
    {
        impl_->filter = program;
        return;
    }
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

void udp_pcap_file_reader::add_udp_payload(stream_base::add_packet_state &state, const std::uint8_t *data,
                                           std::size_t length)
{
    // A capture on the sending host sees GSO datagrams before segmentation.
    const std::size_t added = add_datagram(state, data, length, datagram_packets::several);
    if (added == 0)
    {
        rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
        count_drop(state);
    }
    else if (added > 1)
        split_datagrams_.fetch_add(1, std::memory_order_relaxed);
}

void udp_pcap_file_reader::add_record(stream_base::add_packet_state &state, const std::uint8_t *data,
                                      std::size_t captured, std::size_t length)
{
    if (captured < length)
    {
        truncated_records_.fetch_add(1, std::memory_order_relaxed);
        count_drop(state);
        SPEAD2_LOG_INFO("skipping truncated record (%zu of %zu bytes captured)", captured, length);
        return;
    }
    // The BPF filter has selected unfragmented IPv4 UDP; the frame layer still checks every
    // length, since the file is untrusted input.
    frame::udp_frame f;
    const frame::drop_reason reason =
        frame::parse_udp_frame(data, captured, f, impl_->link, capture_parse_options);
    if (reason != frame::drop_reason::accepted)
    {
        dropped_frames_[std::size_t(reason)].fetch_add(1, std::memory_order_relaxed);
        count_drop(state);
        return;
    }
    add_udp_payload(state, f.payload, f.payload_size);
}

bool udp_pcap_file_reader::read_mapped(stream_base::add_packet_state &state)
{
    impl &d = *impl_;
    const std::uint8_t *base = d.mapped->data();
    const std::size_t size = d.mapped->size();
    for (int i = 0; i < batch_records && !state.is_stopped(); i++)
    {
        if (d.offset == size)
            return false;
        if (size - d.offset < record_header_size)
        {
            log_warning("%s: error reading capture: truncated dump file; %zu bytes of a record header",
                        d.filename.c_str(), size - d.offset);
            return false;
        }
        const std::uint8_t *header = base + d.offset;
        pcap_pkthdr h{};
        h.caplen = load_u32(header + 8, d.swapped);
        h.len = load_u32(header + 12, d.swapped);
        const std::size_t available = size - d.offset - record_header_size;
        if (h.caplen > available)
        {
            log_warning("%s: error reading capture: truncated dump file; record of %u bytes, %zu in the file",
                        d.filename.c_str(), unsigned(h.caplen), available);
            return false;
        }
        const std::uint8_t *data = header + record_header_size;
        d.offset += record_header_size + h.caplen;
        if (pcap_offline_filter(&*d.filter, &h, data))
            add_record(state, data, h.caplen, h.len);
    }
    if (d.offset - d.released >= release_interval)
    {
        d.mapped->done_before(d.offset);
        d.released = d.offset;
    }
    return true;
}

bool udp_pcap_file_reader::read_libpcap(stream_base::add_packet_state &state)
{
    for (int i = 0; i < batch_records && !state.is_stopped(); i++)
    {
        pcap_pkthdr *h;
        const u_char *pkt;
        const int status = pcap_next_ex(impl_->handle, &h, &pkt);
        if (status == PCAP_ERROR_BREAK) // end of file
            return false;
        if (status != 1)
        {
            log_warning("%s: error reading capture: %s", impl_->filename.c_str(), pcap_geterr(impl_->handle));
            return false;
        }
        add_record(state, pkt, h->caplen, h->len);
    }
    return true;
}

void udp_pcap_file_reader::run(stream_base::add_packet_state &state)
{
    if (state.is_stopped())
        return;
    const bool more = impl_->mapped ? read_mapped(state) : read_libpcap(state);
    if (!more)
        state.stop();
    else if (!state.is_stopped())
        enqueue();
}

} // namespace spead2::recv

#endif // SPEAD2_USE_PCAP
