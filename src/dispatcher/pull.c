/*
 * pull.c: images on hosts (DESIGN "The dispatcher": images are pulled in
 * the background). No pull holds the loop: a job whose image its host lacks
 * waits PENDING with pending_reason 'pulling_image' and the pull's progress
 * in bytes; the jobs that need the same image on the same host share one
 * pull; a pull has a time limit ([dispatcher] pull_timeout, counted from
 * when the attempt began waiting, across passes); a failed pull fails each
 * waiting attempt once, with class image_pull.
 *
 * Private registries: an image on a registry server for which any account
 * keeps credentials (registry.h) is private. A job of such an image is
 * never given what the host already has: its image is pulled with the
 * credentials of the job's own account (X-Registry-Auth), or with none,
 * so the registry decides, and a success counts for that account on that
 * host for VERIFY_TTL_MS. Other images are public: used when present,
 * pulled anonymously when missing.
 *
 * NOTE: an engine gives a pull up as soon as no client waits for it any
 * more (and keeps none of its layers), so a --once pass that ends while a
 * pull runs hands it to a detached child process (pull_detach_all()) that
 * keeps a request of its own open until the image is there or the pull's
 * time is up: the next pass's request joins the same download.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "registry.h"

#define VERIFY_TTL_MS	(300 * 1000)	/* a private pull counts this long */
#define PRESENT_TTL_MS	(60 * 1000)	/* a public image seen, this long */
#define PROGRESS_MS	1000		/* progress recorded at most */
#define LINE_MAX_PULL	(1024 * 1024)

enum pull_state {
	P_INSPECT,		/* GET /images/{ref}/json */
	P_PULLING,		/* POST /images/create */
	P_CHECK,		/* GET /images/{ref}/json after the pull */
	P_READY,		/* on the host (for account, when private) */
	P_FAILED,
};

struct pull {
	struct disp_host	*h;
	char			*image, *tag, *ref;
	long long		 account_id;	/* -1: a public image */
	enum pull_state		 state;
	struct ecall		*call;
	struct docker_pull_progress pp;
	struct docker_buf	 line;
	char			 err[1600];
	long long		 t0_ms;
	long long		 ready_ms;
	long long		 said_ms;
	int			 detached;	/* a process carries it on */
	long long		*waiter;	/* job ids */
	size_t			 nwaiters;
	struct pull		*next;
};

static void	pull_step(struct disp *d, struct pull *p, struct ecall *res);

/* See dispatch.h. */
size_t
pull_count(const struct disp *d)
{
	const struct pull	*p;
	size_t			 n = 0;

	for (p = d->pulls; p != NULL; p = p->next)
		if (p->call != NULL)
			n++;
	return n;
}

static void
pull_free(struct pull *p)
{
	free(p->image);
	free(p->tag);
	free(p->ref);
	free(p->waiter);
	docker_buf_free(&p->line);
	docker_pull_progress_free(&p->pp);
	free(p);
}

/* Unlink and free p (its call, if any, is given up). */
static void
pull_drop(struct disp *d, struct pull *p)
{
	struct pull	**pp;

	for (pp = &d->pulls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->call != NULL) {
		p->call->arg = NULL;
		ecall_cancel(p->call);
	}
	pull_free(p);
}

static void
add_waiter(struct pull *p, long long id)
{
	size_t	 i;

	for (i = 0; i < p->nwaiters; i++)
		if (p->waiter[i] == id)
			return;
	p->waiter = xrealloc(p->waiter, (p->nwaiters + 1) * sizeof(long long));
	p->waiter[p->nwaiters++] = id;
}

/* The pull p ended (ready or failed): every waiter goes on. */
static void
wake(struct disp *d, struct pull *p)
{
	struct disp_job	*j;
	long long	*w = p->waiter;
	size_t		 n = p->nwaiters, i;

	p->waiter = NULL;
	p->nwaiters = 0;
	for (i = 0; i < n; i++) {
		if ((j = disp_job_of(d, w[i])) == NULL || !j->waits ||
		    j->step != S_L_IMAGE)
			continue;
		if (p->state == P_FAILED) {
			snprintf(j->why, sizeof(j->why), "%.1000s", p->err);
			j->pull_failed = 1;
		}
		step_run(d, j);
	}
	free(w);
}

/* The pull is over: wake the waiters; a failed pull is forgotten. */
static void
pull_end(struct disp *d, struct pull *p, enum pull_state st)
{
	p->state = st;
	p->ready_ms = eloop_now_ms();
	if (st == P_FAILED)
		log_warn("%s", p->err);
	else if (p->account_id >= 0 || p->t0_ms > 0)
		disp_say(d, "host %s: image %s ready (%lld ms)", p->h->name,
		    p->ref, eloop_now_ms() - p->t0_ms);
	wake(d, p);
	if (st == P_FAILED)
		pull_drop(d, p);
}

