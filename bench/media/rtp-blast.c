/*
 * rtp-blast: the RTP traffic generator and receiver of `npm run bench -- media` (bench/media/).
 *
 * It plays both phones of N calls at once: endpoints 2i and 2i+1 are the two sides of call i, each a
 * UDP socket on 127.0.0.1 that sends one RTP packet every 1/pps s to its destination (the relay port
 * the SDP answer gave it) and receives what the relay forwards from the other side. Sending is paced
 * evenly over all endpoints (packet k at t0 + k/(E*pps), endpoint k mod E), so the offered load is
 * smooth, not a burst every 20 ms. Every packet carries, after its 12-byte RTP header, a magic, the
 * sender's endpoint index, its sequence number and its send time (CLOCK_REALTIME ns); the receiver
 * takes the kernel's arrival time (SO_TIMESTAMPNS) and the socket's own drop counter (SO_RXQ_OVFL),
 * so a loss caused by this program's own receive queue is told apart from one inside the relay.
 *
 * Usage (driven by bench/media/rtp-blast.ts):
 *   rtp-blast <endpoints> <ports-file>
 * binds the endpoints, writes their ports (one a line) to <ports-file>, prints "READY", then reads
 *   GO <dest-file> <warmup-ms> <measure-ms> <pps-per-endpoint> <payload-bytes> [<connect 0|1> [<late-ms>]]
 * from stdin (<dest-file>: one "<ipv4> <port>" line per endpoint; connect 1: each socket is connected
 * to its destination and so accepts packets from it only; late-ms, default 100: measured packets that
 * arrive later than this after they were sent are counted as late), runs warm-up + measurement + a
 * 1 s drain, and prints one line "RESULT {json}". Packets sent during the warm-up (latching) are
 * not counted. Bounded: at most 20,000 endpoints, 120 s of traffic.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENDPOINTS 20000
#define MAX_PAYLOAD 1400
#define MAGIC 0x52545042u /* "RTPB" */
#define BATCH 32
#define DRAIN_NS 1000000000LL
/* latency histogram: 1 us buckets below 20 ms, then 1 ms buckets up to 10 s */
#define FINE_US 20000
#define COARSE_MS 10000
#define HIST_SIZE (FINE_US + COARSE_MS)

struct endpoint {
  int fd;
  uint16_t port;
  struct sockaddr_in dst;
  uint32_t seq;           /* next sequence number to send */
  uint64_t sent;          /* measured packets sent */
  uint64_t recv_from;     /* measured packets of this sender received at its peer */
  uint32_t drops;         /* SO_RXQ_OVFL: packets the kernel dropped at this socket */
};

static struct endpoint *eps;
static int n_eps;
static uint64_t hist[HIST_SIZE];
static uint64_t lat_count;

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "rtp-blast: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

static void record_latency(int64_t ns) {
  if (ns < 0) ns = 0;
  int64_t us = ns / 1000;
  size_t b = us < FINE_US ? (size_t)us : (size_t)(FINE_US + (us / 1000 < COARSE_MS ? us / 1000 : COARSE_MS - 1));
  hist[b]++;
  lat_count++;
}

