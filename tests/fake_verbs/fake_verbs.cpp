// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// An emulated verbs provider for the tests: a shared library with the libibverbs and librdmacm
/// functions that spead2 calls, to be loaded in their place (SPEAD2_IBV_LIBRARY). A device is any
/// interface with an IPv4 address; a raw-packet queue pair is an AF_PACKET socket bound to it, so
/// it needs CAP_NET_RAW as a real one does. Flow rules select the frames a queue pair receives
/// with the documented match semantics (every field under its mask; an IPv4 or UDP
/// specification also requires the frame to be IPv4, or UDP); received frames are scattered into
/// posted receive requests and completed on the receive queue; sends are gathered from
/// registered memory (keys and bounds checked) and completed at once. Completion channels are
/// pipes: an armed queue writes one event when an entry arrives.
///
/// Test controls, read at each call:
///   SPEAD2_FAKE_VERBS_FAIL=<call>[:<errno>],...  makes the named calls fail (default EIO)
///   SPEAD2_FAKE_VERBS_MAX_WR=<n>                 the device's max_qp_wr and max_cqe (4096)
///   SPEAD2_FAKE_VERBS_PACING=off                 no packet pacing (else 1 Mb/s to 100 Gb/s)
///   SPEAD2_FAKE_VERBS_CLOCK_OFFSET_NS=<n>        the completion timestamps' offset from the
///                                                wall clock (extended CQs report them)
/// and spead2_fake_verbs_rx_no_buffer() counts frames that matched a rule but found no posted
/// receive request; spead2_fake_verbs_teardown_errors() counts objects destroyed while still in
/// use (refused with EBUSY, as a device does); spead2_fake_verbs_rate_limit() is the last rate set on a queue
/// pair (kb/s; the fake does not pace).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace
{

std::atomic<std::uint64_t> rx_no_buffer{0};
std::atomic<std::uint32_t> last_rate_limit{0};
std::atomic<std::uint64_t> teardown_errors{0};

/// How many live objects use each object (a PD its MRs and QPs, a CQ its QPs, a channel its
/// CQs): destroying one still in use fails with EBUSY, as on a device, and is counted.
std::mutex users_mutex;
std::map<const void *, int> users;

void add_user(const void *used)
{
    if (!used)
        return;
    std::lock_guard<std::mutex> lock(users_mutex);
    users[used]++;
}

void remove_user(const void *used)
{
    if (!used)
        return;
    std::lock_guard<std::mutex> lock(users_mutex);
    if (--users[used] == 0)
        users.erase(used);
}

/// False (counting a teardown error) if @a object is still in use.
bool unused(const void *object)
{
    std::lock_guard<std::mutex> lock(users_mutex);
    if (users.count(object))
    {
        teardown_errors++;
        return false;
    }
    return true;
}
std::atomic<std::uint32_t> next_handle{1};

/// Whether the test asked @a call to fail; sets errno to the asked-for value.
bool should_fail(const char *call, int &error)
{
    const char *spec = std::getenv("SPEAD2_FAKE_VERBS_FAIL");
    if (!spec)
        return false;
    const std::string all = spec;
    const std::string name = call;
    std::size_t pos = 0;
    while (pos <= all.size())
    {
        std::size_t end = all.find(',', pos);
        if (end == std::string::npos)
            end = all.size();
        const std::string item = all.substr(pos, end - pos);
        const std::size_t colon = item.find(':');
        if (item.substr(0, colon) == name)
        {
            error = colon == std::string::npos ? EIO : std::atoi(item.c_str() + colon + 1);
            return true;
        }
        pos = end + 1;
    }
    return false;
}

#define FAIL_IF_ASKED(call, ret)                                                                             \
    do                                                                                                       \
    {                                                                                                        \
        int asked_;                                                                                          \
        if (should_fail(call, asked_))                                                                       \
        {                                                                                                    \
            errno = asked_;                                                                                  \
            return ret;                                                                                      \
        }                                                                                                    \
    } while (false)

int max_wr()
{
    const char *value = std::getenv("SPEAD2_FAKE_VERBS_MAX_WR");
    return value ? std::atoi(value) : 4096;
}

struct fake_mr
{
    ibv_mr mr{};
};

struct fake_context
{
    verbs_context v{}; ///< must come first: the verbs API finds it from its ibv_context
    std::string ifname;
    int ifindex = 0;
    std::size_t mtu = 1500;
    std::mutex mutex;
    std::vector<fake_mr *> mrs;

    /// Whether [addr, addr + length) lies in the region with key @a lkey.
    bool covers(std::uint32_t lkey, std::uint64_t addr, std::uint32_t length)
    {
        std::lock_guard<std::mutex> lock(mutex);
        for (const fake_mr *m : mrs)
        {
            const auto start = reinterpret_cast<std::uintptr_t>(m->mr.addr);
            if (m->mr.lkey == lkey && addr >= start && addr + length <= start + m->mr.length)
                return true;
        }
        return false;
    }
};

fake_context *context_of(ibv_context *ctx)
{
    return reinterpret_cast<fake_context *>(reinterpret_cast<std::uint8_t *>(ctx) -
                                            offsetof(verbs_context, context));
}

struct fake_channel
{
    ibv_comp_channel channel{};
    int write_fd = -1;
};

/// The "NIC clock": the wall clock, shifted by SPEAD2_FAKE_VERBS_CLOCK_OFFSET_NS (so that a test
/// can tell a completion timestamp from the time a frame was read).
std::uint64_t nic_clock_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    const char *offset = std::getenv("SPEAD2_FAKE_VERBS_CLOCK_OFFSET_NS");
    return std::uint64_t(ts.tv_sec) * 1000000000 + std::uint64_t(ts.tv_nsec) +
           std::uint64_t(offset ? std::atoll(offset) : 0);
}

