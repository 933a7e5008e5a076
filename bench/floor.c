// The kernel floor of the CPU benchmark: a DNS responder that does no DNS work at all.
//
// It answers every query on 127.0.0.1:PORT with one fixed A record (192.0.2.1, TTL 3600) copied
// behind the question, using the same socket calls as Bulwark's native UDP engine (one
// SO_REUSEPORT socket per thread, recvmmsg with MSG_WAITFORONE, sendmmsg, batches of 64), or,
// with `--per-packet`, those of Unbound (recvfrom and sendto per datagram). Its CPU per query is
// what the kernel charges any server on this machine for receiving and answering a datagram, so
// `bench/bench.py` runs it beside Bulwark and Unbound: no server can go below it.
//
//   cc -O2 -pthread -o floor bench/floor.c && ./floor PORT [THREADS] [--per-packet]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 64, SIZE = 1500 };

static int port, per_packet;

static const unsigned char answer_rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1};

// Writes the response to `q` (length `len`) into `r`; returns its length, or 0 to drop it.
static size_t respond(const unsigned char *q, size_t len, unsigned char *r) {
    if (len < 17 || (q[2] & 0x80)) return 0;
    size_t p = 12;
    while (p < len && q[p] != 0) {
        if (q[p] > 63) return 0;
        p += (size_t)q[p] + 1;
    }
    p += 5;  // root label, type, class
    if (p > len || p + sizeof answer_rr > SIZE) return 0;
    memcpy(r, q, p);
    r[2] = 0x80 | (q[2] & 0x01);  // QR, RD copied
    r[3] = 0x80;                  // RA, NOERROR
    r[4] = 0, r[5] = 1, r[6] = 0, r[7] = 1;
    memset(r + 8, 0, 4);
    memcpy(r + p, answer_rr, sizeof answer_rr);
    return p + sizeof answer_rr;
}

static int open_socket(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1, big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void serve_per_packet(int fd) {
    unsigned char q[SIZE], r[SIZE];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
        if (n < 0) continue;
        size_t len = respond(q, (size_t)n, r);
        if (len) sendto(fd, r, len, 0, (struct sockaddr *)&from, flen);
    }
}

static void serve_batched(int fd) {
    static __thread unsigned char in[BATCH][SIZE], out[BATCH][SIZE];
    static __thread struct sockaddr_storage addr[BATCH];
    struct iovec iv[BATCH], ov[BATCH];
    struct mmsghdr im[BATCH], om[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iv[i] = (struct iovec){in[i], SIZE};
            im[i].msg_hdr = (struct msghdr){.msg_name = &addr[i], .msg_namelen = sizeof addr[i], .msg_iov = &iv[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(fd, im, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue;
        int queued = 0;
        for (int i = 0; i < n; i++) {
            size_t len = respond(in[i], im[i].msg_len, out[i]);
            if (!len) continue;
            ov[queued] = (struct iovec){out[i], len};
            om[queued].msg_hdr =
                (struct msghdr){.msg_name = &addr[i], .msg_namelen = im[i].msg_hdr.msg_namelen, .msg_iov = &ov[queued], .msg_iovlen = 1};
            queued++;
        }
        for (int sent = 0; sent < queued;) {
            int k = sendmmsg(fd, om + sent, (unsigned)(queued - sent), 0);
            sent += k > 0 ? k : 1;  // skip a datagram that cannot go
        }
    }
}

static void *thread_main(void *arg) {
    int fd = (int)(long)arg;
    if (per_packet)
        serve_per_packet(fd);
    else
        serve_batched(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [THREADS] [--per-packet]\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    int threads = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 1;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--per-packet") == 0) per_packet = 1;
    if (port <= 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "floor: bad port or thread count\n");
        return 2;
    }
    int fds[64];
    for (int t = 0; t < threads; t++) {
        fds[t] = open_socket();
        if (fds[t] < 0) {
            fprintf(stderr, "floor: 127.0.0.1:%d: %s\n", port, strerror(errno));
            return 1;
        }
    }
    pthread_t tids[64];
    for (int t = 1; t < threads; t++) pthread_create(&tids[t], NULL, thread_main, (void *)(long)fds[t]);
    thread_main((void *)(long)fds[0]);
    return 0;
}
