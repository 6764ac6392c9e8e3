/*
 * mdsource_paced - /work/shared/bench/lib/mdsource.c plus an optional global
 * injection rate (-R msgs/s): message K (0-based) is not started before
 * t0 + K/R, so latency can be measured at a chosen fraction of the maximum
 * rate instead of under saturation. Without -R it behaves exactly like
 * mdsource. Used by bench/relay/lib/paced_latency.py.
 *
 * Original description (mdsource):
 * mdsource - minimal parallel SMTP load generator for the relay benchmark.
 *
 * Why it exists: Postfix's smtp-source can only generate several recipients
 * per message in ONE domain ("-r N" prepends a number to the local part).
 * The relay benchmark also needs "R recipients per message at R different
 * domains", which exercises per-domain splitting in the MTA under test.
 *
 * Protocol behaviour deliberately mirrors smtp-source's defaults:
 *   one message per TCP connection (connect, banner, EHLO, MAIL, RCPT x R,
 *   DATA, body, ".", QUIT), no PIPELINING, S sessions in parallel.
 *
 * Per message it records the wall-clock (CLOCK_REALTIME) time of connect
 * and of the 250 reply to ".", so the harness can compute exact per-message
 * latency against the sink's dump-file mtimes (Message-Id: <K.mds@bench.example>).
 *
 * usage: mdsource -s sessions -m messages -l body_bytes -r rcpts
 *                 [-D] [-f sender] [-L rcpt_localpart] [-o logfile]
 *                 [-T timeout_s] host port
 *   -D : recipient j of message K is <K.j@dJ.LOCALDOMAIN> (multi-domain)
 *        without -D all recipients are <K.j@d0.LOCALDOMAIN>
 * Build: cc -O2 -pthread -o mdsource mdsource.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int n_sessions = 20, n_msgs = 1000, body_len = 2048, n_rcpts = 1,
           multi_domain = 0, timeout_s = 300;
static const char *sender = "sender@source.bench.example";
static const char *rcpt_domain = "bench.example";
static const char *host = "127.0.0.1", *port = "25", *logfile = 0;
static char *body;
static size_t body_size;
static atomic_int next_idx = 0;
static atomic_int n_ok = 0, n_fail = 0;
static int64_t *t_start, *t_ack;
static double rate_per_s = 0; /* -R: 0 = as fast as the sessions go */
static int64_t t_begin;
static int *status;
static struct addrinfo *ai;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
  int fd;
  char buf[8192];
  size_t len, off;
} conn_t;

/* read one complete (possibly multi-line) reply; return code or -1 */
static int read_reply(conn_t *c) {
  for (;;) {
    /* try to extract a line */
    char *start = c->buf + c->off;
    char *nl = memchr(start, '\n', c->len - c->off);
    if (nl) {
      size_t ll = (size_t)(nl - start) + 1;
      int code = -1;
      int last = 1;
      if (ll >= 4 && start[0] >= '0' && start[0] <= '9') {
        code = (start[0] - '0') * 100 + (start[1] - '0') * 10 + (start[2] - '0');
        last = (start[3] != '-');
      }
      c->off += ll;
      if (last) return code;
      continue;
    }
    /* compact and read more */
    if (c->off > 0) {
      memmove(c->buf, c->buf + c->off, c->len - c->off);
      c->len -= c->off;
      c->off = 0;
    }
    if (c->len >= sizeof(c->buf)) return -1;
    ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (r <= 0) return -1;
    c->len += (size_t)r;
  }
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int cmd(conn_t *c, const char *s, int expect_class) {
  if (write_all(c->fd, s, strlen(s)) < 0) return -1;
  int code = read_reply(c);
  if (code / 100 != expect_class) return code < 0 ? -1 : code;
  return 0;
}

static int send_one(int k /* 1-based */) {
  conn_t c;
  char line[512];
  c.len = c.off = 0;
  c.fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (c.fd < 0) return -2;
  struct timeval tv = {timeout_s, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(c.fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    close(c.fd);
    return -3;
  }
  int rc;
  if (read_reply(&c) / 100 != 2) { rc = -4; goto out; }
  if ((rc = cmd(&c, "EHLO mdsource.bench.example\r\n", 2))) goto out;
  snprintf(line, sizeof line, "MAIL FROM:<%s>\r\n", sender);
  if ((rc = cmd(&c, line, 2))) goto out;
  for (int j = 0; j < n_rcpts; j++) {
    snprintf(line, sizeof line, "RCPT TO:<%d.%d@d%d.%s>\r\n", k, j,
             multi_domain ? j : 0, rcpt_domain);
    if ((rc = cmd(&c, line, 2))) goto out;
  }
  if ((rc = cmd(&c, "DATA\r\n", 3))) goto out;
  {
    char hdr[1024];
    time_t tt = time(0);
    struct tm tmv;
    char date[64];
    gmtime_r(&tt, &tmv);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tmv);
    int hl = snprintf(hdr, sizeof hdr,
                      "From: <%s>\r\nTo: <%d.0@d0.%s>\r\nDate: %s\r\n"
                      "Message-Id: <%d.mds@bench.example>\r\n"
                      "Subject: relay bench %d\r\n\r\n",
                      sender, k, rcpt_domain, date, k, k);
    struct iovec iov[3] = {{hdr, (size_t)hl}, {body, body_size}, {".\r\n", 3}};
    size_t total = (size_t)hl + body_size + 3;
    /* writev loop */
    size_t done = 0;
    while (done < total) {
      ssize_t w = writev(c.fd, iov, 3);
      if (w < 0) {
        if (errno == EINTR) continue;
        rc = -5;
        goto out;
      }
      done += (size_t)w;
      size_t skip = (size_t)w;
      for (int i = 0; i < 3; i++) {
        size_t s = skip < iov[i].iov_len ? skip : iov[i].iov_len;
        iov[i].iov_base = (char *)iov[i].iov_base + s;
        iov[i].iov_len -= s;
        skip -= s;
      }
    }
    int code = read_reply(&c);
    if (code / 100 != 2) { rc = code < 0 ? -6 : code; goto out; }
    t_ack[k - 1] = now_ns();
  }
  (void)cmd(&c, "QUIT\r\n", 2);
  rc = 0;
out:
  close(c.fd);
  return rc;
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    int i = atomic_fetch_add(&next_idx, 1);
    if (i >= n_msgs) break;
    if (rate_per_s > 0) {
      int64_t due = t_begin + (int64_t)((double)i * 1e9 / rate_per_s);
      int64_t wait = due - now_ns();
      if (wait > 0) {
        struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
        nanosleep(&ts, 0);
      }
    }
    t_start[i] = now_ns();
    int rc = send_one(i + 1);
    status[i] = rc;
    if (rc == 0) atomic_fetch_add(&n_ok, 1);
    else atomic_fetch_add(&n_fail, 1);
  }
  return 0;
}

