/* Allow and block lists. Allow: an LPM match passes the packet at once. Block: the
 * exact-address hash first (most blocks are single addresses), then the prefix trie;
 * expired entries are ignored (the daemon removes them). */
#ifndef FG_LISTS_H
#define FG_LISTS_H

#include "maps.h"
#include "parse.h"

static __always_inline int fg_check_allow(const struct fg_pkt *pkt)
{
	struct fg_lpm_key key = {.prefixlen = 128, .addr = pkt->src};
	struct fg_allow *a = bpf_map_lookup_elem(&allow_lpm, &key);

	if (!a)
		return FG_NEXT;
	__sync_fetch_and_add(&a->hits, 1);
	return FG_R_PASS_ALLOW;
}

static __always_inline int fg_block_verdict(struct fg_block *b)
{
	if (b->expires_ns && b->expires_ns <= bpf_ktime_get_ns())
		return FG_NEXT;
	__sync_fetch_and_add(&b->hits, 1);
	return b->origin == FG_ORIGIN_REPUTATION ? FG_R_REPUTATION : FG_R_BLOCKED;
}

static __always_inline int fg_check_block(const struct fg_pkt *pkt)
{
	struct fg_lpm_key key = {.prefixlen = 128, .addr = pkt->src};
	struct fg_block *b;
	int r;

	b = bpf_map_lookup_elem(&block_exact, &pkt->src);
	if (b) {
		r = fg_block_verdict(b);
		if (r != FG_NEXT)
			return r;
	}
	b = bpf_map_lookup_elem(&block_lpm, &key);
	return b ? fg_block_verdict(b) : FG_NEXT;
}

#endif /* FG_LISTS_H */