/// A completion queue, plain or extended (ibv_cq_ex begins with ibv_cq's fields, so one type
/// serves both).
struct fake_cq
{
    struct entry
    {
        ibv_wc wc;
        std::uint64_t timestamp_ns;
    };

    ibv_cq_ex cq{};
    std::mutex mutex;
    std::deque<entry> entries;
    entry current{};
    bool armed = false;

    void push(const ibv_wc &wc)
    {
        const std::uint64_t now = nic_clock_ns();
        std::lock_guard<std::mutex> lock(mutex);
        if (entries.size() >= std::size_t(cq.cqe))
            return; // overrun: a real device raises an asynchronous error; the tests never get here
        entries.push_back({wc, now});
        if (armed && cq.channel)
        {
            armed = false;
            ibv_cq *self = ibv_cq_ex_to_cq(&cq);
            const int fd = reinterpret_cast<fake_channel *>(cq.channel)->write_fd;
            // Non-blocking: a full pipe means events enough are waiting already.
            if (::write(fd, &self, sizeof(self)) != sizeof(self) && errno != EAGAIN)
                std::abort();
        }
    }
};

struct fake_flow
{
    ibv_flow flow{};
    ibv_flow_spec_eth eth{};
    ibv_flow_spec_ipv4 ip{};
    ibv_flow_spec_tcp_udp udp{};
    bool has_eth = false, has_ip = false, has_udp = false;

    bool matches(const std::uint8_t *f, std::size_t size) const
    {
        if (size < 14)
            return false;
        if (has_eth)
        {
            for (int i = 0; i < 6; i++)
                if (((f[i] ^ eth.val.dst_mac[i]) & eth.mask.dst_mac[i]) ||
                    ((f[6 + i] ^ eth.val.src_mac[i]) & eth.mask.src_mac[i]))
                    return false;
            std::uint16_t type;
            std::memcpy(&type, f + 12, 2);
            if ((type ^ eth.val.ether_type) & eth.mask.ether_type)
                return false;
        }
        if (!has_ip && !has_udp)
            return true;
        if (f[12] != 0x08 || f[13] != 0x00 || size < 34 || (f[14] >> 4) != 4)
            return false;
        std::uint32_t src, dst;
        std::memcpy(&src, f + 26, 4);
        std::memcpy(&dst, f + 30, 4);
        if (has_ip && (((src ^ ip.val.src_ip) & ip.mask.src_ip) || ((dst ^ ip.val.dst_ip) & ip.mask.dst_ip)))
            return false;
        if (!has_udp)
            return true;
        const std::size_t l4 = 14 + std::size_t(f[14] & 0xf) * 4;
        if (f[23] != IPPROTO_UDP || size < l4 + 8)
            return false;
        std::uint16_t sport, dport;
        std::memcpy(&sport, f + l4, 2);
        std::memcpy(&dport, f + l4 + 2, 2);
        return !((sport ^ udp.val.src_port) & udp.mask.src_port) &&
               !((dport ^ udp.val.dst_port) & udp.mask.dst_port);
    }
};

