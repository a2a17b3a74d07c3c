/* Reputation: each per-source limit violation adds to the source's score, the score
 * halves every rep_half_life_ns, and a score at the threshold makes the program block
 * the source (its aggregated prefix) itself for rep_block_ttl_ns. The block lands in the
 * same map as operator blocks, with origin FG_ORIGIN_REPUTATION, so the daemon lists it
 * and can lift it. */
#ifndef FG_REPUTATION_H
#define FG_REPUTATION_H

#include "maps.h"
#include "parse.h"
#include "prefix.h"

/* fg_decay() is in floodgate.h: user space shows the same score. */

static __always_inline void fg_auto_block(const struct fg_addr *key, const struct fg_pkt *pkt,
					  const struct fg_config *cfg, __u64 now)
{
	struct fg_block b = {.expires_ns = now + cfg->rep_block_ttl_ns,
			     .origin = FG_ORIGIN_REPUTATION};
	/* User space keeps the source-aggregation lengths among the block list's lengths
	 * while reputation is on, so this entry is probed without touching prefix_lens. */
	struct fg_lpm_key lk = {
	    .prefixlen = pkt->is_v6 ? cfg->src_prefix_v6 : 96 + cfg->src_prefix_v4,
	    .addr = *key,
	};

	if (bpf_map_update_elem(&block, &lk, &b, BPF_ANY) == 0)
		fg_filter_add(FG_LIST_BLOCK, &lk);
}

static __always_inline void fg_reputation_violation(struct fg_src_state *st,
						    const struct fg_addr *key,
						    const struct fg_pkt *pkt,
						    const struct fg_config *cfg, __u64 now)
{
	__u64 score;

	if (st->violations < 0xffff)
		st->violations++;
	if (!cfg->rep_threshold)
		return;
	score = fg_decay(st->score, now - st->score_ns, cfg->rep_half_life_ns);
	score += cfg->rep_per_violation;
	st->score_ns = now;
	if (score >= cfg->rep_threshold) {
		fg_auto_block(key, pkt, cfg, now);
		score = 0;
	}
	st->score = score > 0xffffffffu ? 0xffffffffu : score;
}

#endif /* FG_REPUTATION_H */
