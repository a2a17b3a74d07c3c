/* Parsing: Ethernet, up to FG_MAX_VLAN_TAGS VLAN tags, IPv4, IPv6 with a bounded
 * extension-header walk, and the first bytes of TCP/UDP/ICMP/ICMPv6 into struct fg_pkt.
 * A cursor advances header by header; each header is bounds-checked once against
 * data_end before any field is read. */
#ifndef FG_PARSE_H
#define FG_PARSE_H

#include "common.h"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

enum fg_frag {
	FG_FRAG_NONE = 0,
	FG_FRAG_FIRST,	  /* offset 0, more fragments follow: L4 header present */
	FG_FRAG_NONFIRST, /* offset > 0: no L4 header */
};

/* Whether UDP's source port is in the reflection portset, once a stage has looked. */
enum fg_refl {
	FG_REFL_UNKNOWN = 0,
	FG_REFL_NO,
	FG_REFL_YES,
};

/* What the stages after parsing need to know about a packet. */
struct fg_pkt {
	struct fg_addr src;
	struct fg_addr dst;
	__u32 len;   /* bytes on the wire (data_end - data) */
	__u16 sport; /* host order; ICMP: type in dport */
	__u16 dport;
	__u8 l4proto; /* IPPROTO_* */
	__u8 proto;   /* enum fg_proto */
	__u8 is_v6;
	__u8 frag;	 /* enum fg_frag */
	__u8 syn;	 /* TCP SYN without ACK */
	__u8 ack;	 /* TCP ACK without SYN: a client's side of a connection */
	__u8 reflection; /* enum fg_refl, set by fg_check_reflection */
};

/* `end` is data_end, the bound the verifier knows; `limit` is where the IP packet ends
 * by its own length field (frames may carry padding after it), checked as well. */
struct fg_cursor {
	void *pos;
	void *end;
	void *limit;
};

/* A 16-bit length field in host order, for pointer arithmetic. Verifiers before ~6.5 lose
 * a value's bounds through the byte swap; the mask, which the barrier keeps the compiler
 * from dropping, gives them back (0..65535). */
static __always_inline __u32 fg_len16(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	asm volatile("" : "+r"(x));
	return x & 0xffff;
}

/* Returns a pointer to the next `len` bytes and advances, or NULL when they do not fit. */
static __always_inline void *fg_pull(struct fg_cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end || p + len > c->limit)
		return NULL;
	c->pos = p + len;
	return p;
}

struct fg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int fg_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline void fg_addr_from_v4(struct fg_addr *a, __be32 v4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0xffff);
	a->w[3] = v4;
}

static __always_inline void fg_addr_from_v6(struct fg_addr *a, const struct in6_addr *v6)
{
	a->w[0] = v6->in6_u.u6_addr32[0];
	a->w[1] = v6->in6_u.u6_addr32[1];
	a->w[2] = v6->in6_u.u6_addr32[2];
	a->w[3] = v6->in6_u.u6_addr32[3];
}

/* IPv4: IHL >= 5, the whole header present, total length covers the header and does not
 * run past the frame (frames may carry padding after it). */
static __always_inline int fg_parse_ipv4(struct fg_cursor *c, struct fg_pkt *pkt)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(ip + 1) > c->end)
		return FG_R_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return FG_R_MALFORMED;
	hlen = ip->ihl * 4;
	tot = fg_len16(ip->tot_len);
	if (tot < hlen || c->pos + tot > c->end)
		return FG_R_MALFORMED;
	if (!fg_pull(c, hlen))
		return FG_R_MALFORMED;
	c->limit = (void *)ip + tot;

	fg_addr_from_v4(&pkt->src, ip->saddr);
	fg_addr_from_v4(&pkt->dst, ip->daddr);
	pkt->l4proto = ip->protocol;
	frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x1fff)
		pkt->frag = FG_FRAG_NONFIRST;
	else if (frag & 0x2000)
		pkt->frag = FG_FRAG_FIRST;
	return FG_NEXT;
}

struct fg_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-byte units, not counting the first 8 */
};

struct fg_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

/* IPv6: payload length within the frame, then at most FG_MAX_IPV6_EXT extension headers
 * (hop-by-hop, routing, destination options, fragment). A longer chain is malformed. */
