/* The program's maps. Sizes here are defaults; the loader sets them before load. */
#ifndef FG_MAPS_H
#define FG_MAPS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_config);
} config SEC(".maps");

/* Prefix lengths in use per list and family (FG_LENS_INDEX); see struct fg_prefix_lens. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_LENS_MAX);
	__type(key, __u32);
	__type(value, struct fg_prefix_lens);
} prefix_lens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FG_DEFAULT_ALLOW_ENTRIES);
	__type(key, struct fg_lpm_key);
	__type(value, struct fg_allow);
} allow SEC(".maps");

/* Preallocated: the program inserts auto-blocks without allocating. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FG_DEFAULT_BLOCK_ENTRIES);
	__type(key, struct fg_lpm_key);
	__type(value, struct fg_block);
} block SEC(".maps");

/* The allow and block lists' prefilters (see FG_FILTER_SHIFT); user space maps it to set
 * and clear bits with atomic operations. Sized by the loader to the lists. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries,
	       1 + 2 * (FG_DEFAULT_ALLOW_ENTRIES / 8) + 2 * (FG_DEFAULT_BLOCK_ENTRIES / 8));
	__type(key, __u32);
	__type(value, __u64);
} filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_PORTSET_MAX);
	__type(key, __u32);
	__type(value, struct fg_portset);
} portsets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FG_DEFAULT_SRC_ENTRIES);
	__type(key, struct fg_addr);
	__type(value, struct fg_src_state);
} src_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FG_DEFAULT_PROTECTED);
	__type(key, struct fg_lpm_key);
	__type(value, struct fg_protected);
} protected_dsts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_DEFAULT_PROTECTED);
	__type(key, __u32);
	__type(value, struct fg_agg_state);
} agg_state SEC(".maps");

/* ifindex -> counter slot (see struct fg_slot_stats). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_MAX_IFINDEX);
	__type(key, __u32);
	__type(value, __u32);
} ifslots SEC(".maps");

/* Per interface slot: counters per reason and what arrived by traffic vector. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FG_MAX_IFACES + 1);
	__type(key, __u32);
	__type(value, struct fg_slot_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FG_DEFAULT_EVENTS_BYTES);
} events SEC(".maps");

#endif /* FG_MAPS_H */
