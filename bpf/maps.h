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

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FG_DEFAULT_ALLOW_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fg_lpm_key);
	__type(value, struct fg_allow);
} allow_lpm SEC(".maps");

/* Single addresses (/32, /128): the common block, one hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FG_DEFAULT_BLOCK_ENTRIES);
	__type(key, struct fg_addr);
	__type(value, struct fg_block);
} block_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FG_DEFAULT_BLOCK_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fg_lpm_key);
	__type(value, struct fg_block);
} block_lpm SEC(".maps");

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
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FG_DEFAULT_PROTECTED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fg_lpm_key);
	__type(value, struct fg_protected);
} protected_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_DEFAULT_PROTECTED);
	__type(key, __u32);
	__type(value, struct fg_agg_state);
} agg_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FG_R_MAX);
	__type(key, __u32);
	__type(value, struct fg_counters);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FG_DEFAULT_EVENTS_BYTES);
} events SEC(".maps");

#endif /* FG_MAPS_H */
