#define _GNU_SOURCE
#include "CBulwarkNet.h"
#include <malloc.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/filter.h>

struct bw_batch {
    int count, in_size, out_size, queued;
    unsigned char *in, *out;
    struct iovec *in_iov, *out_iov;
    struct sockaddr_storage *addr;
    struct mmsghdr *in_msg, *out_msg;
};

bw_batch *bw_batch_new(int count, int in_size, int out_size) {
    bw_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->count = count;
    b->in_size = in_size;
    b->out_size = out_size;
    b->in = calloc((size_t)count, (size_t)in_size);
    b->out = calloc((size_t)count, (size_t)out_size);
    b->in_iov = calloc((size_t)count, sizeof(struct iovec));
    b->out_iov = calloc((size_t)count, sizeof(struct iovec));
    b->addr = calloc((size_t)count, sizeof(struct sockaddr_storage));
    b->in_msg = calloc((size_t)count, sizeof(struct mmsghdr));
    b->out_msg = calloc((size_t)count, sizeof(struct mmsghdr));
    if (!b->in || !b->out || !b->in_iov || !b->out_iov || !b->addr || !b->in_msg || !b->out_msg) {
        bw_batch_free(b);
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        b->in_iov[i].iov_base = b->in + (size_t)i * (size_t)in_size;
        b->in_iov[i].iov_len = (size_t)in_size;
        b->in_msg[i].msg_hdr.msg_iov = &b->in_iov[i];
        b->in_msg[i].msg_hdr.msg_iovlen = 1;
        b->in_msg[i].msg_hdr.msg_name = &b->addr[i];
        b->out_iov[i].iov_base = b->out + (size_t)i * (size_t)out_size;
        b->out_msg[i].msg_hdr.msg_iov = &b->out_iov[i];
        b->out_msg[i].msg_hdr.msg_iovlen = 1;
    }
    return b;
}

void bw_batch_free(bw_batch *b) {
    if (!b) return;
    free(b->in);
    free(b->out);
    free(b->in_iov);
    free(b->out_iov);
    free(b->addr);
    free(b->in_msg);
    free(b->out_msg);
    free(b);
}

int bw_udp_open(const struct sockaddr *addr, socklen_t len, int rcvbuf, int sndbuf) {
    int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    /* An idle thread wakes once a second (bw_recv returns -EAGAIN), so that it takes a new
       policy and lets go of the old one without waiting for traffic. */
    struct timeval idle = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    if (bind(fd, addr, len) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int recv_batch(int fd, bw_batch *b, int flags) {
    for (int i = 0; i < b->count; i++) {
        b->in_msg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        b->in_msg[i].msg_hdr.msg_flags = 0;
    }
    b->queued = 0;
    int n = recvmmsg(fd, b->in_msg, (unsigned)b->count, flags, NULL);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -errno;
    }
    // After shutdown(SHUT_RD) the kernel reports end of stream as a message of length 0 without
    // an address: not a datagram (a real empty datagram has its sender's address).
    while (n > 0 && b->in_msg[n - 1].msg_len == 0 && b->in_msg[n - 1].msg_hdr.msg_namelen == 0) n--;
    return n;
}

int bw_recv(int fd, bw_batch *b) { return recv_batch(fd, b, MSG_WAITFORONE); }

int bw_recv_nowait(int fd, bw_batch *b) { return recv_batch(fd, b, MSG_DONTWAIT); }

const unsigned char *bw_in_data(const bw_batch *b, int i, int *len) {
    *len = (int)b->in_msg[i].msg_len;
    return b->in + (size_t)i * (size_t)b->in_size;
}

int bw_in_truncated(const bw_batch *b, int i) { return (b->in_msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

const struct sockaddr *bw_in_addr(const bw_batch *b, int i, socklen_t *len) {
    *len = b->in_msg[i].msg_hdr.msg_namelen;
    return (const struct sockaddr *)&b->addr[i];
}

unsigned char *bw_out_buf(bw_batch *b, int i) { return b->out + (size_t)i * (size_t)b->out_size; }

int bw_out_capacity(const bw_batch *b) { return b->out_size; }

void bw_out_queue(bw_batch *b, int i, int len, int src) {
    int q = b->queued++;
    b->out_iov[q].iov_base = b->out + (size_t)i * (size_t)b->out_size;
    b->out_iov[q].iov_len = (size_t)len;
    b->out_msg[q].msg_hdr.msg_name = &b->addr[src];
    b->out_msg[q].msg_hdr.msg_namelen = b->in_msg[src].msg_hdr.msg_namelen;
}

int bw_send(int fd, bw_batch *b) {
    int sent = 0;
    while (sent < b->queued) {
        int n = sendmmsg(fd, b->out_msg + sent, (unsigned)(b->queued - sent), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            // The datagram at `sent` cannot go (e.g. EPERM, ENOBUFS): skip it, send the rest.
            sent += 1;
            continue;
        }
        sent += n;
    }
    b->queued = 0;
    return sent;
}

int bw_sendto(int fd, const void *data, size_t len, const struct sockaddr *addr, socklen_t alen) {
    ssize_t n = sendto(fd, data, len, 0, addr, alen);
    return n < 0 ? -errno : (int)n;
}

void bw_shutdown(int fd) { shutdown(fd, SHUT_RD); }

void bw_close(int fd) { close(fd); }

unsigned bw_qname_steering_hash(const unsigned char *p, size_t len) {
    unsigned h = 0;
    for (size_t i = 0; i < BW_STEER_BYTES; i++) {
        if (12 + i >= len) break;
        unsigned b = p[12 + i];
        if (b == 0) break;
        h = h * 31u + (b | 0x20u);
    }
    // Mix, so that the low bits (what `% groups` keeps) depend on every byte.
    return (h * 0x9E3779B1u) >> 16;
}

int bw_attach_qname_steering(int fd, unsigned groups) {
    if (groups < 2) return 0;
    // Per byte: stop if the packet ends or the byte is zero; else h = h * 31 + (b | 0x20).
    // M[0] holds h. Conditional jumps only skip one `ja`, whose 32-bit offset reaches the end.
    struct sock_filter prog[8 + BW_STEER_BYTES * 12];
    int n = 0;
    int jas[BW_STEER_BYTES * 2];
    int nj = 0;
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_ST, 0);
    for (int i = 0; i < BW_STEER_BYTES; i++) {
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0);
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (unsigned)(12 + i), 1, 0);
        jas[nj++] = n;
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (unsigned)(12 + i));
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
        jas[nj++] = n;
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_OR | BPF_K, 0x20);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_MEM, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 31);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_ST, 0);
    }
    int end = n;
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_MEM, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9E3779B1u);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, groups);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
    for (int k = 0; k < nj; k++) prog[jas[k]].k = (unsigned)(end - (jas[k] + 1));
    struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) != 0) return -errno;
    return 0;
}

int bw_release_freed_memory(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}

void bw_set_mmap_threshold(int bytes) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
#endif
}
