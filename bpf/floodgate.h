/* Every struct, enum and constant that the XDP program and the C++ side both see.
 * Included by the bpf/ programs (clang -target bpf) and by controller/ (C++20): nothing here
 * is declared a second time anywhere else. */
#ifndef FLOODGATE_H
#define FLOODGATE_H

#include <linux/types.h>

/* Bumped whenever a map key/value or fg_config changes shape, so a daemon never adopts
 * pinned maps of another layout. */
#define FG_LAYOUT_VERSION 6

/* Why a packet got its verdict. One enum for BPF, daemon, API and metrics; the names
 * user space prints are in fg_reason_name() below. Reasons before FG_R_FIRST_DROP always
 * pass; the others drop in enforce mode and are counted as would-drops in monitor mode
 * (FG_R_MALFORMED follows fg_config.malformed_action instead). */
enum fg_reason {
	FG_R_PASS = 0,	  /* went through every stage */
	FG_R_PASS_NON_IP, /* ARP, LLDP, anything that is not IPv4/IPv6 */
	FG_R_PASS_ALLOW,  /* source is on the allow list */
	FG_R_FIRST_DROP,
	FG_R_MALFORMED = FG_R_FIRST_DROP, /* truncated or inconsistent headers */
	FG_R_BLOCKED,			  /* source on the block list (operator rule) */
	FG_R_REPUTATION,		  /* source blocked by the program itself (reputation) */
	FG_R_POLICY,			  /* protocol/port not offered by this host */
	FG_R_REFLECTION,		  /* UDP from an amplification source port */
	FG_R_FRAGMENT,			  /* fragment refused by the fragment rule */
	FG_R_SYN_RATE,			  /* per-source limits, in enum fg_vector order */
	FG_R_UDP_RATE,
	FG_R_UDP_BYTES,
	FG_R_ICMP_RATE,
	FG_R_AGG_SYN, /* per-destination aggregate limits, same order */
	FG_R_AGG_UDP,
	FG_R_AGG_UDP_BYTES,
	FG_R_AGG_ICMP,
	FG_R_MAX
};

/* Rate-limited vectors: index into fg_config.src / .agg and fg_src_state.tat. */
enum fg_vector {
	FG_VEC_SYN = 0, /* TCP SYN without ACK: new connections */
	FG_VEC_UDP_PKTS,
	FG_VEC_UDP_BYTES,
	FG_VEC_ICMP, /* ICMP and ICMPv6 */
	FG_VEC_MAX
};

enum fg_mode {
	FG_MODE_MONITOR = 0, /* count would-drops, pass everything */
	FG_MODE_ENFORCE = 1,
};

enum fg_action {
	FG_ACT_PASS = 0,
	FG_ACT_DROP = 1,
};

/* Protocols the port policy knows; the portset of (proto, allow|deny) is
 * FG_PORTSET(proto, list). ICMP and ICMPv6 are keyed by type instead of port. */
enum fg_proto {
	FG_PROTO_TCP = 0,
	FG_PROTO_UDP,
	FG_PROTO_ICMP,
	FG_PROTO_ICMP6,
	FG_PROTO_OTHER, /* only a default action, no ports */
	FG_PROTO_MAX
};
#define FG_PORTSET_ALLOW	0
#define FG_PORTSET_DENY		1
#define FG_PORTSET(proto, list) ((proto)*2 + (list))
#define FG_PORTSET_REFLECTION	FG_PORTSET(FG_PROTO_OTHER, 0) /* UDP source ports */
#define FG_PORTSET_MAX		(FG_PORTSET_REFLECTION + 1)

/* Who put a block entry in place (the daemon keeps the operator's text reason). */
enum fg_block_origin {
	FG_ORIGIN_OPERATOR = 1,
	FG_ORIGIN_REPUTATION = 2, /* inserted by the program when a score crossed the threshold */
	FG_ORIGIN_DETECTOR = 3,	  /* inserted by the daemon's playbook */
};

/* Addresses: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so one key type, one trie and
 * one code path serve both families. Network byte order. */
struct fg_addr {
	__u32 w[4];
};

/* Key of the prefix maps (allow, block, protected): the address masked to prefixlen. */
struct fg_lpm_key {
	__u32 prefixlen; /* in the mapped space: IPv4 prefixes are stored as 96 + len */
	struct fg_addr addr;
};

/* The prefix maps are hashes, probed once per prefix length in use, longest first: the
 * first hit is the longest match. Each probe costs about a tenth of an LPM-trie lookup
 * (measured: docs/datapath.md). User space keeps each list's lengths here. */
