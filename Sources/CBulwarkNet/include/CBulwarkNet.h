// Batched UDP I/O (recvmmsg/sendmmsg) for Bulwark's native UDP engine. A batch owns its buffers,
// iovecs and address slots, so Swift never builds `struct mmsghdr` (it needs _GNU_SOURCE).
#ifndef CBULWARKNET_H
#define CBULWARKNET_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct bw_batch bw_batch;

/// A batch of `count` slots, each with an input buffer of `in_size` and an output buffer of `out_size` bytes.
bw_batch *bw_batch_new(int count, int in_size, int out_size);
void bw_batch_free(bw_batch *b);

/// Opens a UDP socket bound to `addr` with SO_REUSEPORT (and SO_REUSEADDR), buffer sizes set.
/// Returns the descriptor, or -errno.
int bw_udp_open(const struct sockaddr *addr, socklen_t len, int rcvbuf, int sndbuf);

/// Receives up to the batch size, blocking until at least one datagram arrives (MSG_WAITFORONE).
/// Returns the number received, 0 on EINTR/EAGAIN, or -errno (e.g. after shutdown).
int bw_recv(int fd, bw_batch *b);
/// 0 after a second without datagrams (SO_RCVTIMEO set by bw_udp_open) or on a signal.
/// Like bw_recv, without waiting (after poll said the socket is readable).
int bw_recv_nowait(int fd, bw_batch *b);

/// Input slot `i`: data and length (truncated datagrams are flagged by `bw_in_truncated`).
const unsigned char *bw_in_data(const bw_batch *b, int i, int *len);
int bw_in_truncated(const bw_batch *b, int i);
/// Input slot `i`: the sender's address.
const struct sockaddr *bw_in_addr(const bw_batch *b, int i, socklen_t *len);

/// Output slot `i`: a buffer of `bw_out_capacity` bytes.
unsigned char *bw_out_buf(bw_batch *b, int i);
int bw_out_capacity(const bw_batch *b);
/// Queues output slot `i` (`len` bytes) to the sender of input slot `src`.
void bw_out_queue(bw_batch *b, int i, int len, int src);
/// Sends every queued output (sendmmsg, retried for partial sends); returns how many were sent.
int bw_send(int fd, bw_batch *b);

/// One datagram to `addr` (for answers completed on another thread).
int bw_sendto(int fd, const void *data, size_t len, const struct sockaddr *addr, socklen_t alen);

/// Attaches a classic BPF program to the SO_REUSEPORT group of `fd` that picks the socket by a
/// hash of the query name (the first `BW_STEER_BYTES` bytes from offset 12, ASCII case folded,
/// up to the first zero byte), so every query for a name reaches the same thread and its cache.
/// `groups` is the number of sockets in the group. Returns 0 or -errno.
int bw_attach_qname_steering(int fd, unsigned groups);
/// The same hash in C (before `% groups`), for queries that arrive another way (TCP).
unsigned bw_qname_steering_hash(const unsigned char *packet, size_t len);
#define BW_STEER_BYTES 32

/// Wakes a thread blocked in bw_recv on `fd` (shutdown for reading); sending still works.
void bw_shutdown(int fd);
void bw_close(int fd);

/// Returns freed heap memory to the system (glibc's malloc_trim(0)); 1 if any was released.
int bw_release_freed_memory(void);

/// Serves allocations of `bytes` and more with their own mappings, returned to the system as
/// soon as they are freed (glibc otherwise raises this threshold after the first large free,
/// and a policy build's list buffers then stay in the heap as unreturnable holes).
void bw_set_mmap_threshold(int bytes);

#endif