struct posted_recv
{
    std::uint64_t wr_id;
    std::vector<ibv_sge> sges;
};

struct fake_qp
{
    ibv_qp qp{};
    int fd = -1;   ///< AF_PACKET on the interface
    int stop = -1; ///< eventfd that ends the receive thread
    std::uint32_t max_recv_wr = 0;
    std::uint32_t max_send_sge = 0;
    std::mutex mutex;
    std::deque<posted_recv> recvs;
    std::vector<fake_flow *> flows;
    std::thread receiver;

    void receive_loop()
    {
        fake_context *ctx = context_of(qp.context);
        std::vector<std::uint8_t> frame(65536);
        for (;;)
        {
            pollfd fds[2] = {{fd, POLLIN, 0}, {stop, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0 && errno != EINTR)
                return;
            if (fds[1].revents)
                return;
            if (!(fds[0].revents & POLLIN))
                continue;
            sockaddr_ll from{};
            socklen_t from_len = sizeof(from);
            const ssize_t n =
                ::recvfrom(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&from), &from_len);
            if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
                continue;
            posted_recv r;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (qp.state != IBV_QPS_RTR && qp.state != IBV_QPS_RTS)
                    continue;
                const bool ours =
                    std::any_of(flows.begin(), flows.end(),
                                [&](const fake_flow *f) { return f->matches(frame.data(), std::size_t(n)); });
                if (!ours)
                    continue;
                if (recvs.empty())
                {
                    rx_no_buffer++;
                    continue;
                }
                r = std::move(recvs.front());
                recvs.pop_front();
            }
            ibv_wc wc{};
            wc.wr_id = r.wr_id;
            wc.opcode = IBV_WC_RECV;
            wc.qp_num = qp.qp_num;
            wc.status = IBV_WC_SUCCESS;
            std::size_t capacity = 0;
            for (const ibv_sge &s : r.sges)
            {
                if (!ctx->covers(s.lkey, s.addr, s.length))
                    wc.status = IBV_WC_LOC_PROT_ERR;
                capacity += s.length;
            }
            if (wc.status == IBV_WC_SUCCESS && capacity < std::size_t(n))
                wc.status = IBV_WC_LOC_LEN_ERR;
            if (wc.status == IBV_WC_SUCCESS)
            {
                std::size_t offset = 0;
                for (const ibv_sge &s : r.sges)
                {
                    const std::size_t part = std::min<std::size_t>(s.length, std::size_t(n) - offset);
                    std::memcpy(reinterpret_cast<void *>(s.addr), frame.data() + offset, part);
                    offset += part;
                }
                wc.byte_len = std::uint32_t(n);
            }
            reinterpret_cast<fake_cq *>(qp.recv_cq)->push(wc);
        }
    }
};

int fake_poll_cq(ibv_cq *cq, int num_entries, ibv_wc *wc)
{
    auto *f = reinterpret_cast<fake_cq *>(cq);
    std::lock_guard<std::mutex> lock(f->mutex);
    int n = 0;
    while (n < num_entries && !f->entries.empty())
    {
        wc[n++] = f->entries.front().wc;
        f->entries.pop_front();
    }
    return n;
}

int fake_req_notify_cq(ibv_cq *cq, int)
{
    int asked;
    if (should_fail("ibv_req_notify_cq", asked))
        return asked;
    auto *f = reinterpret_cast<fake_cq *>(cq);
    std::lock_guard<std::mutex> lock(f->mutex);
    f->armed = true;
    return 0;
}

int fake_post_recv(ibv_qp *qp, ibv_recv_wr *wr, ibv_recv_wr **bad)
{
    auto *q = reinterpret_cast<fake_qp *>(qp);
    int asked;
    if (should_fail("ibv_post_recv", asked))
    {
        *bad = wr;
        return asked;
    }
    std::lock_guard<std::mutex> lock(q->mutex);
    for (; wr; wr = wr->next)
    {
        if (q->recvs.size() >= q->max_recv_wr || qp->state == IBV_QPS_RESET)
        {
            *bad = wr;
            return ENOMEM;
        }
        q->recvs.push_back({wr->wr_id, std::vector<ibv_sge>(wr->sg_list, wr->sg_list + wr->num_sge)});
    }
    return 0;
}

