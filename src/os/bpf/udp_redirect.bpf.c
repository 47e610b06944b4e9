// SPDX-License-Identifier: LGPL-3.0-or-later
/*
 * The XDP program of spead2's AF_XDP reader (compiled with clang -target bpf, embedded in the
 * library). It redirects IPv4 UDP frames whose destination is in `endpoints` to the AF_XDP
 * socket of the receive queue in `sockets`, and passes every other frame to the kernel, so that
 * ARP, ssh and the rest keep working. Frames it cannot parse go to the kernel too.
 *
 * An endpoint matches a frame's destination address and port exactly, or with address 0 any
 * address. One optional 802.1Q tag is looked through. First fragments carry the UDP header and
 * are redirected (user space counts them as drops); later fragments have none and go to the
 * kernel. Bumps `counters` (redirected, passed) per CPU.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct endpoint
{
    __u32 address; /* network byte order; 0 = any */
    __u16 port;    /* network byte order */
    __u16 pad;
};

struct
{
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u32);
} sockets SEC(".maps");

struct
{
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct endpoint);
    __type(value, __u8);
} endpoints SEC(".maps");

struct
{
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 which, int action)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &which);
    if (value)
        (*value)++;
    return action;
}

SEC("xdp")
int spead2_udp_redirect(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return count(1, XDP_PASS);
    __u16 proto = eth->h_proto;
    void *l3 = eth + 1;
    if (proto == bpf_htons(ETH_P_8021Q))
    {
        __be16 *tag = l3;
        if ((void *)(tag + 2) > data_end)
            return count(1, XDP_PASS);
        proto = tag[1];
        l3 = tag + 2;
    }
    if (proto != bpf_htons(ETH_P_IP))
        return count(1, XDP_PASS);
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
        return count(1, XDP_PASS);
    if (ip->frag_off & bpf_htons(0x1fff)) /* a later fragment: no UDP header */
        return count(1, XDP_PASS);
    struct udphdr *udp = (void *)ip + ip->ihl * 4;
    if ((void *)(udp + 1) > data_end)
        return count(1, XDP_PASS);
    struct endpoint key = {ip->daddr, udp->dest, 0};
    if (!bpf_map_lookup_elem(&endpoints, &key))
    {
        key.address = 0;
        if (!bpf_map_lookup_elem(&endpoints, &key))
            return count(1, XDP_PASS);
    }
    /* XDP_PASS if the queue has no socket. */
    return count(0, bpf_redirect_map(&sockets, ctx->rx_queue_index, XDP_PASS));
}

char LICENSE[] SEC("license") = "LGPL";