int main(int argc, char **argv) {
  int ch;
  while ((ch = getopt(argc, argv, "s:m:l:r:Df:L:o:T:R:")) != -1) {
    switch (ch) {
      case 's': n_sessions = atoi(optarg); break;
      case 'm': n_msgs = atoi(optarg); break;
      case 'l': body_len = atoi(optarg); break;
      case 'r': n_rcpts = atoi(optarg); break;
      case 'D': multi_domain = 1; break;
      case 'f': sender = optarg; break;
      case 'L': rcpt_domain = optarg; break;
      case 'o': logfile = optarg; break;
      case 'T': timeout_s = atoi(optarg); break;
      case 'R': rate_per_s = atof(optarg); break;
      default:
        fprintf(stderr, "usage: %s -s sess -m msgs -l bytes -r rcpts [-D] [-f from] [-L domain] [-o log] [-R rate] host port\n", argv[0]);
        return 2;
    }
  }
  if (argc - optind != 2) {
    fprintf(stderr, "need host port\n");
    return 2;
  }
  host = argv[optind];
  port = argv[optind + 1];
  struct addrinfo hints = {0};
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &ai) != 0) {
    fprintf(stderr, "getaddrinfo failed\n");
    return 2;
  }
  /* body: lines of 78 'X' + CRLF, first char a digit like smtp-source */
  if (body_len < 2) body_len = 2;
  body = malloc((size_t)body_len + 2);
  size_t pos = 0;
  int lineno = 0;
  while (pos < (size_t)body_len) {
    size_t rem = (size_t)body_len - pos;
    size_t ll = rem >= 80 ? 80 : rem;
    if (ll < 2) ll = 2;
    memset(body + pos, 'X', ll - 2);
    if (ll > 2) body[pos] = "0123456789"[lineno % 10];
    body[pos + ll - 2] = '\r';
    body[pos + ll - 1] = '\n';
    pos += ll;
    lineno++;
  }
  body_size = pos;
  t_start = calloc((size_t)n_msgs, sizeof *t_start);
  t_ack = calloc((size_t)n_msgs, sizeof *t_ack);
  status = calloc((size_t)n_msgs, sizeof *status);
  int64_t t0 = now_ns();
  t_begin = t0;
  pthread_t *th = calloc((size_t)n_sessions, sizeof *th);
  for (int i = 0; i < n_sessions; i++) pthread_create(&th[i], 0, worker, 0);
  for (int i = 0; i < n_sessions; i++) pthread_join(th[i], 0);
  int64_t t1 = now_ns();
  if (logfile) {
    FILE *f = fopen(logfile, "w");
    if (f) {
      for (int i = 0; i < n_msgs; i++)
        fprintf(f, "%d %lld %lld %d\n", i + 1, (long long)t_start[i],
                (long long)t_ack[i], status[i]);
      fclose(f);
    }
  }
  double el = (double)(t1 - t0) / 1e9;
  printf("mdsource: ok=%d fail=%d elapsed=%.3f rate=%.1f\n", atomic_load(&n_ok),
         atomic_load(&n_fail), el, atomic_load(&n_ok) / el);
  return atomic_load(&n_fail) ? 1 : 0;
}