static void
pull_done(struct ecall *c)
{
	struct pull	*p = c->arg;

	if (p == NULL) {
		ecall_free(c);
		return;
	}
	p->call = NULL;
	pull_step(p->h->d, p, c);
	ecall_free(c);
}

/* Progress: each waiting job's pull_bytes and pull_total, now and then. */
static void
progress(struct disp *d, struct pull *p)
{
	struct disp_job	*j;
	size_t		 i;

	if (eloop_now_ms() - p->said_ms < PROGRESS_MS)
		return;
	p->said_ms = eloop_now_ms();
	for (i = 0; i < p->nwaiters; i++)
		if ((j = disp_job_of(d, p->waiter[i])) != NULL)
			jobdb_pending(d, j, "pulling_image", p->pp.current,
			    p->pp.total);
}

static void
pull_line(void *arg, const char *p, size_t n)
{
	docker_pull_line(arg, p, n);
}

/* Sink of the pull stream: JSON lines, progress and errors. */
static int
pull_sink(struct ecall *c, const char *s, size_t n)
{
	struct pull	*p = c->arg;

	if (p == NULL)
		return -1;
	docker_lines_feed(&p->line, s, n, LINE_MAX_PULL, pull_line, &p->pp);
	progress(p->h->d, p);
	return 0;
}

/* Start the pull's call for its state. */
static void
pull_call(struct disp *d, struct pull *p)
{
	struct ecall	*c;
	char		*auth = NULL;
	int		 rc;

	if (p->state == P_PULLING) {
		c = dk_pull(p->image, p->tag);
		c->sink = pull_sink;
		c->timeout_s = (long)d->conf.disp_pull_timeout;
		if (p->account_id >= 0) {
			if (!d->seal_ok) {
				snprintf(p->err, sizeof(p->err), "image %s "
				    "cannot be had on host %s: registry "
				    "credentials cannot be opened: %s", p->ref,
				    p->h->name, d->seal_err);
				ecall_free(c);
				pull_end(d, p, P_FAILED);
				return;
			}
			rc = registry_auth_for(d->db, d->seal_key,
			    p->account_id, p->image, &auth);
			if (rc < 0) {
				snprintf(p->err, sizeof(p->err), "image %s "
				    "cannot be had on host %s: the registry "
				    "credentials cannot be read", p->ref,
				    p->h->name);
				ecall_free(c);
				pull_end(d, p, P_FAILED);
				return;
			}
			c->registry_auth = auth;
		}
		disp_say(d, "host %s: pulling %s%s", p->h->name, p->ref,
		    auth != NULL ? " with the account's credentials" : "");
	} else
		c = dk_image_inspect(p->ref);
	c->done = pull_done;
	c->arg = p;
	p->call = c;
	engine_submit(p->h->eng, c);
}

/* The pull's call ended with res. */
static void
pull_step(struct disp *d, struct pull *p, struct ecall *res)
{
	struct disp_job	*j;
	size_t		 i;

	if (res->rc == DOCKER_CANCELLED) {
		pull_drop(d, p);
		return;
	}
	switch (p->state) {
	case P_INSPECT:
		if (res->rc == DOCKER_OK) {
			pull_end(d, p, P_READY);
			return;
		}
		if (res->rc != DOCKER_NOT_FOUND)
			break;
		p->state = P_PULLING;
		p->t0_ms = eloop_now_ms();
		for (i = 0; i < p->nwaiters; i++)
			if ((j = disp_job_of(d, p->waiter[i])) != NULL)
				jobdb_pending(d, j, "pulling_image", 0, 0);
		pull_call(d, p);
		return;
	case P_PULLING:
		if (p->line.len > 0)
			docker_pull_line(&p->pp, p->line.data, p->line.len);
		if (res->rc != DOCKER_OK)
			break;
		if (p->pp.failed) {
			snprintf(p->err, sizeof(p->err), "image %s cannot be "
			    "had on host %s: the pull failed: %s", p->ref,
			    p->h->name, p->pp.msg);
			pull_end(d, p, P_FAILED);
			return;
		}
		p->state = P_CHECK;
		pull_call(d, p);
		return;
	case P_CHECK:
		if (res->rc == DOCKER_OK) {
			pull_end(d, p, P_READY);
			return;
		}
		break;
	default:
		return;
	}
	/*
	 * The pull's time limit ran out: libcurl says so for a pull the
	 * engine was answering (its timeout_s is that limit, measured on
	 * libcurl's clock, which may run and round a little apart from
	 * ours), or our clock does.
	 */
	if (res->rc == DOCKER_UNREACHABLE && p->state == P_PULLING &&
	    p->t0_ms > 0 && ((res->timed_out && res->status == 200) ||
	    eloop_now_ms() - p->t0_ms >=
	    (long long)d->conf.disp_pull_timeout * 1000))
		snprintf(p->err, sizeof(p->err), "image %s cannot be had on "
		    "host %s: the pull took longer than %u s", p->ref,
		    p->h->name, d->conf.disp_pull_timeout);
	else
		snprintf(p->err, sizeof(p->err), "image %s cannot be had on "
		    "host %s: %s", p->ref, p->h->name, res->rc ==
		    DOCKER_NOT_FOUND ? "it is not on the host after its pull" :
		    res->msg);
	if (res->rc == DOCKER_UNREACHABLE && p->state != P_PULLING) {
		/* The host's trouble, not the image's: try again later. */
		log_warn("%s", p->err);
		for (i = 0; i < p->nwaiters; i++)
			if ((j = disp_job_of(d, p->waiter[i])) != NULL &&
			    j->waits && j->step == S_L_IMAGE) {
				j->waits = 0;
				j->step = S_IDLE;
			}
		pull_drop(d, p);
		return;
	}
	pull_end(d, p, P_FAILED);
}

