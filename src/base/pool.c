#include "base/pool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/banned.h"

struct task {
	struct task *next;
	sr_task_fn fn;
	void *arg;
	struct sr_pool_group *group;
};

struct sr_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct task *head, *tail;
	int stopping;
	size_t nthreads;
	pthread_t *threads;
};

size_t sr_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (size_t)n : 1;
}

static void finish_task(struct sr_pool_group *group, int rc,
			const struct sr_err *task_err)
{
	pthread_mutex_lock(&group->lock);
	if (rc != SR_OK && group->err.code == SR_OK) {
		group->err = *task_err;
		group->err.code = rc;
	}
	if (--group->pending == 0)
		pthread_cond_broadcast(&group->done);
	pthread_mutex_unlock(&group->lock);
}

static void run_task(struct task *t)
{
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	rc = t->fn(t->arg, &err);
	finish_task(t->group, rc, &err);
}

static void *worker(void *arg)
{
	struct sr_pool *pool = arg;

	for (;;) {
		struct task *t;

		pthread_mutex_lock(&pool->lock);
		while (!pool->head && !pool->stopping)
			pthread_cond_wait(&pool->wake, &pool->lock);
		t = pool->head;
		if (!t) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		pool->head = t->next;
		if (!pool->head)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);
		run_task(t);
		sr_free(t);
	}
}

int sr_pool_new(size_t threads, struct sr_pool **out)
{
	struct sr_pool *pool;

	*out = NULL;
	if (threads == 0)
		threads = sr_cpu_count();
	pool = sr_calloc(1, sizeof(*pool));
	if (!pool)
		return SR_ENOMEM;
	pool->threads = sr_calloc(threads, sizeof(pthread_t));
	if (!pool->threads) {
		sr_free(pool);
		return SR_ENOMEM;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	for (size_t i = 0; i < threads; i++) {
		if (pthread_create(&pool->threads[i], NULL, worker, pool) != 0)
			break;
		pool->nthreads++;
	}
	*out = pool;
	return SR_OK;
}

void sr_pool_free(struct sr_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (size_t i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->wake);
	sr_free(pool->threads);
	sr_free(pool);
}

size_t sr_pool_threads(const struct sr_pool *pool)
{
	return pool ? pool->nthreads : 0;
}

void sr_pool_group_init(struct sr_pool_group *group)
{
	pthread_mutex_init(&group->lock, NULL);
	pthread_cond_init(&group->done, NULL);
	group->pending = 0;
	sr_err_clear(&group->err);
}

void sr_pool_group_release(struct sr_pool_group *group)
{
	pthread_mutex_destroy(&group->lock);
	pthread_cond_destroy(&group->done);
}

int sr_pool_submit(struct sr_pool *pool, struct sr_pool_group *group,
		   sr_task_fn fn, void *arg)
{
	struct task *t;

	pthread_mutex_lock(&group->lock);
	group->pending++;
	pthread_mutex_unlock(&group->lock);
	if (!pool || pool->nthreads == 0) {
		struct task inline_task = { NULL, fn, arg, group };
		run_task(&inline_task);
		return SR_OK;
	}
	t = sr_malloc(sizeof(*t));
	if (!t) {
		pthread_mutex_lock(&group->lock);
		if (--group->pending == 0)
			pthread_cond_broadcast(&group->done);
		pthread_mutex_unlock(&group->lock);
		return SR_ENOMEM;
	}
	t->next = NULL;
	t->fn = fn;
	t->arg = arg;
	t->group = group;
	pthread_mutex_lock(&pool->lock);
	if (pool->tail)
		pool->tail->next = t;
	else
		pool->head = t;
	pool->tail = t;
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	return SR_OK;
}

int sr_pool_group_wait(struct sr_pool_group *group, struct sr_err *err)
{
	int rc;

	pthread_mutex_lock(&group->lock);
	while (group->pending)
		pthread_cond_wait(&group->done, &group->lock);
	rc = group->err.code;
	if (rc && err)
		*err = group->err;
	pthread_mutex_unlock(&group->lock);
	return rc;
}

struct for_state {
	sr_for_fn fn;
	void *ctx;
	size_t count;
	atomic_size_t next;
	pthread_mutex_t lock;
	size_t fail_index;
	struct sr_err fail_err;
};

static int for_worker(void *arg, struct sr_err *unused)
{
	struct for_state *st = arg;
	struct sr_err err;

	(void)unused;
	for (;;) {
		size_t i = atomic_fetch_add(&st->next, 1);
		int rc;
		if (i >= st->count)
			return SR_OK;
		sr_err_clear(&err);
		rc = st->fn(st->ctx, i, &err);
		if (rc) {
			pthread_mutex_lock(&st->lock);
			if (i < st->fail_index) {
				st->fail_index = i;
				st->fail_err = err;
				st->fail_err.code = rc;
			}
			pthread_mutex_unlock(&st->lock);
		}
	}
}

int sr_pool_run(struct sr_pool *pool, size_t count, sr_for_fn fn, void *ctx,
		struct sr_err *err)
{
	struct for_state st;
	struct sr_pool_group group;
	size_t helpers = pool ? pool->nthreads : 0;
	int rc;

	st.fn = fn;
	st.ctx = ctx;
	st.count = count;
	atomic_init(&st.next, 0);
	pthread_mutex_init(&st.lock, NULL);
	st.fail_index = SIZE_MAX;
	sr_err_clear(&st.fail_err);
	sr_pool_group_init(&group);
	if (helpers > count)
		helpers = count;
	/* The caller is one worker, so one fewer helper is enough. */
	for (size_t i = 1; i < helpers; i++)
		if (sr_pool_submit(pool, &group, for_worker, &st) != SR_OK)
			break;  /* fewer helpers: still correct, just slower */
	for_worker(&st, NULL);
	/* Helpers report through st, never through the group. */
	if (sr_pool_group_wait(&group, NULL) != SR_OK)
		SR_BUG("sr_pool_run helper failed");
	sr_pool_group_release(&group);
	pthread_mutex_destroy(&st.lock);
	rc = st.fail_index == SIZE_MAX ? SR_OK : st.fail_err.code;
	if (rc && err)
		*err = st.fail_err;
	return rc;
}