/* latency (us) at quantile q of the histogram */
static double quantile_us(double q) {
  if (lat_count == 0) return -1;
  uint64_t rank = (uint64_t)(q * (double)(lat_count - 1)) + 1, seen = 0;
  for (size_t b = 0; b < HIST_SIZE; b++) {
    seen += hist[b];
    if (seen >= rank) return b < FINE_US ? (double)b : (double)(b - FINE_US) * 1000.0;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: rtp-blast <endpoints> <ports-file>\n");
    return 2;
  }
  n_eps = atoi(argv[1]);
  if (n_eps < 2 || n_eps > MAX_ENDPOINTS || n_eps % 2 != 0) {
    fprintf(stderr, "rtp-blast: endpoints must be even, 2..%d\n", MAX_ENDPOINTS);
    return 2;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n_eps + 64) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  eps = calloc((size_t)n_eps, sizeof *eps);
  if (eps == NULL) die("calloc");
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  FILE *pf = fopen(argv[2], "w");
  if (pf == NULL) die("ports file");
  for (int i = 0; i < n_eps; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int one = 1, rcv = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
    eps[i].fd = fd;
    eps[i].port = ntohs(a.sin_port);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    fprintf(pf, "%u\n", eps[i].port);
  }
  fclose(pf);
  printf("READY %d\n", n_eps);
  fflush(stdout);

  char line[4096], dest_file[3000];
  long warm_ms, measure_ms, pps, payload, connected = 0, late_ms = 100;
  if (fgets(line, sizeof line, stdin) == NULL) return 1;
  if (sscanf(line, "GO %2999s %ld %ld %ld %ld %ld %ld", dest_file, &warm_ms, &measure_ms, &pps, &payload, &connected, &late_ms) < 5 ||
      late_ms < 1 || late_ms > 900 || warm_ms < 0 ||
      warm_ms > 60000 || measure_ms < 100 || measure_ms > 120000 || pps < 1 || pps > 10000 || payload < 24 ||
      payload > MAX_PAYLOAD) {
    fprintf(stderr, "rtp-blast: bad GO line: %s", line);
    return 2;
  }
  FILE *df = fopen(dest_file, "r");
  if (df == NULL) die("dest file");
  for (int i = 0; i < n_eps; i++) {
    char host[64];
    unsigned port;
    if (fscanf(df, "%63s %u", host, &port) != 2 || port == 0 || port > 65535) {
      fprintf(stderr, "rtp-blast: dest file: line %d\n", i + 1);
      return 2;
    }
    eps[i].dst.sin_family = AF_INET;
    eps[i].dst.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &eps[i].dst.sin_addr) != 1) {
      fprintf(stderr, "rtp-blast: dest file: bad address %s\n", host);
      return 2;
    }
    /* connected: the kernel skips the route lookup per packet, and only the destination's own
       address may answer (a symmetric-RTP relay sends from the port it receives on) */
    if (connected && connect(eps[i].fd, (struct sockaddr *)&eps[i].dst, sizeof eps[i].dst) < 0) die("connect");
  }
  fclose(df);

  uint8_t pkt[12 + MAX_PAYLOAD];
  memset(pkt, 0xd5, sizeof pkt); /* PCMU-ish filler */
  const int64_t interval_ns = 1000000000LL / ((int64_t)n_eps * pps);
  const int64_t t0 = now_ns(CLOCK_MONOTONIC) + 20000000LL;
  const int64_t t_measure = t0 + warm_ms * 1000000LL;
  const int64_t t_end = t_measure + measure_ms * 1000000LL;
  const int64_t t_stop = t_end + DRAIN_NS;
  /* realtime value of t_measure: packets stamped at or after it are measured */
  const int64_t rt_offset = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
  const int64_t rt_measure = t_measure + rt_offset, rt_end = t_end + rt_offset;

  uint64_t k = 0, send_errors = 0, late_1ms = 0, measured_sends = 0, misrouted = 0, foreign = 0, received = 0;
  uint64_t reordered = 0, late = 0;
  const int64_t late_ns = late_ms * 1000000LL;
  int64_t max_late = 0;
  struct epoll_event evs[256];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  static uint8_t bufs[BATCH][2048];
  static uint8_t ctrls[BATCH][256];
  uint32_t *last_seq = calloc((size_t)n_eps, sizeof *last_seq);
  if (last_seq == NULL) die("calloc");
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);

  for (;;) {
    int64_t now = now_ns(CLOCK_MONOTONIC);
    if (now >= t_stop) break;
    /* send what is due (bounded burst so that receiving keeps up when behind) */
    int burst = 0;
    while (now < t_end && t0 + (int64_t)k * interval_ns <= now && burst < 256) {
      int64_t due = t0 + (int64_t)k * interval_ns;
      struct endpoint *e = &eps[k % (uint64_t)n_eps];
      int64_t late = now - due;
      /* measured by the time it actually leaves, as the receiver judges it */
      int measured = now >= t_measure;
      if (measured) {
        if (late > max_late) max_late = late;
        if (late > 1000000) late_1ms++;
      }
      uint32_t seq = e->seq++;
      int64_t rt = now_ns(CLOCK_REALTIME);
      pkt[0] = 0x80;
      pkt[1] = 0; /* PT 0 = PCMU */
      pkt[2] = (uint8_t)(seq >> 8);
      pkt[3] = (uint8_t)seq;
      put32(pkt + 4, seq * 160u);
      put32(pkt + 8, 0x10000000u + (uint32_t)(k % (uint64_t)n_eps));
      put32(pkt + 12, MAGIC);
      put32(pkt + 16, (uint32_t)(k % (uint64_t)n_eps));
      put32(pkt + 20, seq);
      put32(pkt + 24, (uint32_t)((uint64_t)rt >> 32));
      put32(pkt + 28, (uint32_t)rt);
      ssize_t r = connected ? send(e->fd, pkt, 12 + (size_t)payload, 0)
                            : sendto(e->fd, pkt, 12 + (size_t)payload, 0, (struct sockaddr *)&e->dst, sizeof e->dst);
      if (r < 0) {
        send_errors++;
      } else if (measured) {
        e->sent++;
        measured_sends++;
      }
      k++;
      burst++;
      now = now_ns(CLOCK_MONOTONIC);
    }
    int n = epoll_wait(ep, evs, 256, 0);
    for (int j = 0; j < n; j++) {
      uint32_t idx = evs[j].data.u32;
      struct endpoint *me = &eps[idx];
      for (int b = 0; b < BATCH; b++) {
        iovs[b].iov_base = bufs[b];
        iovs[b].iov_len = sizeof bufs[b];
        memset(&msgs[b].msg_hdr, 0, sizeof msgs[b].msg_hdr);
        msgs[b].msg_hdr.msg_iov = &iovs[b];
        msgs[b].msg_hdr.msg_iovlen = 1;
        msgs[b].msg_hdr.msg_control = ctrls[b];
        msgs[b].msg_hdr.msg_controllen = sizeof ctrls[b];
      }
      int got = recvmmsg(me->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      for (int b = 0; b < got; b++) {
        const uint8_t *p = bufs[b];
        int64_t arrival = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[b].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[b].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            arrival = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
          } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t d;
            memcpy(&d, CMSG_DATA(c), sizeof d);
            me->drops = d;
          }
        }
        if (msgs[b].msg_len < 32 || get32(p + 12) != MAGIC) {
          foreign++;
          continue;
        }
        uint32_t from = get32(p + 16), seq = get32(p + 20);
        int64_t sent_rt = (int64_t)(((uint64_t)get32(p + 24) << 32) | get32(p + 28));
        if (from >= (uint32_t)n_eps || (from ^ 1u) != idx) {
          misrouted++;
          continue;
        }
        received++;
        if (seq < last_seq[from]) reordered++;
        last_seq[from] = seq;
        if (sent_rt >= rt_measure && sent_rt < rt_end) {
          eps[from].recv_from++;
          if (arrival < 0) arrival = now_ns(CLOCK_REALTIME);
          if (arrival - sent_rt > late_ns) late++;
          record_latency(arrival - sent_rt);
        }
      }
    }
  }
  getrusage(RUSAGE_SELF, &ru1);

  uint64_t measured_recv = 0, rx_drops = 0, worst_loss = 0;
  int streams_with_loss = 0;
  for (int i = 0; i < n_eps; i++) {
    measured_recv += eps[i].recv_from;
    rx_drops += eps[i].drops;
    uint64_t lost = eps[i].sent > eps[i].recv_from ? eps[i].sent - eps[i].recv_from : 0;
    if (lost > 0) streams_with_loss++;
    if (lost > worst_loss) worst_loss = lost;
  }
  double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  printf("RESULT {\"endpoints\":%d,\"ppsPerEndpoint\":%ld,\"payloadBytes\":%ld,\"measureMs\":%ld,\"warmupMs\":%ld,"
         "\"sent\":%llu,\"received\":%llu,\"receivedAll\":%llu,\"sendErrors\":%llu,\"misrouted\":%llu,\"foreign\":%llu,"
         "\"reordered\":%llu,\"late\":%llu,\"lateMs\":%ld,\"rxDropsAtGenerator\":%llu,\"streamsWithLoss\":%d,\"worstStreamLoss\":%llu,"
         "\"sendsLateOver1ms\":%llu,\"maxSendLateUs\":%.1f,\"cpuSeconds\":%.3f,"
         "\"latencyUs\":{\"count\":%llu,\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f}}\n",
         n_eps, pps, payload, measure_ms, warm_ms, (unsigned long long)measured_sends, (unsigned long long)measured_recv,
         (unsigned long long)received, (unsigned long long)send_errors, (unsigned long long)misrouted,
         (unsigned long long)foreign, (unsigned long long)reordered, (unsigned long long)late, late_ms, (unsigned long long)rx_drops, streams_with_loss,
         (unsigned long long)worst_loss, (unsigned long long)late_1ms, (double)max_late / 1000.0, cpu_s,
         (unsigned long long)lat_count, quantile_us(0.5), quantile_us(0.9), quantile_us(0.99), quantile_us(0.999),
         quantile_us(1.0));
  fflush(stdout);
  return 0;
}