enum fg_list { FG_LIST_ALLOW = 0, FG_LIST_BLOCK, FG_LIST_PROTECTED, FG_LIST_MAX };
/* Lengths are kept per list and family, so a packet probes only its own family's. */
#define FG_LENS_INDEX(list, v6) ((list)*2 + (v6))
#define FG_LENS_MAX		FG_LENS_INDEX(FG_LIST_MAX, 0)
#define FG_MAX_PREFIX_LENS	15
struct fg_prefix_lens {
	__u8 count;
	__u8 len[FG_MAX_PREFIX_LENS]; /* mapped-space lengths, longest first */
	/* The netmask of each len[i] (network order): four ANDs instead of working the mask
	 * out of the length for each probe (~50 instructions; 2-3 ns a packet saved). */
	__u32 mask[FG_MAX_PREFIX_LENS][4];
};

/* Prefilters: before a list's hash map is probed for a (masked address, length) key, one
 * bit of an array says whether the key may be in it. A clear bit skips the probe (a hash
 * lookup costs ~8 ns, an array word ~1 ns), so a packet that matches no allow or block
 * entry, the usual case, pays for none. A set bit may be stale or shared: the probe then
 * decides. Every writer (user space, and the program for its auto-blocks) sets a key's
 * bit in both halves after inserting the entry. Removing an entry leaves its bit set;
 * user space clears stale bits by rebuilding the inactive half from the maps and then
 * making it the active one.
 * Word 0 of the filter map is the header: bit 0 the active half, bits 8..15 and 16..23
 * the log2 of the bits per half for the allow and block lists (0 = no filter: probe).
 * Then per list (allow, block) its two halves, each 2^shift bits. */
#define FG_FILTER_SHIFT(hdr, list) ((__u32)((hdr) >> (8 + 8 * (list))) & 0xff)
#define FG_FILTER_MIN_SHIFT	   12
#define FG_FILTER_MAX_SHIFT	   30

/* The key's bit, 0..2^shift-1 (shift in 1..63). Multiplicative hashing: the top bits of
 * each product depend on every bit of its input; the products are independent, so the
 * CPU computes them side by side. */
static inline __attribute__((always_inline)) __u64 fg_filter_bit(const struct fg_lpm_key *k,
								 __u32 shift)
{
	__u64 a = ((__u64)k->addr.w[0] << 32) | k->addr.w[1];
	__u64 b = ((__u64)k->addr.w[2] << 32) | k->addr.w[3];

	return (a * 0x9e3779b97f4a7c15ULL + b * 0xc2b2ae3d27d4eb4fULL +
		(__u64)k->prefixlen * 0x165667b19e3779f9ULL) >>
	       (64 - shift);
}

/* Index in the filter map of the word holding `bit` of `list`'s half `half`. */
static inline __attribute__((always_inline)) __u32 fg_filter_word(__u64 hdr, __u32 list, __u32 half,
								  __u64 bit)
{
	__u32 allow_words = (1u << FG_FILTER_SHIFT(hdr, FG_LIST_ALLOW)) >> 6;
	__u32 words = (1u << FG_FILTER_SHIFT(hdr, list)) >> 6;
	__u32 base = 1 + (list == FG_LIST_BLOCK ? 2 * allow_words : 0);

	return base + half * words + (__u32)(bit >> 6);
}

/* Value of the block map. */
struct fg_block {
	__u64 expires_ns; /* CLOCK_MONOTONIC (coarse in the program); 0 = never */
	__u64 hits;	  /* packets matched while not expired; approximate under contention */
	__u32 origin;	  /* enum fg_block_origin */
	__u32 pad;
};

/* Value of the allow map: presence is what counts; hits are for the operator. */
struct fg_allow {
	__u64 hits;
};

/* Value of the protected map: which aggregate bucket set a destination prefix uses. */
struct fg_protected {
	__u32 agg_index; /* < max entries of agg_state */
	__u32 pad;
};

/* A GCRA token bucket, configured by user space with fg_bucket_configure() (C++):
 * interval_fp = nanoseconds per unit (packet or byte) << FG_FP_SHIFT,
 * burst_ns   = burst * interval. interval_fp == 0 disables the bucket. */
#define FG_FP_SHIFT 16
struct fg_bucket_cfg {
	__u64 interval_fp;
	__u64 burst_ns;
};

/* Per-source state (LRU hash keyed by the source address masked to
 * fg_config.src_prefix_v4/v6). 48 bytes: the budget is 64. */