static __always_inline int fg_parse_ipv6(struct fg_cursor *c, struct fg_pkt *pkt)
{
	struct ipv6hdr *ip6 = fg_pull(c, sizeof(*ip6));
	__u8 next;

	if (!ip6 || ip6->version != 6)
		return FG_R_MALFORMED;
	/* payload_len 0 would be a jumbogram, which no Ethernet frame can carry. */
	if (ip6->payload_len == 0 || c->pos + fg_len16(ip6->payload_len) > c->end)
		return FG_R_MALFORMED;
	c->limit = c->pos + fg_len16(ip6->payload_len);
	fg_addr_from_v6(&pkt->src, &ip6->saddr);
	fg_addr_from_v6(&pkt->dst, &ip6->daddr);
	pkt->is_v6 = 1;
	next = ip6->nexthdr;

/* Up to FG_MAX_IPV6_EXT extension headers, then the upper-layer header. */
#pragma unroll
	for (int i = 0; i <= FG_MAX_IPV6_EXT; i++) {
		if (next == IPPROTO_FRAGMENT) {
			struct fg_ipv6_frag *fh = fg_pull(c, sizeof(*fh));
			__u16 off;

			if (!fh || i == FG_MAX_IPV6_EXT)
				return FG_R_MALFORMED;
			off = bpf_ntohs(fh->frag_off);
			if (off & 0xfff8)
				pkt->frag = FG_FRAG_NONFIRST;
			else if (off & 1)
				pkt->frag = FG_FRAG_FIRST;
			next = fh->nexthdr;
			if (pkt->frag == FG_FRAG_NONFIRST)
				break; /* what follows is payload, not headers */
		} else if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
			   next == IPPROTO_DSTOPTS) {
			struct fg_ipv6_ext *eh = fg_pull(c, sizeof(*eh));

			if (!eh || i == FG_MAX_IPV6_EXT ||
			    !fg_pull(c, eh->hdrlen * 8 + 8 - sizeof(*eh)))
				return FG_R_MALFORMED;
			next = eh->nexthdr;
		} else {
			break;
		}
	}
	pkt->l4proto = next;
	return FG_NEXT;
}

/* L4: ports, TCP flags, ICMP type. Non-first fragments have no L4 header. */
static __always_inline int fg_parse_l4(struct fg_cursor *c, struct fg_pkt *pkt)
{
	switch (pkt->l4proto) {
	case IPPROTO_TCP:
		pkt->proto = FG_PROTO_TCP;
		break;
	case IPPROTO_UDP:
		pkt->proto = FG_PROTO_UDP;
		break;
	case IPPROTO_ICMP:
		pkt->proto = pkt->is_v6 ? FG_PROTO_OTHER : FG_PROTO_ICMP;
		break;
	case IPPROTO_ICMPV6:
		pkt->proto = pkt->is_v6 ? FG_PROTO_ICMP6 : FG_PROTO_OTHER;
		break;
	default:
		pkt->proto = FG_PROTO_OTHER;
		return FG_NEXT;
	}
	if (pkt->frag == FG_FRAG_NONFIRST)
		return FG_NEXT;

	if (pkt->proto == FG_PROTO_TCP) {
		struct tcphdr *th = fg_pull(c, sizeof(*th));

		if (!th || th->doff < 5 || !fg_pull(c, th->doff * 4 - sizeof(*th)))
			return FG_R_MALFORMED;
		pkt->sport = bpf_ntohs(th->source);
		pkt->dport = bpf_ntohs(th->dest);
		pkt->syn = th->syn && !th->ack;
		pkt->ack = th->ack && !th->syn;
	} else if (pkt->proto == FG_PROTO_UDP) {
		struct udphdr *uh = fg_pull(c, sizeof(*uh));

		if (!uh || bpf_ntohs(uh->len) < sizeof(*uh))
			return FG_R_MALFORMED;
		pkt->sport = bpf_ntohs(uh->source);
		pkt->dport = bpf_ntohs(uh->dest);
	} else if (pkt->proto == FG_PROTO_ICMP || pkt->proto == FG_PROTO_ICMP6) {
		/* type, code, checksum and the 4 bytes every ICMP message carries */
		__u8 *ih = fg_pull(c, 8);

		if (!ih)
			return FG_R_MALFORMED;
		pkt->dport = ih[0];
	}
	return FG_NEXT;
}

/* The parse stage: FG_NEXT for IP packets the later stages can judge, else a reason. */
static __always_inline int fg_parse(struct xdp_md *ctx, struct fg_pkt *pkt)
{
	struct fg_cursor c = {.pos = (void *)(long)ctx->data,
			      .end = (void *)(long)ctx->data_end,
			      .limit = (void *)(long)ctx->data_end};
	struct ethhdr *eth;
	__be16 proto;
	int r;

	pkt->len = c.end - c.pos;
	eth = fg_pull(&c, sizeof(*eth));
	if (!eth)
		return FG_R_MALFORMED;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < FG_MAX_VLAN_TAGS; i++) {
		struct fg_vlan_hdr *vh;

		if (!fg_is_vlan(proto))
			break;
		vh = fg_pull(&c, sizeof(*vh));
		if (!vh)
			return FG_R_MALFORMED;
		proto = vh->proto;
	}
	/* A third tag: the stack would not see IP here either; refuse to guess. */
	if (fg_is_vlan(proto))
		return FG_R_MALFORMED;

	if (proto == bpf_htons(ETH_P_IP))
		r = fg_parse_ipv4(&c, pkt);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = fg_parse_ipv6(&c, pkt);
	else
		return FG_R_PASS_NON_IP;
	if (r != FG_NEXT)
		return r;
	return fg_parse_l4(&c, pkt);
}

#endif /* FG_PARSE_H */
