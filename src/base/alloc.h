/*
 * alloc.h - the one allocation wrapper.  All heap memory of sealroom goes
 * through these functions so that tests can count allocations and make the
 * N-th one fail (after curl's torture tests).  Library code turns a NULL
 * return into SR_ENOMEM; only main() decides to exit.
 */
#ifndef SR_ALLOC_H
#define SR_ALLOC_H

#include <stddef.h>

void *sr_malloc(size_t size);
void *sr_calloc(size_t count, size_t size);
void *sr_realloc(void *ptr, size_t size);
/* Returns a copy of s (NUL-terminated) or NULL. */
char *sr_strdup(const char *s);
/* Copies len bytes of s and adds a NUL. */
char *sr_strndup(const char *s, size_t len);
/* sr_free(NULL) does nothing. */
void sr_free(void *ptr);

/*
 * Test hook: make the n-th allocation from now fail (1 = the next one),
 * and every later one too when sticky is set.  n = 0 disables.  Thread-safe.
 */
void sr_alloc_fail_at(unsigned long n, int sticky);
/* Number of allocations made since the process started (or last reset). */
unsigned long sr_alloc_count(void);
void sr_alloc_count_reset(void);
/* Whether an injected failure has fired since the last sr_alloc_fail_at(). */
int sr_alloc_failed(void);

/*
 * Allocations that returned NULL on the calling thread since it started
 * (injected or real).  Lets a caller see that a library which hides
 * allocation failures (jansson reports some as syntax errors, or truncates
 * strings) ran out of memory during a call.
 */
unsigned long sr_alloc_thread_failures(void);

/*
 * Route jansson's allocations through this wrapper (counted in
 * sr_alloc_thread_failures, but exempt from injected failures: see
 * alloc.c).  Call once at start.
 */
void sr_alloc_setup_json(void);

#endif
