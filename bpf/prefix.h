/* Longest-prefix match over a hash map: probe the list's prefix lengths in use, longest
 * first (struct fg_prefix_lens, kept by user space), with the address masked to each. */
#ifndef FG_PREFIX_H
#define FG_PREFIX_H

#include "maps.h"

/* Clears the bits of `a` after `prefixlen` (mapped space, 0..128). */
static __always_inline void fg_mask_addr(struct fg_addr *a, __u32 prefixlen)
{
#pragma unroll
	for (__u32 i = 0; i < 4; i++) {
		__u32 bits = prefixlen > 32 * i ? prefixlen - 32 * i : 0;

		if (bits < 32)
			a->w[i] &= bpf_htonl(bits ? ~0u << (32 - bits) : 0);
	}
}

static __always_inline const struct fg_prefix_lens *fg_lens(__u32 list, __u32 v6)
{
	__u32 index = FG_LENS_INDEX(list, v6);

	return bpf_map_lookup_elem(&prefix_lens, &index);
}

/* Where the program looks up one half of `list`'s filter: its first word, and the log2
 * of its bits (0: no usable filter, probe every key). */
struct fg_filter_view {
	__u32 base;
	__u32 shift;
};
#define FG_FILTER_ACTIVE (-1) /* the half the header says is in use */

static __always_inline struct fg_filter_view fg_filter_open(__u32 list, int half)
{
	struct fg_filter_view v = {};
	__u32 zero = 0, shift;
	__u64 *hdr = bpf_map_lookup_elem(&filter, &zero), h;

	if (!hdr)
		return v;
	h = *hdr;
	shift = FG_FILTER_SHIFT(h, list);
	if (shift < FG_FILTER_MIN_SHIFT || shift > FG_FILTER_MAX_SHIFT)
		return v;
	v.base = fg_filter_word(h, list, half == FG_FILTER_ACTIVE ? h & 1 : half, 0);
	v.shift = shift;
	return v;
}

/* The filter word holding `key`'s bit (its number in `bit`), or NULL. */
static __always_inline __u64 *fg_filter_word_of(const struct fg_filter_view *f,
						const struct fg_lpm_key *key, __u64 *bit)
{
	__u32 index;

	*bit = fg_filter_bit(key, f->shift);
	index = f->base + (__u32)(*bit >> 6);
	return bpf_map_lookup_elem(&filter, &index);
}

/* False only when `key` is certainly not in the list: its filter bit is clear. */
static __always_inline int fg_filter_maybe(const struct fg_filter_view *f,
					   const struct fg_lpm_key *key)
{
	__u64 bit, *word;

	if (!f->shift)
		return 1;
	word = fg_filter_word_of(f, key, &bit);
	return !word || (*word >> (bit & 63)) & 1;
}

/* Sets `key`'s bit in both halves of `list`'s filter, after the entry went into the map. */
static __always_inline void fg_filter_add(__u32 list, const struct fg_lpm_key *key)
{
#pragma unroll
	for (int half = 0; half < 2; half++) {
		struct fg_filter_view f = fg_filter_open(list, half);
		__u64 bit, *word;

		if (!f.shift)
			return;
		word = fg_filter_word_of(&f, key, &bit);
		if (word)
			__sync_fetch_and_or(word, 1ULL << (bit & 63));
	}
}

/* The entry of `map` for the i-th longest length in use that covers `addr`, or NULL.
 * `f` is the list's filter; NULL for the protected list, whose probes usually hit. */
static __always_inline void *fg_prefix_probe(void *map, const struct fg_filter_view *f,
					     const struct fg_prefix_lens *pl, __u32 i,
					     const struct fg_addr *addr)
{
	struct fg_lpm_key key;

	if (i >= FG_MAX_PREFIX_LENS)
		return NULL;
	key.prefixlen = pl->len[i];
#pragma unroll
	for (__u32 j = 0; j < 4; j++)
		key.addr.w[j] = addr->w[j] & pl->mask[i][j];
	if (f && !fg_filter_maybe(f, &key))
		return NULL;
	return bpf_map_lookup_elem(map, &key);
}

#endif /* FG_PREFIX_H */
