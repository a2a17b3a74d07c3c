// SPDX-License-Identifier: GPL-2.0
/* Floodgate's XDP program: every packet goes down this list of stages; each hands it on
 * (FG_NEXT) or names a reason, and the one exit turns the reason into a verdict. */
#include "common.h"
#include "maps.h"
#include "parse.h"
#include "lists.h"
#include "policy.h"
#include "ratelimit.h"
#include "reputation.h"
#include "stats.h"

char LICENSE[] SEC("license") = "GPL";

#define CHECK(stage)                   \
	do {                           \
		reason = (stage);      \
		if (reason != FG_NEXT) \
			goto out;      \
	} while (0)

SEC("xdp")
int floodgate_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	const struct fg_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct fg_pkt pkt = {};
	const struct fg_prefix_lens *lens;
	struct fg_src_state *src;
	struct fg_addr src_key;
	struct fg_cost cost;
	int agg_spent = 0;
	__u64 now;
	int reason;

	if (!cfg)
		return XDP_PASS; /* unreachable: array maps always have entry 0 */

	CHECK(fg_parse(ctx, &pkt));
	now = bpf_ktime_get_coarse_ns(); /* one jiffy of resolution, a tenth of the cost */
	lens = fg_list_in_use(FG_LIST_ALLOW, pkt.is_v6);
	if (lens)
		CHECK(fg_check_allow(lens, &pkt.src));
	lens = fg_list_in_use(FG_LIST_BLOCK, pkt.is_v6);
	if (lens)
		CHECK(fg_check_block(lens, &pkt.src, now));
	CHECK(fg_check_policy(&pkt, cfg));
	CHECK(fg_check_reflection(&pkt, cfg));
	CHECK(fg_check_fragments(&pkt, cfg));

	fg_note_handshake(&pkt, cfg);

	cost = fg_packet_cost(&pkt);
	if (cost.vec[0] >= 0) {
		src = fg_src_find(&pkt, cfg, &src_key);
		if (!src) {
			/* A source never seen: the aggregate limit decides first, and state is
			 * made only for what it lets through. A spoofed flood it caps then
			 * creates no state, and cannot evict real clients' state (their
			 * handshake marks) from the LRU. */
			CHECK(fg_limit_aggregate(&pkt, &cost, cfg, NULL, now));
			agg_spent = 1;
			src = fg_src_create(&src_key);
		}
		if (src) {
			reason = fg_limit_source(src, &cost, cfg, now);
			if (reason != FG_NEXT) {
				fg_reputation_violation(src, &src_key, &pkt, cfg, now);
				goto out;
			}
		}
		if (!agg_spent)
			CHECK(fg_limit_aggregate(&pkt, &cost, cfg, src, now));
	}
	reason = FG_R_PASS;
out:
	return fg_record(ctx, cfg, reason, &pkt);
}
