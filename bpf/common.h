/* Includes and small definitions every stage header of the data path uses. */
#ifndef FG_COMMON_H
#define FG_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "floodgate.h"

/* A stage returns FG_NEXT to hand the packet to the next stage, or an enum fg_reason. */
#define FG_NEXT (-1)

#endif /* FG_COMMON_H */
