// CLiburing: an opaque, forwarding-only shim over liburing for Swift.
//
// This header must never pull in liburing's own header (nor anything that defines _GNU_SOURCE /
// _XOPEN_SOURCE): liburing 2.3 does, and a clean Swift build then fails with an `fd_set`
// module conflict. Only CLiburing.c includes it. Every function returns 0 (or a
// non-negative count) on success and -errno on failure, like liburing itself.
#ifndef CAIRN_CLIBURING_H
#define CAIRN_CLIBURING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One io_uring instance. Owned by exactly one thread at a time.
typedef struct cairn_uring cairn_uring;

/// A completion copied out of the CQ ring.
typedef struct cairn_cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
} cairn_cqe;

/// An I/O vector with the layout of `struct iovec`.
typedef struct cairn_iovec {
    void *base;
    size_t len;
} cairn_iovec;

// MARK: - constants Swift cannot see through Glibc

extern const int cairn_O_DIRECT;
extern const int cairn_O_DSYNC;
extern const int cairn_O_EXCL;
extern const int cairn_RWF_DSYNC;
extern const unsigned cairn_IOSQE_IO_LINK;
extern const unsigned cairn_IOSQE_IO_DRAIN;
extern const unsigned cairn_IOSQE_ASYNC;
extern const unsigned cairn_IORING_FSYNC_DATASYNC;
extern const int cairn_IORING_OP_READ;
extern const int cairn_IORING_OP_WRITE;
extern const int cairn_IORING_OP_READV;
extern const int cairn_IORING_OP_WRITEV;
extern const int cairn_IORING_OP_FSYNC;
extern const unsigned cairn_IORING_SETUP_COOP_TASKRUN;
extern const unsigned cairn_IORING_SETUP_SINGLE_ISSUER;
extern const unsigned cairn_IORING_SETUP_DEFER_TASKRUN;

// MARK: - ring lifetime

/// io_uring_queue_init. On success `*out` owns the ring; release with cairn_uring_destroy.
int cairn_uring_create(unsigned entries, unsigned flags, cairn_uring **out);
/// io_uring_queue_exit and free.
void cairn_uring_destroy(cairn_uring *ring);
/// Number of SQ entries the ring was created with.
unsigned cairn_uring_sq_entries(const cairn_uring *ring);
/// Number of CQ entries the ring was created with.
unsigned cairn_uring_cq_entries(const cairn_uring *ring);
/// io_uring_sq_space_left.
unsigned cairn_uring_sq_space_left(cairn_uring *ring);
/// io_uring_sq_ready: SQEs prepared but not yet submitted.
unsigned cairn_uring_sq_ready(cairn_uring *ring);
/// io_uring_cq_ready: CQEs waiting to be reaped.
unsigned cairn_uring_cq_ready(cairn_uring *ring);

// MARK: - preparing requests (get SQE + prep + flags + user data in one call)
// Each returns 0, or -EBUSY when the submission queue is full (nothing was consumed).

int cairn_uring_prep_read(cairn_uring *ring, int fd, void *buf, unsigned nbytes, uint64_t offset,
                          int rw_flags, unsigned sqe_flags, uint64_t user_data);
/// A read into memory registered with cairn_uring_register_buffers: `buf` lies inside registered
/// buffer `buffer_index` (the kernel skips pinning its pages for each read).
int cairn_uring_prep_read_fixed(cairn_uring *ring, int fd, void *buf, unsigned nbytes, uint64_t offset,
                                unsigned buffer_index, uint64_t user_data);
int cairn_uring_prep_write(cairn_uring *ring, int fd, const void *buf, unsigned nbytes, uint64_t offset,
                           int rw_flags, unsigned sqe_flags, uint64_t user_data);
int cairn_uring_prep_readv(cairn_uring *ring, int fd, const cairn_iovec *iovecs, unsigned nr_vecs,
                           uint64_t offset, int rw_flags, unsigned sqe_flags, uint64_t user_data);
int cairn_uring_prep_writev(cairn_uring *ring, int fd, const cairn_iovec *iovecs, unsigned nr_vecs,
                            uint64_t offset, int rw_flags, unsigned sqe_flags, uint64_t user_data);
int cairn_uring_prep_fsync(cairn_uring *ring, int fd, unsigned fsync_flags, unsigned sqe_flags,
                           uint64_t user_data);
int cairn_uring_prep_nop(cairn_uring *ring, unsigned sqe_flags, uint64_t user_data);
/// accept4(fd, NULL, NULL, SOCK_CLOEXEC) as a request (the CQE's result is the new socket).
int cairn_uring_prep_accept(cairn_uring *ring, int fd, uint64_t user_data);
/// recv(fd, buf, nbytes, 0) as a request. With poll_first the kernel waits for data before its
/// first attempt (IORING_RECVSEND_POLL_FIRST), for a socket known to be drained. With `fixed`,
/// `fd` is an index in the ring's registered file table (IOSQE_FIXED_FILE).
int cairn_uring_prep_recv(cairn_uring *ring, int fd, int fixed, void *buf, unsigned nbytes, int poll_first,
                          uint64_t user_data);