/*
 * Whether an image of server must be pulled with the job's account's
 * credentials: 1 private, 0 public, -1 database failure.
 */
static int
is_private(struct disp *d, const char *image)
{
	char	 server[256];
	int	 rc;

	if (registry_server_of(image, server, sizeof(server)) != 0)
		return 0;
	if ((rc = registry_server_guarded(d->db, server)) < 0) {
		log_error("registry credentials: %s", db_error(d->db));
		d->failed = 1;
	}
	return rc;
}

/* See dispatch.h. */
int
pull_need(struct disp *d, struct disp_host *h, struct disp_job *j,
    char *why, size_t whylen)
{
	struct pull	*p;
	char		*ref;
	long long	 acct;
	int		 priv;

	if ((priv = is_private(d, j->image)) < 0) {
		snprintf(why, whylen, "the database failed");
		return -2;
	}
	acct = priv ? j->account_id : -1;
	if (j->pull_age_s >= 0 && j->pull_age_s >=
	    (long long)d->conf.disp_pull_timeout) {
		snprintf(why, whylen, "image %s:%s cannot be had on host %s: "
		    "the pull took longer than %u s", j->image, j->tag,
		    h->name, d->conf.disp_pull_timeout);
		return -1;
	}
	ref = xasprintf("%s:%s", j->image, j->tag);
	for (p = d->pulls; p != NULL; p = p->next)
		if (p->h == h && p->account_id == acct &&
		    strcmp(p->ref, ref) == 0)
			break;
	if (p != NULL && p->state == P_READY && eloop_now_ms() -
	    p->ready_ms >= (acct >= 0 ? VERIFY_TTL_MS : PRESENT_TTL_MS)) {
		pull_drop(d, p);	/* seen or verified too long ago */
		p = NULL;
	}
	if (p != NULL && p->state == P_READY) {
		free(ref);
		return 1;
	}
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		p->h = h;
		p->image = xstrdup(j->image);
		p->tag = xstrdup(j->tag);
		p->ref = ref;
		ref = NULL;
		p->account_id = acct;
		p->state = acct >= 0 ? P_PULLING : P_INSPECT;
		if (p->state == P_PULLING)
			p->t0_ms = eloop_now_ms();
		p->next = d->pulls;
		d->pulls = p;
		add_waiter(p, j->id);
		pull_call(d, p);
	} else
		add_waiter(p, j->id);
	free(ref);
	if (p->state == P_FAILED) {
		snprintf(why, whylen, "%s", p->err);
		pull_drop(d, p);
		return -1;
	}
	if (p->state == P_PULLING)
		jobdb_pending(d, j, "pulling_image", -1, 0);
	return 0;
}

/* See dispatch.h. */
void
pull_forget(struct disp *d, struct disp_job *j)
{
	struct pull	*p, *next;
	size_t		 i;

	for (p = d->pulls; p != NULL; p = next) {
		next = p->next;
		for (i = 0; i < p->nwaiters; i++)
			if (p->waiter[i] == j->id) {
				p->waiter[i] = p->waiter[--p->nwaiters];
				break;
			}
		/*
		 * No one waits any more: the pull is given up (a detached
		 * process carries it on when the pass handed it over).
		 */
		if (p->nwaiters == 0 && p->call != NULL &&
		    p->state == P_PULLING) {
			if (!p->detached)
				disp_say(d, "host %s: pull of %s given up (no "
				    "job waits for it)", p->h->name, p->ref);
			pull_drop(d, p);
		}
	}
}