struct fg_src_state {
	__u64 tat[FG_VEC_MAX]; /* GCRA theoretical arrival time per vector, ns */
	__u64 score_ns;	       /* when score was last decayed */
	__u32 score;	       /* reputation, FG_REP_ONE per violation, decays */
	__u16 violations;      /* lifetime violations (saturating), for top-talker views */
	__u16 flags;	       /* FG_SRC_* */
};
/* The source sent a SYN and later an ACK: it completes handshakes, so it is not a spoofed
 * address. Verified sources skip the per-destination SYN aggregate (their own per-source
 * SYN limit still applies): a spoofed SYN flood that fills the aggregate cannot starve
 * the clients that were already talking to us. Tracked only while an aggregate SYN limit
 * is set. */
#define FG_SRC_VERIFIED 1
#define FG_REP_ONE	1024

/* Aggregate state per protected destination (array indexed by fg_protected.agg_index). */
struct fg_agg_state {
	__u64 tat[FG_VEC_MAX];
};

/* The single entry of the config array. Read once per packet; user space rewrites it
 * whole to change mode, thresholds or rules behaviour without reloading. */
struct fg_config {
	__u32 layout_version;		   /* FG_LAYOUT_VERSION, so adopters can check */
	__u8 mode;			   /* enum fg_mode */
	__u8 malformed_action;		   /* enum fg_action, default drop */
	__u8 frag_nonfirst_action;	   /* non-first IPv4/IPv6 fragments */
	__u8 frag_tcp_action;		   /* any fragment of TCP (legit TCP never fragments) */
	__u8 reflection_on;		   /* drop UDP from FG_PORTSET_REFLECTION ports */
	__u8 agg_on;			   /* apply the aggregate limits at all */
	__u8 src_prefix_v4;		   /* aggregate sources by this prefix (32 = per address) */
	__u8 src_prefix_v6;		   /* e.g. 64 */
	__u8 policy_default[FG_PROTO_MAX]; /* enum fg_action for unlisted ports/types */
	__u8 pad[3];
	__u32 sample_every;	 /* sample 1 in N drops per reason and CPU; 0 = off */
	__u32 rep_threshold;	 /* auto-block when score >= this; 0 = reputation off */
	__u32 rep_per_violation; /* score added per per-source limit violation */
	__u32 sample_pass_every; /* also sample 1 in N passed packets (evidence); 0 = off */
	__u64 rep_half_life_ns;	 /* score halves every this many ns */
	__u64 rep_block_ttl_ns;	 /* lifetime of an auto-block */
	struct fg_bucket_cfg src[FG_VEC_MAX];
	struct fg_bucket_cfg agg[FG_VEC_MAX];
};

/* A bitmap over the 65536 ports (or the 256 ICMP types) of one portset. */
struct fg_portset {
	__u64 bits[1024];
};

/* Counters are kept per interface slot: user space gives each attached interface a slot
 * 1..FG_MAX_IFACES in the ifslots map (indexed by ifindex < FG_MAX_IFINDEX); slot 0
 * counts any other. The stats map holds one struct fg_slot_stats per slot, so the exit
 * does one lookup for the verdict's counter and the traffic vectors together. */
#define FG_MAX_IFACES  16
#define FG_MAX_IFINDEX 4096

/* Per-CPU counters per reason. "pass" and "drop" are what really happened to the
 * packet: in monitor mode a drop reason's packets are counted under pass (would-drop). */
struct fg_counters {
	__u64 pass_packets;
	__u64 pass_bytes;
	__u64 drop_packets;
	__u64 drop_bytes;
	__u64 samples;	    /* sampled into the events ring buffer */
	__u64 samples_lost; /* ring buffer full */
};

/* What arrives, whatever its verdict: the detector's view of the traffic, per interface
 * slot. Every packet counts under FG_TV_TOTAL and under at most one of SYN, UDP, ICMP,
 * FRAGMENT (in that order of test: a non-first fragment has no ports); UDP from an
 * amplification source port (the reflection portset) counts under REFLECTION as well. */
enum fg_traffic_vector {
	FG_TV_TOTAL = 0,
	FG_TV_SYN,	  /* TCP SYN without ACK */
	FG_TV_UDP,	  /* every UDP packet, reflection included */
	FG_TV_ICMP,	  /* ICMP and ICMPv6 */
	FG_TV_FRAGMENT,	  /* non-first IPv4/IPv6 fragments */
	FG_TV_REFLECTION, /* UDP from a reflection source port */
	FG_TV_MAX
};
struct fg_traffic {
	__u64 packets[FG_TV_MAX];
	__u64 bytes[FG_TV_MAX];
};