int fake_post_send(ibv_qp *qp, ibv_send_wr *wr, ibv_send_wr **bad)
{
    auto *q = reinterpret_cast<fake_qp *>(qp);
    fake_context *ctx = context_of(qp->context);
    int asked;
    if (should_fail("ibv_post_send", asked))
    {
        *bad = wr;
        return asked;
    }
    if (qp->state != IBV_QPS_RTS)
    {
        *bad = wr;
        return EINVAL;
    }
    std::vector<std::uint8_t> frame;
    for (; wr; wr = wr->next)
    {
        if (wr->num_sge < 1 || std::uint32_t(wr->num_sge) > q->max_send_sge)
        {
            *bad = wr;
            return EINVAL;
        }
        ibv_wc wc{};
        wc.wr_id = wr->wr_id;
        wc.opcode = IBV_WC_SEND;
        wc.qp_num = qp->qp_num;
        wc.status = IBV_WC_SUCCESS;
        frame.clear();
        for (int i = 0; i < wr->num_sge; i++)
        {
            const ibv_sge &s = wr->sg_list[i];
            if (!ctx->covers(s.lkey, s.addr, s.length))
                wc.status = IBV_WC_LOC_PROT_ERR;
            else
            {
                const auto *p = reinterpret_cast<const std::uint8_t *>(s.addr);
                frame.insert(frame.end(), p, p + s.length);
            }
        }
        if (wc.status == IBV_WC_SUCCESS && frame.size() > ctx->mtu + 14)
            wc.status = IBV_WC_LOC_LEN_ERR;
        if (wc.status == IBV_WC_SUCCESS)
        {
            sockaddr_ll to{};
            to.sll_family = AF_PACKET;
            to.sll_ifindex = ctx->ifindex;
            to.sll_halen = 6;
            if (::sendto(q->fd, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr *>(&to),
                         sizeof(to)) != ssize_t(frame.size()))
                wc.status = IBV_WC_GENERAL_ERR;
        }
        if (wr->send_flags & IBV_SEND_SIGNALED)
            reinterpret_cast<fake_cq *>(qp->send_cq)->push(wc);
    }
    return 0;
}

ibv_flow *fake_create_flow(ibv_qp *qp, ibv_flow_attr *attr)
{
    FAIL_IF_ASKED("ibv_create_flow", nullptr);
    auto *f = new fake_flow();
    const auto *spec = reinterpret_cast<const std::uint8_t *>(attr + 1);
    for (int i = 0; i < attr->num_of_specs; i++)
    {
        ibv_flow_spec_type type;
        std::uint16_t size;
        std::memcpy(&type, spec, sizeof(type));
        std::memcpy(&size, spec + sizeof(type), sizeof(size));
        switch (type)
        {
        case IBV_FLOW_SPEC_ETH:
            std::memcpy(&f->eth, spec, sizeof(f->eth));
            f->has_eth = true;
            break;
        case IBV_FLOW_SPEC_IPV4:
            std::memcpy(&f->ip, spec, sizeof(f->ip));
            f->has_ip = true;
            break;
        case IBV_FLOW_SPEC_UDP:
            std::memcpy(&f->udp, spec, sizeof(f->udp));
            f->has_udp = true;
            break;
        default:
            delete f;
            errno = EOPNOTSUPP;
            return nullptr;
        }
        spec += size;
    }
    f->flow.context = qp->context;
    f->flow.handle = next_handle++;
    auto *q = reinterpret_cast<fake_qp *>(qp);
    std::lock_guard<std::mutex> lock(q->mutex);
    q->flows.push_back(f);
    return &f->flow;
}

