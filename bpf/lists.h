/* Allow and block lists. Allow: a match passes the packet at once. Block: the longest
 * unexpired match drops it; expired entries are skipped (the daemon removes them). */
#ifndef FG_LISTS_H
#define FG_LISTS_H

#include "maps.h"
#include "prefix.h"

/* The list lookups are subprograms (__noinline) on purpose: the verifier then sees a few
 * return values instead of every combination of loop exits across the three lists,
 * which otherwise exceeds its 1M-instruction budget. */

/* `list`'s prefix lengths in use for the family, or NULL when it has no entries: the
 * caller then skips the list without calling its subprogram. */
static __always_inline const struct fg_prefix_lens *fg_list_in_use(__u32 list, __u32 v6)
{
	const struct fg_prefix_lens *pl = fg_lens(list, v6);

	return pl && pl->count ? pl : NULL;
}

/* `pl`: the allow list's lengths, from fg_list_in_use() (not NULL). */
static __noinline int fg_check_allow(const struct fg_prefix_lens *pl, const struct fg_addr *src)
{
	struct fg_filter_view f = fg_filter_open(FG_LIST_ALLOW, FG_FILTER_ACTIVE);
#pragma unroll
	for (__u32 i = 0; i < FG_MAX_PREFIX_LENS && i < pl->count; i++) {
		struct fg_allow *a = fg_prefix_probe(&allow, &f, pl, i, src);

		if (!a)
			continue;
		a->hits++; /* racy across CPUs on purpose: a shared atomic costs more than it tells
			    */
		return FG_R_PASS_ALLOW;
	}
	return FG_NEXT;
}

/* `pl`: the block list's lengths, from fg_list_in_use() (not NULL). */
static __noinline int fg_check_block(const struct fg_prefix_lens *pl, const struct fg_addr *src,
				     __u64 now)
{
	struct fg_filter_view f = fg_filter_open(FG_LIST_BLOCK, FG_FILTER_ACTIVE);
#pragma unroll
	for (__u32 i = 0; i < FG_MAX_PREFIX_LENS && i < pl->count; i++) {
		struct fg_block *b = fg_prefix_probe(&block, &f, pl, i, src);

		if (!b || (b->expires_ns && b->expires_ns <= now))
			continue; /* a shorter unexpired block may still cover the source */
		b->hits++;
		return b->origin == FG_ORIGIN_REPUTATION ? FG_R_REPUTATION : FG_R_BLOCKED;
	}
	return FG_NEXT;
}

#endif /* FG_LISTS_H */