struct fg_slot_stats {
	struct fg_counters reason[FG_R_MAX];
	struct fg_traffic traffic;
};

/* One sampled packet in the events ring buffer: enough to write a pcap record. */
#define FG_SAMPLE_BYTES 128
struct fg_sample {
	__u64 ts_ns;  /* CLOCK_MONOTONIC */
	__u32 reason; /* enum fg_reason */
	__u32 ifindex;
	__u32 pkt_len; /* original length on the wire */
	__u32 cap_len; /* bytes valid in data */
	__u8 verdict;  /* enum fg_action actually applied */
	__u8 pad[7];
	__u8 data[FG_SAMPLE_BYTES];
};

/* Default map sizes; the loader may change them before load. */
#define FG_DEFAULT_BLOCK_ENTRIES (1u << 20)
#define FG_DEFAULT_ALLOW_ENTRIES (1u << 14)
#define FG_DEFAULT_SRC_ENTRIES	 (1u << 20)
#define FG_DEFAULT_PROTECTED	 (1u << 10)
#define FG_DEFAULT_EVENTS_BYTES	 (1u << 22)

/* Reputation decay, shared so that `floodgatectl explain` shows the score the program
 * will see: score * 2^-(elapsed/half_life), whole halvings by shifting, the remainder by
 * the chord 1 - x/2 (exact at both ends of each half-life, within 6 % between). */
static inline __attribute__((always_inline)) __u32 fg_decay(__u32 score, __u64 elapsed,
							    __u64 half_life)
{
	__u64 halvings, rem;

	if (!half_life || !score)
		return score;
	halvings = elapsed / half_life;
	if (halvings >= 32)
		return 0;
	score >>= halvings;
	rem = elapsed - halvings * half_life;
	return score - (__u32)(((__u64)score * rem) / (2 * half_life));
}

/* Bounded walks in the parser (named, small, fixed). */
#define FG_MAX_VLAN_TAGS 2
#define FG_MAX_IPV6_EXT	 6

#ifdef __cplusplus
/* As the config and the API name the per-source and per-destination limits. */
inline const char *fg_vector_name(enum fg_vector v)
{
	switch (v) {
	case FG_VEC_SYN:
		return "syn";
	case FG_VEC_UDP_PKTS:
		return "udp_packets";
	case FG_VEC_UDP_BYTES:
		return "udp_bytes";
	case FG_VEC_ICMP:
		return "icmp";
	case FG_VEC_MAX:
		break;
	}
	return "?";
}

inline const char *fg_traffic_vector_name(enum fg_traffic_vector v)
{
	switch (v) {
	case FG_TV_TOTAL:
		return "total";
	case FG_TV_SYN:
		return "syn";
	case FG_TV_UDP:
		return "udp";
	case FG_TV_ICMP:
		return "icmp";
	case FG_TV_FRAGMENT:
		return "fragment";
	case FG_TV_REFLECTION:
		return "reflection";
	case FG_TV_MAX:
		break;
	}
	return "unknown";
}

/* Names as the daemon, the API and metrics print them. The switch has no default, so
 * a reason added to the enum without a name here fails the C++ build (-Wswitch). */
inline const char *fg_reason_name(enum fg_reason r)
{
	switch (r) {
	case FG_R_PASS:
		return "pass";
	case FG_R_PASS_NON_IP:
		return "pass_non_ip";
	case FG_R_PASS_ALLOW:
		return "pass_allow";
	case FG_R_MALFORMED:
		return "malformed";
	case FG_R_BLOCKED:
		return "blocked";
	case FG_R_REPUTATION:
		return "reputation";
	case FG_R_POLICY:
		return "policy";
	case FG_R_REFLECTION:
		return "reflection";
	case FG_R_FRAGMENT:
		return "fragment";
	case FG_R_SYN_RATE:
		return "syn_rate";
	case FG_R_UDP_RATE:
		return "udp_rate";
	case FG_R_UDP_BYTES:
		return "udp_bytes";
	case FG_R_ICMP_RATE:
		return "icmp_rate";
	case FG_R_AGG_SYN:
		return "agg_syn_rate";
	case FG_R_AGG_UDP:
		return "agg_udp_rate";
	case FG_R_AGG_UDP_BYTES:
		return "agg_udp_bytes";
	case FG_R_AGG_ICMP:
		return "agg_icmp_rate";
	case FG_R_MAX:
		break;
	}
	return "unknown";
}
#endif

#endif /* FLOODGATE_H */
