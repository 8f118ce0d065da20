/*
 * arena.c - bump allocation in blocks that grow from 4 KiB to 64 KiB; a
 * piece larger than that gets a block of its own, so a big array never
 * wastes a half-used block.
 */
#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/banned.h"

#define ARENA_ALIGN 16
#define BLOCK_FIRST 4096
#define BLOCK_LARGEST 65536

struct sr_arena_block {
	struct sr_arena_block *next;
	size_t size;    /* bytes of data[] */
	size_t taken;   /* bytes of data[] handed out */
	alignas(ARENA_ALIGN) unsigned char data[];
};

_Static_assert(sizeof(struct sr_arena_block) % ARENA_ALIGN == 0,
	       "block data must start aligned");

void sr_arena_init(struct sr_arena *arena, size_t max)
{
	arena->blocks = NULL;
	arena->used = 0;
	arena->max = max;
}

void sr_arena_release(struct sr_arena *arena)
{
	struct sr_arena_block *b = arena->blocks;

	while (b) {
		struct sr_arena_block *next = b->next;
		sr_free(b);
		b = next;
	}
	sr_arena_init(arena, arena->max);
}

int sr_arena_alloc(struct sr_arena *arena, size_t size, void **out)
{
	struct sr_arena_block *b = arena->blocks;
	size_t want, block_size;

	*out = NULL;
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX / 2)
		return SR_ELIMIT;
	want = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (b && b->size - b->taken >= want) {
		*out = b->data + b->taken;
		b->taken += want;
		return SR_OK;
	}
	/* Each new block doubles the last, up to BLOCK_LARGEST. */
	block_size = b ? b->size * 2 : BLOCK_FIRST;
	if (block_size > BLOCK_LARGEST)
		block_size = BLOCK_LARGEST;
	if (block_size < want)
		block_size = want;
	if (arena->max - arena->used < sizeof(*b) ||
	    arena->max - arena->used - sizeof(*b) < block_size) {
		/* A smaller block may still fit under the cap. */
		if (arena->max - arena->used < sizeof(*b) ||
		    arena->max - arena->used - sizeof(*b) < want)
			return SR_ELIMIT;
		block_size = want;
	}
	b = sr_malloc(sizeof(*b) + block_size);
	if (!b)
		return SR_ENOMEM;
	memset(b->data, 0, block_size);
	b->size = block_size;
	b->taken = want;
	/* A large piece gets its own block behind the current one, so the
	 * room left in the current block is not lost. */
	if (arena->blocks && want > BLOCK_LARGEST / 2 &&
	    arena->blocks->size - arena->blocks->taken > block_size - want) {
		b->next = arena->blocks->next;
		arena->blocks->next = b;
	} else {
		b->next = arena->blocks;
		arena->blocks = b;
	}
	arena->used += sizeof(*b) + block_size;
	*out = b->data;
	return SR_OK;
}

int sr_arena_strndup(struct sr_arena *arena, const char *s, size_t len,
		     char **out)
{
	void *p;
	int rc;

	*out = NULL;
	if (len == SIZE_MAX)
		return SR_ELIMIT;
	rc = sr_arena_alloc(arena, len + 1, &p);
	if (rc)
		return rc;
	if (len)
		memcpy(p, s, len);
	((char *)p)[len] = '\0';
	*out = p;
	return SR_OK;
}
