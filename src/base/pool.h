/*
 * pool.h - a small fixed thread pool.
 *
 * Tasks are submitted into a group; sr_pool_group_wait() blocks until every
 * task of the group has run and returns the first failure.  A pool with zero
 * worker threads runs each task inline inside sr_pool_submit().
 * sr_pool_run() is a parallel for-loop built on the same machinery, in which
 * the calling thread works too.
 */
#ifndef SR_POOL_H
#define SR_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "base/err.h"

struct sr_pool;

/* A task: returns SR_OK or a status, filling err with the reason. */
typedef int (*sr_task_fn)(void *arg, struct sr_err *err);
/* One iteration of sr_pool_run(). */
typedef int (*sr_for_fn)(void *ctx, size_t index, struct sr_err *err);

struct sr_pool_group {
	pthread_mutex_t lock;
	pthread_cond_t done;
	size_t pending;
	struct sr_err err;   /* first failure */
};

/* threads = 0 means one per online CPU.  *out is freed with sr_pool_free. */
int sr_pool_new(size_t threads, struct sr_pool **out) SR_WUR;
/* Waits for queued tasks to finish, joins the workers. NULL is fine. */
void sr_pool_free(struct sr_pool *pool);
size_t sr_pool_threads(const struct sr_pool *pool);

void sr_pool_group_init(struct sr_pool_group *group);
void sr_pool_group_release(struct sr_pool_group *group);
/*
 * Queue fn(arg) in group.  Fails only with SR_ENOMEM, in which case the
 * task was not queued (and has not run).
 */
int sr_pool_submit(struct sr_pool *pool, struct sr_pool_group *group,
		   sr_task_fn fn, void *arg) SR_WUR;
/* Wait for all tasks of group; return the first failure (copied to err). */
int sr_pool_group_wait(struct sr_pool_group *group, struct sr_err *err) SR_WUR;

/*
 * Run fn(ctx, i, err) for i in [0, count) on the pool and the calling
 * thread.  Returns the failure of the lowest failing index (so results are
 * deterministic) or SR_OK.  pool may be NULL (runs serially).
 */
int sr_pool_run(struct sr_pool *pool, size_t count, sr_for_fn fn, void *ctx,
		struct sr_err *err) SR_WUR;

/* Number of online CPUs (at least 1). */
size_t sr_cpu_count(void);

#endif
