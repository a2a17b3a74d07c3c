/* The one exit: count what arrived by traffic vector, turn the reason into a verdict
 * (mode, malformed rule), count it per CPU, and sample 1 in N drops/would-drops (and, when
 * asked for evidence, passes) into the events ring buffer. */
#ifndef FG_STATS_H
#define FG_STATS_H

#include "maps.h"
#include "parse.h"
#include "policy.h"

static __always_inline int fg_verdict(const struct fg_config *cfg, __u32 reason)
{
	if (reason < FG_R_FIRST_DROP)
		return XDP_PASS;
	if (reason == FG_R_MALFORMED)
		return cfg->malformed_action == FG_ACT_DROP ? XDP_DROP : XDP_PASS;
	return cfg->mode == FG_MODE_ENFORCE ? XDP_DROP : XDP_PASS;
}

static __always_inline void fg_sample(struct xdp_md *ctx, __u32 reason, __u32 len, int verdict,
				      struct fg_counters *cnt)
{
	struct fg_sample *s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	__u64 cap;

	if (!s) {
		cnt->samples_lost++;
		return;
	}
	s->ts_ns = bpf_ktime_get_ns();
	s->reason = reason;
	s->ifindex = ctx->ingress_ifindex;
	s->pkt_len = len;
	s->verdict = verdict == XDP_DROP ? FG_ACT_DROP : FG_ACT_PASS;
	/* The barriers hide the min() from the compiler so that it emits both checks, one by
	 * one, on the very register the helper receives, where the verifier sees them. The
	 * lower bound is an Ethernet header, not 1: "cap >= 1" compiles to "cap != 0", from
	 * which the 6.1 verifier learns nothing (and no shorter frame reaches XDP anyway). */
	cap = len < FG_SAMPLE_BYTES ? len : FG_SAMPLE_BYTES;
	asm volatile("" : "+r"(cap));
	s->cap_len = 0;
	if (cap >= sizeof(struct ethhdr)) {
		asm volatile("" : "+r"(cap));
		if (cap <= FG_SAMPLE_BYTES && bpf_xdp_load_bytes(ctx, 0, s->data, cap) == 0)
			s->cap_len = cap;
	}
	/* No wakeup: the daemon drains the ring on its own clock. Waking it per sample cost
	 * ~19 us of the sending CPU each (measured: scripts/bench-compare). */
	bpf_ringbuf_submit(s, BPF_RB_NO_WAKEUP);
	cnt->samples++;
}

/* See enum fg_traffic_vector. Malformed packets count in the total only: their fields
 * may be half parsed. */
static __always_inline void fg_count_traffic(struct fg_traffic *t, const struct fg_pkt *pkt,
					     __u32 reason)
{
	__u32 len = pkt->len;
	int vec = -1;

	t->packets[FG_TV_TOTAL]++;
	t->bytes[FG_TV_TOTAL] += len;
	if (reason == FG_R_MALFORMED || reason == FG_R_PASS_NON_IP)
		return;
	if (pkt->frag == FG_FRAG_NONFIRST)
		vec = FG_TV_FRAGMENT;
	else if (pkt->syn)
		vec = FG_TV_SYN;
	else if (pkt->proto == FG_PROTO_UDP)
		vec = FG_TV_UDP;
	else if (pkt->proto == FG_PROTO_ICMP || pkt->proto == FG_PROTO_ICMP6)
		vec = FG_TV_ICMP;
	if (vec < 0)
		return;
	t->packets[vec]++;
	t->bytes[vec] += len;
	/* The reflection stage has usually looked the port up already (pkt->reflection). */
	if (vec == FG_TV_UDP && (pkt->reflection == FG_REFL_YES ||
				 (pkt->reflection == FG_REFL_UNKNOWN &&
				  fg_portset_has(FG_PORTSET_REFLECTION, pkt->sport)))) {
		t->packets[FG_TV_REFLECTION]++;
		t->bytes[FG_TV_REFLECTION] += len;
	}
}

static __always_inline int fg_record(struct xdp_md *ctx, const struct fg_config *cfg, __u32 reason,
				     const struct fg_pkt *pkt)
{
	int verdict = fg_verdict(cfg, reason);
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 *slotp = bpf_map_lookup_elem(&ifslots, &ifindex); /* NULL past FG_MAX_IFINDEX */
	__u32 slot = slotp && *slotp <= FG_MAX_IFACES ? *slotp : 0;
	struct fg_slot_stats *st = bpf_map_lookup_elem(&stats, &slot);
	struct fg_counters *cnt;
	__u32 len = pkt->len;
	__u32 every;
	__u64 seen;

	if (!st || reason >= FG_R_MAX)
		return verdict;
	fg_count_traffic(&st->traffic, pkt, reason);
	cnt = &st->reason[reason];
	if (verdict == XDP_DROP) {
		cnt->drop_packets++;
		cnt->drop_bytes += len;
	} else {
		cnt->pass_packets++;
		cnt->pass_bytes += len;
	}
	every = reason >= FG_R_FIRST_DROP ? cfg->sample_every
		: reason == FG_R_PASS	  ? cfg->sample_pass_every
					  : 0;
	if (every) {
		seen = cnt->pass_packets + cnt->drop_packets;
		if (seen % every == 0)
			fg_sample(ctx, reason, len, verdict, cnt);
	}
	return verdict;
}

#endif /* FG_STATS_H */
