/* Port/protocol policy, reflection and fragment rules: what this host offers at all. */
#ifndef FG_POLICY_H
#define FG_POLICY_H

#include "maps.h"
#include "parse.h"

static __always_inline int fg_portset_has(__u32 set, __u16 port)
{
	struct fg_portset *ps = bpf_map_lookup_elem(&portsets, &set);

	return ps && (ps->bits[(port >> 6) & 1023] >> (port & 63)) & 1;
}

/* Listed deny -> drop; listed allow -> next stage; otherwise the protocol's default.
 * Non-first fragments carry no port: only the protocol default applies to them. */
static __always_inline int fg_check_policy(const struct fg_pkt *pkt, const struct fg_config *cfg)
{
	__u32 proto = pkt->proto;
	__u8 dflt;

	if (proto >= FG_PROTO_MAX)
		return FG_R_POLICY;
	dflt = cfg->policy_default[proto];
	if (proto == FG_PROTO_OTHER || pkt->frag == FG_FRAG_NONFIRST)
		return dflt == FG_ACT_DROP ? FG_R_POLICY : FG_NEXT;
	if (fg_portset_has(FG_PORTSET(proto, FG_PORTSET_DENY), pkt->dport))
		return FG_R_POLICY;
	if (fg_portset_has(FG_PORTSET(proto, FG_PORTSET_ALLOW), pkt->dport))
		return FG_NEXT;
	return dflt == FG_ACT_DROP ? FG_R_POLICY : FG_NEXT;
}

/* UDP from an amplification port (DNS, NTP, memcached...) is reflection, unless it is
 * addressed to a service this host offers (explicitly allowed UDP port). */
static __always_inline int fg_check_reflection(struct fg_pkt *pkt, const struct fg_config *cfg)
{
	if (!cfg->reflection_on || pkt->proto != FG_PROTO_UDP || pkt->frag == FG_FRAG_NONFIRST)
		return FG_NEXT;
	pkt->reflection =
	    fg_portset_has(FG_PORTSET_REFLECTION, pkt->sport) ? FG_REFL_YES : FG_REFL_NO;
	if (pkt->reflection == FG_REFL_NO)
		return FG_NEXT;
	if (fg_portset_has(FG_PORTSET(FG_PROTO_UDP, FG_PORTSET_ALLOW), pkt->dport))
		return FG_NEXT;
	return FG_R_REFLECTION;
}

static __always_inline int fg_check_fragments(const struct fg_pkt *pkt, const struct fg_config *cfg)
{
	if (pkt->frag == FG_FRAG_NONE)
		return FG_NEXT;
	if (pkt->l4proto == IPPROTO_TCP && cfg->frag_tcp_action == FG_ACT_DROP)
		return FG_R_FRAGMENT;
	if (pkt->frag == FG_FRAG_NONFIRST && cfg->frag_nonfirst_action == FG_ACT_DROP)
		return FG_R_FRAGMENT;
	return FG_NEXT;
}

#endif /* FG_POLICY_H */
