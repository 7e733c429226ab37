/*
 * The reader: one thread for the requests that read storage at length or
 * wait for an fsync (AUDIT, EXPORT, SUMMARY, FEED_READ, FEED_ACK), so that
 * a carrier's export or a daily summary over millions of consents never
 * holds a core thread, whose gates would wait behind it.
 *
 * A core thread posts a job (srv_reader_post); the reader runs the jobs one
 * at a time in arrival order; each job ends by sending its op back to its
 * connection's thread (srv_op_send_home), which writes the answer. The
 * queue is a mutex and a condition variable: these are a few requests a
 * second, not the gate path. At stop the reader finishes the job it runs
 * and drops the rest (their connections are closing with the server).
 */
#include <stdlib.h>

#include "server/server.h"

struct srv_reader {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	srv_job *head, *tail;
	bool stop;
};

static void *reader_main(void *arg)
{
	srv_reader *r = arg;

	for (;;) {
		srv_job *j;
		pthread_mutex_lock(&r->lock);
		while (r->head == NULL && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		j = r->head;
		r->head = j->next;
		if (r->head == NULL)
			r->tail = NULL;
		pthread_mutex_unlock(&r->lock);
		j->run(j);
	}
}

int srv_reader_start(srv *s)
{
	srv_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	s->reader = r;
	if (pthread_create(&r->thread, NULL, reader_main, r) != 0)
		return -1;
	r->started = true;
	return 0;
}

void srv_reader_stop(srv *s)
{
	srv_reader *r = s->reader;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->thread, NULL);
	while (r->head != NULL) { /* never run: the server is gone */
		srv_job *j = r->head;
		r->head = j->next;
		j->drop(j);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
	s->reader = NULL;
}

void srv_reader_post(srv *s, srv_job *j)
{
	srv_reader *r = s->reader;

	j->next = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->tail != NULL)
		r->tail->next = j;
	else
		r->head = j;
	r->tail = j;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}
