#include "base/alloc.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static atomic_ulong alloc_count;
static atomic_ulong fail_at;   /* absolute count at which to fail; 0 = never */
static atomic_int fail_sticky;
static atomic_int fail_fired;
static _Thread_local unsigned long thread_failures;

static int should_fail(void)
{
	unsigned long n = atomic_fetch_add(&alloc_count, 1) + 1;
	unsigned long at = atomic_load(&fail_at);

	if (at == 0)
		return 0;
	if (n == at || (atomic_load(&fail_sticky) && n > at)) {
		atomic_store(&fail_fired, 1);
		return 1;
	}
	return 0;
}

static void *counted(void *p)
{
	if (!p)
		thread_failures++;
	return p;
}

void *sr_malloc(size_t size)
{
	if (should_fail())
		return counted(NULL);
	return counted(malloc(size ? size : 1));
}

void *sr_calloc(size_t count, size_t size)
{
	if (should_fail())
		return counted(NULL);
	if (count == 0 || size == 0)
		count = size = 1;
	return counted(calloc(count, size));
}

void *sr_realloc(void *ptr, size_t size)
{
	if (should_fail())
		return counted(NULL);
	return counted(realloc(ptr, size ? size : 1));
}

unsigned long sr_alloc_thread_failures(void)
{
	return thread_failures;
}

char *sr_strndup(const char *s, size_t len)
{
	char *copy = sr_malloc(len + 1);

	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *sr_strdup(const char *s)
{
	return sr_strndup(s, strlen(s));
}

void sr_free(void *ptr)
{
	free(ptr);
}

void sr_alloc_fail_at(unsigned long n, int sticky)
{
	atomic_store(&fail_fired, 0);
	atomic_store(&fail_sticky, sticky);
	atomic_store(&fail_at, n ? atomic_load(&alloc_count) + n : 0);
}

unsigned long sr_alloc_count(void)
{
	return atomic_load(&alloc_count);
}

void sr_alloc_count_reset(void)
{
	atomic_store(&alloc_count, 0);
	atomic_store(&fail_at, 0);
}

int sr_alloc_failed(void)
{
	return atomic_load(&fail_fired);
}

/*
 * jansson's allocations are counted (so sr_json_parse can see a real
 * out-of-memory) but never made to fail by the test hook: jansson 2.14
 * frees a value twice when an allocation fails inside its object parser,
 * so injected failures there would test jansson's bug, not our code.
 */
static void *json_malloc(size_t size)
{
	return counted(malloc(size ? size : 1));
}

void sr_alloc_setup_json(void)
{
	json_set_alloc_funcs(json_malloc, sr_free);
}
