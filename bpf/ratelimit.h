/* Rate limits: GCRA token buckets per source (aggregated to a prefix so rotating the low
 * bits does not escape) and per protected destination (all sources together, so a flood
 * spoofed from millions of addresses is still capped). A bucket with rate R and burst B
 * lets B units through at once and one more every 1/R s. */
#ifndef FG_RATELIMIT_H
#define FG_RATELIMIT_H

#include "maps.h"
#include "parse.h"
#include "prefix.h"

/* Which vector a packet spends, and how much of it: up to two (UDP packets and bytes). */
struct fg_cost {
	__s8 vec[2];
	__u32 units[2];
};

static __always_inline struct fg_cost fg_packet_cost(const struct fg_pkt *pkt)
{
	struct fg_cost c = {.vec = {-1, -1}};

	if (pkt->proto == FG_PROTO_TCP && pkt->syn) {
		c.vec[0] = FG_VEC_SYN;
		c.units[0] = 1;
	} else if (pkt->proto == FG_PROTO_UDP) {
		c.vec[0] = FG_VEC_UDP_PKTS;
		c.units[0] = 1;
		c.vec[1] = FG_VEC_UDP_BYTES;
		c.units[1] = pkt->len;
	} else if (pkt->proto == FG_PROTO_ICMP || pkt->proto == FG_PROTO_ICMP6) {
		c.vec[0] = FG_VEC_ICMP;
		c.units[0] = 1;
	}
	return c;
}

/* GCRA: conforming if the bucket's theoretical arrival time, advanced by this packet's
 * cost, stays within the burst tolerance of now. Nonconforming packets do not spend. */
static __always_inline int fg_gcra(__u64 *tat, const struct fg_bucket_cfg *b, __u32 units,
				   __u64 now)
{
	__u64 t, next;

	if (!b->interval_fp)
		return 1;
	t = *tat > now ? *tat : now;
	next = t + ((units * b->interval_fp) >> FG_FP_SHIFT);
	if (next - now > b->burst_ns)
		return 0;
	*tat = next;
	return 1;
}

/* Checks every vector the packet spends; returns FG_NEXT or base + the violated vector. */
static __always_inline int fg_spend(__u64 *tat, const struct fg_bucket_cfg *cfgs,
				    const struct fg_cost *c, __u64 now, int base)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		__s8 v = c->vec[i];

		if (v < 0 || v >= FG_VEC_MAX)
			continue;
		if (!fg_gcra(&tat[v], &cfgs[v], c->units[i], now))
			return base + v;
	}
	return FG_NEXT;
}

/* The source's state if it has any; `key` is set to the source's aggregated prefix. */
static __always_inline struct fg_src_state *
fg_src_find(const struct fg_pkt *pkt, const struct fg_config *cfg, struct fg_addr *key)
{
	*key = pkt->src;
	fg_mask_addr(key, pkt->is_v6 ? cfg->src_prefix_v6 : 96 + cfg->src_prefix_v4);
	return bpf_map_lookup_elem(&src_state, key);
}

/* Fresh state for a source seen for the first time (the LRU evicts the quietest). */
static __always_inline struct fg_src_state *fg_src_create(const struct fg_addr *key)
{
	struct fg_src_state fresh = {};

	bpf_map_update_elem(&src_state, key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&src_state, key);
}

static __always_inline int fg_limit_source(struct fg_src_state *st, const struct fg_cost *c,
					   const struct fg_config *cfg, __u64 now)
{
	return fg_spend(st->tat, cfg->src, c, now, FG_R_SYN_RATE);
}

/* The aggregate bucket index of the protected prefix covering `dst`, or -1. A subprogram
 * for the reason given in lists.h. */
static __noinline int fg_protected_index(const struct fg_addr *dst, __u32 v6)
{
	const struct fg_prefix_lens *pl = fg_lens(FG_LIST_PROTECTED, v6);

	if (!pl)
		return -1;
#pragma unroll
	for (__u32 i = 0; i < FG_MAX_PREFIX_LENS && i < pl->count; i++) {
		struct fg_protected *p = fg_prefix_probe(&protected_dsts, NULL, pl, i, dst);

		if (p)
			return p->agg_index;
	}
	return -1;
}

/* An ACK from a source we saw a SYN from (its state exists): it completed a handshake.
 * Only looked up while an aggregate SYN limit is set; never creates state. */
static __always_inline void fg_note_handshake(const struct fg_pkt *pkt, const struct fg_config *cfg)
{
	struct fg_src_state *st;
	struct fg_addr key;

	if (!pkt->ack || !cfg->agg_on || !cfg->agg[FG_VEC_SYN].interval_fp)
		return;
	key = pkt->src;
	fg_mask_addr(&key, pkt->is_v6 ? cfg->src_prefix_v6 : 96 + cfg->src_prefix_v4);
	st = bpf_map_lookup_elem(&src_state, &key);
	if (st && !(st->flags & FG_SRC_VERIFIED))
		st->flags |= FG_SRC_VERIFIED;
}

/* `src` may be NULL (no per-source state). Verified sources skip the SYN aggregate. */
static __always_inline int fg_limit_aggregate(const struct fg_pkt *pkt, const struct fg_cost *c,
					      const struct fg_config *cfg,
					      const struct fg_src_state *src, __u64 now)
{
	struct fg_agg_state *agg;
	int index;

	if (!cfg->agg_on)
		return FG_NEXT;
	if (c->vec[0] == FG_VEC_SYN && src && (src->flags & FG_SRC_VERIFIED))
		return FG_NEXT;
	index = fg_protected_index(&pkt->dst, pkt->is_v6);
	if (index < 0)
		return FG_NEXT;
	agg = bpf_map_lookup_elem(&agg_state, &index);
	if (!agg)
		return FG_NEXT;
	return fg_spend(agg->tat, cfg->agg, c, now, FG_R_AGG_SYN);
}

#endif /* FG_RATELIMIT_H */