/// IORING_CQE_F_SOCK_NONEMPTY: a receive's completion flag, set when the socket held more data.
extern const unsigned cairn_IORING_CQE_F_SOCK_NONEMPTY;
/// send(fd, buf, nbytes, MSG_NOSIGNAL) as a request; `fixed` as for cairn_uring_prep_recv.
int cairn_uring_prep_send(cairn_uring *ring, int fd, int fixed, const void *buf, unsigned nbytes, uint64_t user_data);
/// io_uring_register_files_sparse: a registered file table of `count` empty entries.
int cairn_uring_register_files_sparse(cairn_uring *ring, unsigned count);
/// Puts `fd` in entry `index` of the registered file table (-1 empties it; the table holds its
/// own reference to the file, so an entry must be emptied for a close to release the socket).
int cairn_uring_register_file_at(cairn_uring *ring, unsigned index, int fd);
/// Registers `count` buffers (pinned once, for reads with cairn_uring_prep_read_fixed); 0 or -errno.
int cairn_uring_register_buffers(cairn_uring *ring, const cairn_iovec *iovecs, unsigned count);
/// io_uring_register_ring_fd: io_uring_enter then finds the ring without a file lookup. The
/// registration belongs to the calling thread: only for a ring entered by one thread.
int cairn_uring_register_ring_fd(cairn_uring *ring);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC): the new socket, or -errno (-EAGAIN when none waits
/// on a non-blocking listening socket).
int cairn_accept_now(int fd);
/// Names the calling thread for ps, top and perf (prctl PR_SET_NAME; at most 15 bytes kept).
void cairn_set_thread_name(const char *name);
/// The CPUs the calling thread may run on (sched_getaffinity), in ascending order: writes at most
/// `max` of them to `out` and returns how many there are (which may exceed `max`), or -errno.
int cairn_allowed_cpus(int *out, int max);
/// Pins the calling thread to one CPU (sched_setaffinity of its own tid): 0 or -errno.
int cairn_pin_current_thread(int cpu);
/// eventfd(0, EFD_CLOEXEC): a counter a ring can watch with a read. The fd or -errno.
int cairn_eventfd_create(void);

// MARK: - submission and completion

/// io_uring_submit: number of SQEs submitted, or -errno.
int cairn_uring_submit(cairn_uring *ring);
/// io_uring_submit_and_wait: submit and wait for at least `wait_nr` completions.
int cairn_uring_submit_and_wait(cairn_uring *ring, unsigned wait_nr);
/// io_uring_peek_cqe; copies the CQE to *out without consuming it. -EAGAIN when none.
int cairn_uring_peek_cqe(cairn_uring *ring, cairn_cqe *out);
/// io_uring_wait_cqe; copies the CQE to *out without consuming it.
int cairn_uring_wait_cqe(cairn_uring *ring, cairn_cqe *out);
/// io_uring_cqe_seen for the CQE at the head of the queue.
void cairn_uring_cqe_seen(cairn_uring *ring);
/// io_uring_cq_advance.
void cairn_uring_cq_advance(cairn_uring *ring, unsigned nr);
/// Copies up to `max` ready CQEs into `out` and consumes them. Returns the count (never waits).
unsigned cairn_uring_reap(cairn_uring *ring, cairn_cqe *out, unsigned max);
/// io_uring_get_probe_ring + io_uring_opcode_supported: 1 supported, 0 not, -errno on failure.
int cairn_uring_probe_opcode(cairn_uring *ring, int opcode);

// MARK: - block device ioctls (ioctl is variadic: Swift cannot call it)

/// BLKGETSIZE64.
int cairn_blkdev_size_bytes(int fd, uint64_t *out);
/// BLKSSZGET.
int cairn_blkdev_logical_block_size(int fd, uint32_t *out);
/// BLKPBSZGET.
int cairn_blkdev_physical_block_size(int fd, uint32_t *out);

// MARK: - reads that never wait

/// preadv2(2) of one buffer with RWF_NOWAIT: the bytes read (possibly fewer than `len`, when
/// only a prefix is in the page cache), or -errno (-EAGAIN: nothing of it is cached, or the
/// read would otherwise block). Retried on EINTR.
long cairn_pread_nowait(int fd, void *buf, size_t len, uint64_t offset);

// MARK: - stat (Swift cannot call stat(2): the function and the struct share a name)

/// stat(2): file type and mode bits, device number of a device node, size. 0 or -errno.
int cairn_path_stat(const char *path, uint32_t *mode, uint64_t *rdev, uint64_t *size_bytes);

// MARK: - CRC32C (Castagnoli)

/// CRC32C of `len` bytes, continuing from `crc` (pass 0 to start). Uses SSE4.2 when the CPU
/// has it, a slicing-by-8 table otherwise. The result is the standard (finalised) CRC32C.
uint32_t cairn_crc32c(uint32_t crc, const void *data, size_t len);
/// The portable table implementation, always (for tests that compare the two paths).
uint32_t cairn_crc32c_portable(uint32_t crc, const void *data, size_t len);
/// 1 when the hardware path is in use.
int cairn_crc32c_hardware(void);

#ifdef __cplusplus
}
#endif

#endif