/* See dispatch.h. */
void
pull_stale(struct disp *d, struct disp_host *h, const struct disp_job *j)
{
	struct pull	*p, *next;
	char		*ref;

	ref = xasprintf("%s:%s", j->image, j->tag);
	for (p = d->pulls; p != NULL; p = next) {
		next = p->next;
		if (p->h == h && p->state == P_READY &&
		    strcmp(p->ref, ref) == 0)
			pull_drop(d, p);
	}
	free(ref);
}

/* See dispatch.h. */
void
pull_cancel_host(struct disp *d, struct disp_host *h)
{
	struct pull	*p, *next;

	for (p = d->pulls; p != NULL; p = next) {
		next = p->next;
		if (h == NULL || p->h == h)
			pull_drop(d, p);
	}
}

/* The detached child's pipe: written once the engine answers. */
static int	 detach_fd = -1;

static void
detach_first(void *arg)
{
	(void)arg;
	if (detach_fd >= 0) {
		(void)!write(detach_fd, "1", 1);
		close(detach_fd);
		detach_fd = -1;
	}
}

/*
 * In the child: pull p's image with a request of its own, then exit. It
 * holds nothing of the parent (every descriptor but stdio and the pipe, fd
 * 3, closed: not the database connection, so not the dispatcher's lock).
 */
static void
detach_child(struct disp_host *h, const struct pull *p, const char *auth,
    long timeout_s, int fd)
{
	struct docker	*dk;
	char		 err[256];
	int		 null;

	setsid();
	closefrom(fd + 1);	/* the pipe was moved to fd 3 before */
	detach_fd = fd;
	/* Not cron's output pipe: it would stay open until the pull ends. */
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO && null != fd)
			close(null);
	}
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((dk = docker_new(h->endpoint, h->tls_ca, h->tls_cert, h->tls_key,
	    err, sizeof(err))) == NULL)
		_exit(1);
	docker_pull(dk, p->image, p->tag, auth, timeout_s, detach_first, NULL);
	_exit(0);
}

/* See dispatch.h. */
void
pull_detach_all(struct disp *d)
{
	struct pull	*p;
	struct pollfd	 pfd;
	char		*auth = NULL, c;
	long		 left;
	pid_t		 pid;
	int		 fds[2];

	for (p = d->pulls; p != NULL; p = p->next) {
		if (p->state != P_PULLING || p->call == NULL)
			continue;
		left = (long)d->conf.disp_pull_timeout -
		    (long)((eloop_now_ms() - p->t0_ms) / 1000);
		if (left <= 0)
			continue;
		auth = NULL;
		if (p->account_id >= 0 && (!d->seal_ok ||
		    registry_auth_for(d->db, d->seal_key, p->account_id,
		    p->image, &auth) < 0))
			continue;
		if (pipe(fds) == -1) {
			log_warn("host %s: the pull of %s cannot go on after "
			    "the pass: pipe: %s", p->h->name, p->ref,
			    strerror(errno));
			goto next;
		}
		fflush(NULL);
		if ((pid = fork()) == -1) {
			log_warn("host %s: the pull of %s cannot go on after "
			    "the pass: fork: %s", p->h->name, p->ref,
			    strerror(errno));
			close(fds[0]);
			close(fds[1]);
			goto next;
		}
		if (pid == 0) {
			close(fds[0]);
			if (fds[1] != 3 && (dup2(fds[1], 3) == -1 ||
			    close(fds[1]) == -1))
				_exit(1);
			detach_child(p->h, p, auth, left, 3);
		}
		close(fds[1]);
		/* Its request under way before ours goes, so the pull stays. */
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		p->detached = 1;
		if (poll(&pfd, 1, 5000) == 1 && read(fds[0], &c, 1) == 1)
			disp_say(d, "host %s: the pull of %s goes on after the "
			    "pass (process %ld, at most %ld s more)",
			    p->h->name, p->ref, (long)pid, left);
		else
			log_warn("host %s: the pull of %s may not outlive the "
			    "pass: its process %ld did not reach the engine",
			    p->h->name, p->ref, (long)pid);
		close(fds[0]);
next:
		if (auth != NULL) {
			explicit_bzero(auth, strlen(auth));
			free(auth);
		}
	}
}
