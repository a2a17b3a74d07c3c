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

/* The entry of `map` for the i-th longest length in use that covers `addr`, or NULL. */
static __always_inline void *fg_prefix_probe(void *map, const struct fg_prefix_lens *pl, __u32 i,
					     const struct fg_addr *addr)
{
	struct fg_lpm_key key;

	if (i >= FG_MAX_PREFIX_LENS)
		return NULL;
	key.prefixlen = pl->len[i];
	key.addr = *addr;
	fg_mask_addr(&key.addr, key.prefixlen);
	return bpf_map_lookup_elem(map, &key);
}

#endif /* FG_PREFIX_H */