int fake_query_device_ex(ibv_context *, const ibv_query_device_ex_input *, ibv_device_attr_ex *attr,
                         size_t size)
{
    int asked;
    if (should_fail("ibv_query_device_ex", asked))
        return asked;
    if (size < sizeof(ibv_device_attr_ex))
        return EINVAL;
    *attr = ibv_device_attr_ex{};
    attr->orig_attr.max_qp_wr = max_wr();
    attr->orig_attr.max_cqe = max_wr();
    attr->orig_attr.max_sge = 30;
    const char *pacing = std::getenv("SPEAD2_FAKE_VERBS_PACING");
    if (!pacing || std::string(pacing) != "off")
    {
        attr->packet_pacing_caps.qp_rate_limit_min = 1000;
        attr->packet_pacing_caps.qp_rate_limit_max = 100000000;
        attr->packet_pacing_caps.supported_qpts = 1U << IBV_QPT_RAW_PACKET;
    }
    return 0;
}

int fake_modify_qp_rate_limit(ibv_qp *, ibv_qp_rate_limit_attr *attr)
{
    int asked;
    if (should_fail("ibv_modify_qp_rate_limit", asked))
        return asked;
    last_rate_limit = attr->rate_limit;
    return 0;
}

// The extended CQ's polling interface: start_poll takes the lock (and keeps it only when it
// returns an entry), end_poll releases it.
void load_current(fake_cq *f)
{
    f->current = f->entries.front();
    f->entries.pop_front();
    f->cq.wr_id = f->current.wc.wr_id;
    f->cq.status = f->current.wc.status;
}

int fake_start_poll(ibv_cq_ex *cq, ibv_poll_cq_attr *)
{
    auto *f = reinterpret_cast<fake_cq *>(cq);
    f->mutex.lock();
    if (f->entries.empty())
    {
        f->mutex.unlock();
        return ENOENT;
    }
    load_current(f);
    return 0;
}

int fake_next_poll(ibv_cq_ex *cq)
{
    auto *f = reinterpret_cast<fake_cq *>(cq);
    if (f->entries.empty())
        return ENOENT;
    load_current(f);
    return 0;
}

void fake_end_poll(ibv_cq_ex *cq)
{
    reinterpret_cast<fake_cq *>(cq)->mutex.unlock();
}

std::uint32_t fake_read_byte_len(ibv_cq_ex *cq)
{
    return reinterpret_cast<fake_cq *>(cq)->current.wc.byte_len;
}

ibv_wc_opcode fake_read_opcode(ibv_cq_ex *cq)
{
    return reinterpret_cast<fake_cq *>(cq)->current.wc.opcode;
}

std::uint64_t fake_read_wallclock_ns(ibv_cq_ex *cq)
{
    return reinterpret_cast<fake_cq *>(cq)->current.timestamp_ns;
}

bool valid_cq_request(ibv_context *context, int cqe, int comp_vector)
{
    return cqe >= 1 && cqe <= max_wr() && comp_vector >= 0 && comp_vector < context->num_comp_vectors;
}

fake_cq *new_cq(ibv_context *context, int cqe, void *cq_context, ibv_comp_channel *channel)
{
    auto *f = new fake_cq();
    f->cq.context = context;
    f->cq.channel = channel;
    f->cq.cq_context = cq_context;
    f->cq.cqe = cqe;
    f->cq.handle = next_handle++;
    add_user(channel);
    return f;
}

ibv_cq_ex *fake_create_cq_ex(ibv_context *context, ibv_cq_init_attr_ex *attr)
{
    FAIL_IF_ASKED("ibv_create_cq_ex", nullptr);
    constexpr std::uint64_t supported =
        IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK;
    if (!valid_cq_request(context, int(attr->cqe), int(attr->comp_vector)) || (attr->wc_flags & ~supported) ||
        attr->comp_mask != 0)
    {
        errno = EINVAL;
        return nullptr;
    }
    fake_cq *f = new_cq(context, int(attr->cqe), attr->cq_context, attr->channel);
    f->cq.start_poll = fake_start_poll;
    f->cq.next_poll = fake_next_poll;
    f->cq.end_poll = fake_end_poll;
    f->cq.read_byte_len = fake_read_byte_len;
    f->cq.read_opcode = fake_read_opcode;
    if (attr->wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)
        f->cq.read_completion_wallclock_ns = fake_read_wallclock_ns;
    return &f->cq;
}

std::mutex qps_mutex;
std::vector<fake_qp *> all_qps;

