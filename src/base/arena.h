/*
 * arena.h - a bump allocator for trees that live and die together (parse
 * trees, compiled expressions): many small allocations, one release.
 *
 * Memory comes from sr_malloc in blocks; sr_arena_alloc hands out zeroed,
 * 16-byte aligned pieces of them and never frees one alone.  A cap (max
 * bytes over all blocks) bounds what untrusted input can make it hold:
 * going past it fails with SR_ELIMIT, running out of memory with
 * SR_ENOMEM, and either leaves what was allocated before valid.
 * Ownership: everything allocated belongs to the arena and is freed by
 * sr_arena_release; pointers stay valid until then.
 */
#ifndef SR_ARENA_H
#define SR_ARENA_H

#include <stddef.h>

#include "base/err.h"

struct sr_arena_block;

struct sr_arena {
	struct sr_arena_block *blocks;   /* newest first */
	size_t used;                     /* bytes in blocks, headers included */
	size_t max;                      /* cap on used */
};

/* Empty arena with a cap of max bytes.  Never allocates. */
void sr_arena_init(struct sr_arena *arena, size_t max);
/* Free every block and return to the empty state (the cap is kept). */
void sr_arena_release(struct sr_arena *arena);

/*
 * size zeroed bytes (size 0 counts as 1) in *out.  SR_ENOMEM, or
 * SR_ELIMIT when the cap would be passed; *out is NULL then.
 */
int sr_arena_alloc(struct sr_arena *arena, size_t size, void **out) SR_WUR;

/* A NUL-terminated copy of [s, s + len) in the arena, in *out. */
int sr_arena_strndup(struct sr_arena *arena, const char *s, size_t len,
		     char **out) SR_WUR;

#endif
