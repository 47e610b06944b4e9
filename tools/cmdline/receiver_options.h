// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The receiver option group (API.md §6.2) and the streams and readers it describes.
#ifndef SPEAD2_TOOLS_CMDLINE_RECEIVER_OPTIONS_H
#define SPEAD2_TOOLS_CMDLINE_RECEIVER_OPTIONS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <spead2/recv/ring_stream_config.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/stream_config.h>
#include "app.h"
#include "protocol_options.h"

namespace spead2::tools
{

/**
 * Options that configure a receiving stream and its readers. add_options() registers them;
 * after parsing, finalize() fills the defaults that depend on the protocol (packet and buffer
 * size) and rejects what this build cannot do. Plain value type.
 */
class receiver_options
{
public:
    std::string bind;
    std::size_t packet = 0; ///< resolved by finalize(): UDP 9200, TCP 65536
    std::size_t buffer = 0; ///< resolved by finalize(): UDP 8 MiB, TCP 212992
    std::size_t max_heaps = recv::stream_config::default_max_heaps;
    std::size_t substreams = 1;
    std::size_t ring_heaps = recv::ring_stream_config::default_heaps;
    bool mem_pool = false;
    std::size_t mem_lower = 16384;
    std::size_t mem_upper = 32 * 1024 * 1024;
    std::size_t mem_max_free = 12;
    std::size_t mem_initial = 8;
    bool memcpy_nt = false;
    bool ibv = false;
    int ibv_comp_vector = 0;
    int ibv_max_poll = 10;
    bool xdp = false;
    std::vector<std::uint32_t> xdp_queues{0};
    std::string xdp_attach = "auto"; ///< auto, native or generic
    std::string xdp_copy = "auto";   ///< auto, zero-copy or copy
    int xdp_max_poll = 0;
    int xdp_busy_poll = 0;

private:
    CLI::Option *packet_opt_ = nullptr;
    CLI::Option *buffer_opt_ = nullptr;

public:
    void add_options(CLI::App &app, const option_namer &names = option_namer());

    /**
     * Resolves protocol-dependent defaults.
     * @throws std::invalid_argument for --ibv or --xdp without --bind, with --tcp or in a build
     * without them
     */
    void finalize(const protocol_options &protocol);

    /// A stream config with max_heaps, substreams, bug compatibility, memcpy and memory pool.
    recv::stream_config make_stream_config(const protocol_options &protocol) const;
    recv::ring_stream_config make_ring_config() const;

    /**
     * Adds one reader per source: TCP listeners with --tcp, else UDP (multicast groups joined on
     * --bind when given), and pcap files for sources whose port part is not a number. With --xdp
     * the UDP sources share one AF_XDP reader on the interface of --bind.
     * @throws std::invalid_argument, std::runtime_error, std::system_error from the readers
     */
    void add_readers(recv::stream &stream, const std::vector<std::string> &sources,
                     const protocol_options &protocol) const;
};

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_RECEIVER_OPTIONS_H