int fake_destroy_flow(ibv_flow *flow)
{
    auto *f = reinterpret_cast<fake_flow *>(flow);
    std::lock_guard<std::mutex> all(qps_mutex);
    for (fake_qp *q : all_qps)
    {
        std::lock_guard<std::mutex> lock(q->mutex);
        auto it = std::find(q->flows.begin(), q->flows.end(), f);
        if (it != q->flows.end())
        {
            q->flows.erase(it);
            delete f;
            return 0;
        }
    }
    return EINVAL;
}

} // namespace

FAKE_EXPORT std::uint64_t spead2_fake_verbs_rx_no_buffer()
{
    return rx_no_buffer.load();
}

FAKE_EXPORT std::uint64_t spead2_fake_verbs_teardown_errors()
{
    return teardown_errors.load();
}

FAKE_EXPORT std::uint32_t spead2_fake_verbs_rate_limit()
{
    return last_rate_limit.load();
}

FAKE_EXPORT rdma_event_channel *rdma_create_event_channel()
{
    FAIL_IF_ASKED("rdma_create_event_channel", nullptr);
    auto *c = new rdma_event_channel();
    c->fd = ::eventfd(0, EFD_CLOEXEC);
    return c;
}

FAKE_EXPORT void rdma_destroy_event_channel(rdma_event_channel *channel)
{
    ::close(channel->fd);
    delete channel;
}

FAKE_EXPORT int rdma_create_id(rdma_event_channel *channel, rdma_cm_id **id, void *context,
                               rdma_port_space ps)
{
    FAIL_IF_ASKED("rdma_create_id", -1);
    auto *i = new rdma_cm_id();
    i->channel = channel;
    i->context = context;
    i->ps = ps;
    *id = i;
    return 0;
}

FAKE_EXPORT int rdma_bind_addr(rdma_cm_id *id, sockaddr *addr)
{
    FAIL_IF_ASKED("rdma_bind_addr", -1);
    if (addr->sa_family != AF_INET)
    {
        errno = EAFNOSUPPORT;
        return -1;
    }
    const in_addr_t wanted = reinterpret_cast<const sockaddr_in *>(addr)->sin_addr.s_addr;
    ifaddrs *list = nullptr;
    if (::getifaddrs(&list) != 0)
        return -1;
    std::string name;
    for (ifaddrs *it = list; it; it = it->ifa_next)
        if (it->ifa_addr && it->ifa_addr->sa_family == AF_INET &&
            reinterpret_cast<const sockaddr_in *>(it->ifa_addr)->sin_addr.s_addr == wanted)
            name = it->ifa_name;
    ::freeifaddrs(list);
    if (name.empty())
    {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    static ibv_device fake_device = []
    {
        ibv_device d{};
        std::strcpy(d.name, "spead2_fake0");
        std::strcpy(d.dev_name, "uverbs_fake0");
        return d;
    }();
    auto *ctx = new fake_context();
    ctx->ifname = name;
    ctx->ifindex = int(::if_nametoindex(name.c_str()));
    {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifreq request{};
        std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
        if (fd >= 0 && ::ioctl(fd, SIOCGIFMTU, &request) == 0)
            ctx->mtu = std::size_t(request.ifr_mtu);
        ::close(fd);
    }
    ibv_context &c = ctx->v.context;
    c.device = &fake_device;
    c.num_comp_vectors = 4;
    c.cmd_fd = -1;
    c.async_fd = -1;
    c.abi_compat = __VERBS_ABI_IS_EXTENDED;
    c.ops.poll_cq = fake_poll_cq;
    c.ops.req_notify_cq = fake_req_notify_cq;
    c.ops.post_send = fake_post_send;
    c.ops.post_recv = fake_post_recv;
    ctx->v.sz = sizeof(verbs_context);
    ctx->v.ibv_create_flow = fake_create_flow;
    ctx->v.ibv_destroy_flow = fake_destroy_flow;
    ctx->v.query_device_ex = fake_query_device_ex;
    ctx->v.modify_qp_rate_limit = fake_modify_qp_rate_limit;
    ctx->v.create_cq_ex = fake_create_cq_ex;
    id->verbs = &c;
    id->port_num = 1;
    std::memcpy(&id->route.addr.src_addr, addr, sizeof(sockaddr_in));
    return 0;
}

FAKE_EXPORT int rdma_destroy_id(rdma_cm_id *id)
{
    if (id->verbs)
        delete context_of(id->verbs);
    delete id;
    return 0;
}

FAKE_EXPORT int ibv_query_device(ibv_context *, ibv_device_attr *attr)
{
    int asked;
    if (should_fail("ibv_query_device", asked))
        return asked;
    *attr = ibv_device_attr{};
    std::strcpy(attr->fw_ver, "fake");
    attr->max_qp = 1024;
    attr->max_qp_wr = max_wr();
    attr->max_cqe = max_wr();
    attr->max_cq = 1024;
    attr->max_sge = 30;
    attr->phys_port_cnt = 1;
    return 0;
}

FAKE_EXPORT ibv_pd *ibv_alloc_pd(ibv_context *context)
{
    FAIL_IF_ASKED("ibv_alloc_pd", nullptr);
    auto *pd = new ibv_pd();
    pd->context = context;
    pd->handle = next_handle++;
    return pd;
}

FAKE_EXPORT int ibv_dealloc_pd(ibv_pd *pd)
{
    if (!unused(pd))
        return EBUSY;
    delete pd;
    return 0;
}

FAKE_EXPORT ibv_mr *(ibv_reg_mr)(ibv_pd *pd, void *addr, size_t length, int access)
{
    FAIL_IF_ASKED("ibv_reg_mr", nullptr);
    auto *m = new fake_mr();
    m->mr.context = pd->context;
    m->mr.pd = pd;
    m->mr.addr = addr;
    m->mr.length = length;
    m->mr.handle = next_handle++;
    m->mr.lkey = m->mr.rkey = next_handle++;
    (void)access;
    add_user(pd);
    fake_context *ctx = context_of(pd->context);
    std::lock_guard<std::mutex> lock(ctx->mutex);
    ctx->mrs.push_back(m);
    return &m->mr;
}

FAKE_EXPORT int ibv_dereg_mr(ibv_mr *mr)
{
    auto *m = reinterpret_cast<fake_mr *>(mr);
    remove_user(mr->pd);
    fake_context *ctx = context_of(mr->context);
    std::lock_guard<std::mutex> lock(ctx->mutex);
    ctx->mrs.erase(std::find(ctx->mrs.begin(), ctx->mrs.end(), m));
    delete m;
    return 0;
}

FAKE_EXPORT ibv_comp_channel *ibv_create_comp_channel(ibv_context *context)
{
    FAIL_IF_ASKED("ibv_create_comp_channel", nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return nullptr;
    ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
    auto *c = new fake_channel();
    c->channel.context = context;
    c->channel.fd = fds[0];
    c->write_fd = fds[1];
    return &c->channel;
}

FAKE_EXPORT int ibv_destroy_comp_channel(ibv_comp_channel *channel)
{
    if (!unused(channel))
        return EBUSY;
    auto *c = reinterpret_cast<fake_channel *>(channel);
    ::close(c->channel.fd);
    ::close(c->write_fd);
    delete c;
    return 0;
}

FAKE_EXPORT ibv_cq *ibv_create_cq(ibv_context *context, int cqe, void *cq_context, ibv_comp_channel *channel,
                                  int comp_vector)
{
    FAIL_IF_ASKED("ibv_create_cq", nullptr);
    if (!valid_cq_request(context, cqe, comp_vector))
    {
        errno = EINVAL;
        return nullptr;
    }
    return ibv_cq_ex_to_cq(&new_cq(context, cqe, cq_context, channel)->cq);
}

FAKE_EXPORT int ibv_destroy_cq(ibv_cq *cq)
{
    if (!unused(cq))
        return EBUSY;
    remove_user(cq->channel);
    delete reinterpret_cast<fake_cq *>(cq);
    return 0;
}

FAKE_EXPORT int ibv_get_cq_event(ibv_comp_channel *channel, ibv_cq **cq, void **cq_context)
{
    ibv_cq *which = nullptr;
    const ssize_t n = ::read(channel->fd, &which, sizeof(which));
    if (n != sizeof(which))
        return -1; // errno from read: EAGAIN on a non-blocking channel with no event
    *cq = which;
    *cq_context = which->cq_context;
    return 0;
}

FAKE_EXPORT void ibv_ack_cq_events(ibv_cq *cq, unsigned int nevents)
{
    cq->comp_events_completed += nevents;
}

FAKE_EXPORT ibv_qp *ibv_create_qp(ibv_pd *pd, ibv_qp_init_attr *attr)
{
    FAIL_IF_ASKED("ibv_create_qp", nullptr);
    if (attr->qp_type != IBV_QPT_RAW_PACKET || !attr->send_cq || !attr->recv_cq ||
        attr->cap.max_recv_wr > std::uint32_t(max_wr()) || attr->cap.max_send_wr > std::uint32_t(max_wr()) ||
        attr->cap.max_send_sge > 30 || attr->cap.max_recv_sge > 30)
    {
        errno = EINVAL;
        return nullptr;
    }
    fake_context *ctx = context_of(pd->context);
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0)
        return nullptr; // EPERM without CAP_NET_RAW, as for a real raw-packet queue pair
    sockaddr_ll bind_addr{};
    bind_addr.sll_family = AF_PACKET;
    bind_addr.sll_protocol = htons(ETH_P_ALL);
    bind_addr.sll_ifindex = ctx->ifindex;
    const int size = 8 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    if (::bind(fd, reinterpret_cast<const sockaddr *>(&bind_addr), sizeof(bind_addr)) != 0)
    {
        const int error = errno;
        ::close(fd);
        errno = error;
        return nullptr;
    }
    auto *q = new fake_qp();
    q->fd = fd;
    q->stop = ::eventfd(0, EFD_CLOEXEC);
    q->max_recv_wr = attr->cap.max_recv_wr;
    q->max_send_sge = attr->cap.max_send_sge;
    q->qp.context = pd->context;
    q->qp.qp_context = attr->qp_context;
    q->qp.pd = pd;
    q->qp.send_cq = attr->send_cq;
    q->qp.recv_cq = attr->recv_cq;
    q->qp.handle = next_handle++;
    q->qp.qp_num = q->qp.handle;
    q->qp.state = IBV_QPS_RESET;
    q->qp.qp_type = IBV_QPT_RAW_PACKET;
    {
        std::lock_guard<std::mutex> lock(qps_mutex);
        all_qps.push_back(q);
        add_user(pd);
        add_user(attr->send_cq);
        add_user(attr->recv_cq);
    }
    q->receiver = std::thread([q] { q->receive_loop(); });
    return &q->qp;
}

FAKE_EXPORT int ibv_modify_qp(ibv_qp *qp, ibv_qp_attr *attr, int mask)
{
    int asked;
    if (should_fail("ibv_modify_qp", asked))
        return asked;
    if (mask & IBV_QP_STATE)
    {
        auto *q = reinterpret_cast<fake_qp *>(qp);
        std::lock_guard<std::mutex> lock(q->mutex);
        const ibv_qp_state from = qp->state, to = attr->qp_state;
        const bool valid = (to == IBV_QPS_INIT && from == IBV_QPS_RESET && (mask & IBV_QP_PORT)) ||
                           (to == IBV_QPS_RTR && from == IBV_QPS_INIT) ||
                           (to == IBV_QPS_RTS && from == IBV_QPS_RTR) || to == IBV_QPS_RESET ||
                           to == IBV_QPS_ERR;
        if (!valid)
            return EINVAL;
        qp->state = to;
    }
    return 0;
}

FAKE_EXPORT int ibv_destroy_qp(ibv_qp *qp)
{
    auto *q = reinterpret_cast<fake_qp *>(qp);
    {
        std::lock_guard<std::mutex> lock(q->mutex);
        if (!q->flows.empty())
            return EBUSY; // as a device does: flow rules must go first
    }
    const std::uint64_t one = 1;
    if (::write(q->stop, &one, sizeof(one)) != sizeof(one))
        std::abort();
    q->receiver.join();
    {
        std::lock_guard<std::mutex> lock(qps_mutex);
        all_qps.erase(std::find(all_qps.begin(), all_qps.end(), q));
        remove_user(q->qp.pd);
        remove_user(q->qp.send_cq);
        remove_user(q->qp.recv_cq);
    }
    ::close(q->fd);
    ::close(q->stop);
    delete q;
    return 0;
}
