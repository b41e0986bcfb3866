// The only file of Cairn that includes <liburing.h>. Forwarding only.
#define _GNU_SOURCE
#include "CLiburing.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <sched.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

_Static_assert(sizeof(cairn_iovec) == sizeof(struct iovec), "cairn_iovec must match struct iovec");
_Static_assert(offsetof(cairn_iovec, len) == offsetof(struct iovec, iov_len), "iovec layout");

const int cairn_O_DIRECT = O_DIRECT;
const int cairn_O_DSYNC = O_DSYNC;
const int cairn_O_EXCL = O_EXCL;
const int cairn_RWF_DSYNC = RWF_DSYNC;
const unsigned cairn_IOSQE_IO_LINK = IOSQE_IO_LINK;
const unsigned cairn_IOSQE_IO_DRAIN = IOSQE_IO_DRAIN;
const unsigned cairn_IOSQE_ASYNC = IOSQE_ASYNC;
const unsigned cairn_IORING_FSYNC_DATASYNC = IORING_FSYNC_DATASYNC;
const int cairn_IORING_OP_READ = IORING_OP_READ;
const int cairn_IORING_OP_WRITE = IORING_OP_WRITE;
const int cairn_IORING_OP_READV = IORING_OP_READV;
const int cairn_IORING_OP_WRITEV = IORING_OP_WRITEV;
const int cairn_IORING_OP_FSYNC = IORING_OP_FSYNC;
// liburing 2.3's headers may predate some setup flags: the values are the kernel ABI's.
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
const unsigned cairn_IORING_SETUP_COOP_TASKRUN = IORING_SETUP_COOP_TASKRUN;
const unsigned cairn_IORING_CQE_F_SOCK_NONEMPTY = IORING_CQE_F_SOCK_NONEMPTY;
const unsigned cairn_IORING_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
const unsigned cairn_IORING_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;

struct cairn_uring {
    struct io_uring ring;
};

int cairn_uring_create(unsigned entries, unsigned flags, cairn_uring **out) {
    if (out == NULL) return -EINVAL;
    *out = NULL;
    cairn_uring *r = calloc(1, sizeof(*r));
    if (r == NULL) return -ENOMEM;
    int rc = io_uring_queue_init(entries, &r->ring, flags);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void cairn_uring_destroy(cairn_uring *ring) {
    if (ring == NULL) return;
    io_uring_queue_exit(&ring->ring);
    free(ring);
}

unsigned cairn_uring_sq_entries(const cairn_uring *ring) { return ring->ring.sq.ring_entries; }
unsigned cairn_uring_cq_entries(const cairn_uring *ring) { return ring->ring.cq.ring_entries; }
unsigned cairn_uring_sq_space_left(cairn_uring *ring) { return io_uring_sq_space_left(&ring->ring); }
unsigned cairn_uring_sq_ready(cairn_uring *ring) { return io_uring_sq_ready(&ring->ring); }
unsigned cairn_uring_cq_ready(cairn_uring *ring) { return io_uring_cq_ready(&ring->ring); }

static inline void finish_sqe(struct io_uring_sqe *sqe, int rw_flags, unsigned sqe_flags, uint64_t user_data) {
    sqe->rw_flags = rw_flags;
    io_uring_sqe_set_flags(sqe, sqe_flags);
    io_uring_sqe_set_data64(sqe, user_data);
}

int cairn_uring_prep_read(cairn_uring *ring, int fd, void *buf, unsigned nbytes, uint64_t offset,
                          int rw_flags, unsigned sqe_flags, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_read(sqe, fd, buf, nbytes, offset);
    finish_sqe(sqe, rw_flags, sqe_flags, user_data);
    return 0;
}

int cairn_uring_prep_read_fixed(cairn_uring *ring, int fd, void *buf, unsigned nbytes, uint64_t offset,
                                unsigned buffer_index, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_read_fixed(sqe, fd, buf, nbytes, offset, (int)buffer_index);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cairn_uring_prep_write(cairn_uring *ring, int fd, const void *buf, unsigned nbytes, uint64_t offset,
                           int rw_flags, unsigned sqe_flags, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_write(sqe, fd, buf, nbytes, offset);
    finish_sqe(sqe, rw_flags, sqe_flags, user_data);
    return 0;
}

int cairn_uring_prep_readv(cairn_uring *ring, int fd, const cairn_iovec *iovecs, unsigned nr_vecs,
                           uint64_t offset, int rw_flags, unsigned sqe_flags, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_readv(sqe, fd, (const struct iovec *)iovecs, nr_vecs, offset);
    finish_sqe(sqe, rw_flags, sqe_flags, user_data);
    return 0;
}

int cairn_uring_prep_writev(cairn_uring *ring, int fd, const cairn_iovec *iovecs, unsigned nr_vecs,
                            uint64_t offset, int rw_flags, unsigned sqe_flags, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_writev(sqe, fd, (const struct iovec *)iovecs, nr_vecs, offset);
    finish_sqe(sqe, rw_flags, sqe_flags, user_data);
    return 0;
}

int cairn_uring_prep_fsync(cairn_uring *ring, int fd, unsigned fsync_flags, unsigned sqe_flags,
                           uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_fsync(sqe, fd, fsync_flags);
    io_uring_sqe_set_flags(sqe, sqe_flags);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cairn_uring_prep_nop(cairn_uring *ring, unsigned sqe_flags, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_flags(sqe, sqe_flags);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cairn_uring_submit(cairn_uring *ring) { return io_uring_submit(&ring->ring); }

int cairn_uring_submit_and_wait(cairn_uring *ring, unsigned wait_nr) {
    return io_uring_submit_and_wait(&ring->ring, wait_nr);
}

static inline void copy_cqe(const struct io_uring_cqe *cqe, cairn_cqe *out) {
    out->user_data = io_uring_cqe_get_data64(cqe);
    out->res = cqe->res;
    out->flags = cqe->flags;
}

int cairn_uring_peek_cqe(cairn_uring *ring, cairn_cqe *out) {
    struct io_uring_cqe *cqe = NULL;
    int rc = io_uring_peek_cqe(&ring->ring, &cqe);
    if (rc < 0) return rc;
    if (cqe == NULL) return -EAGAIN;
    copy_cqe(cqe, out);
    return 0;
}

int cairn_uring_wait_cqe(cairn_uring *ring, cairn_cqe *out) {
    struct io_uring_cqe *cqe = NULL;
    int rc = io_uring_wait_cqe(&ring->ring, &cqe);
    if (rc < 0) return rc;
    if (cqe == NULL) return -EAGAIN;
    copy_cqe(cqe, out);
    return 0;
}

void cairn_uring_cqe_seen(cairn_uring *ring) { io_uring_cq_advance(&ring->ring, 1); }

void cairn_uring_cq_advance(cairn_uring *ring, unsigned nr) { io_uring_cq_advance(&ring->ring, nr); }

int cairn_uring_prep_accept(cairn_uring *ring, int fd, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cairn_uring_prep_recv(cairn_uring *ring, int fd, int fixed, void *buf, unsigned nbytes, int poll_first,
                          uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_recv(sqe, fd, buf, nbytes, 0);
    if (poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cairn_uring_prep_send(cairn_uring *ring, int fd, int fixed, const void *buf, unsigned nbytes, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) return -EBUSY;
    io_uring_prep_send(sqe, fd, buf, nbytes, MSG_NOSIGNAL);
    if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cairn_uring_register_files_sparse(cairn_uring *ring, unsigned count) {
    int rc = io_uring_register_files_sparse(&ring->ring, count);
    return rc < 0 ? rc : 0;
}

int cairn_uring_register_file_at(cairn_uring *ring, unsigned index, int fd) {
    int fds[1] = {fd};
    int rc = io_uring_register_files_update(&ring->ring, index, fds, 1);
    if (rc < 0) return rc;
    return rc == 1 ? 0 : -EIO;
}

int cairn_uring_register_buffers(cairn_uring *ring, const cairn_iovec *iovecs, unsigned count) {
    int rc = io_uring_register_buffers(&ring->ring, (const struct iovec *)iovecs, count);
    return rc < 0 ? rc : 0;
}

int cairn_uring_register_ring_fd(cairn_uring *ring) {
    int rc = io_uring_register_ring_fd(&ring->ring);
    if (rc < 0) return rc;
    return rc == 1 ? 0 : -EIO;
}

int cairn_accept_now(int fd) {
    int s = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    return s < 0 ? -errno : s;
}

void cairn_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

int cairn_allowed_cpus(int *out, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (n < max) out[n] = cpu;
        n++;
    }
    return n;
}

int cairn_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

int cairn_eventfd_create(void) {
    int fd = eventfd(0, EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

unsigned cairn_uring_reap(cairn_uring *ring, cairn_cqe *out, unsigned max) {
    unsigned head;
    unsigned n = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&ring->ring, head, cqe) {
        if (n == max) break;
        copy_cqe(cqe, &out[n]);
        n++;
    }
    if (n > 0) io_uring_cq_advance(&ring->ring, n);
    return n;
}

int cairn_uring_probe_opcode(cairn_uring *ring, int opcode) {
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring->ring);
    if (probe == NULL) return -ENOSYS;
    int supported = io_uring_opcode_supported(probe, opcode) ? 1 : 0;
    io_uring_free_probe(probe);
    return supported;
}

int cairn_blkdev_size_bytes(int fd, uint64_t *out) {
    return ioctl(fd, BLKGETSIZE64, out) < 0 ? -errno : 0;
}

int cairn_blkdev_logical_block_size(int fd, uint32_t *out) {
    int v = 0;
    if (ioctl(fd, BLKSSZGET, &v) < 0) return -errno;
    *out = (uint32_t)v;
    return 0;
}

int cairn_blkdev_physical_block_size(int fd, uint32_t *out) {
    unsigned int v = 0;
    if (ioctl(fd, BLKPBSZGET, &v) < 0) return -errno;
    *out = (uint32_t)v;
    return 0;
}

int cairn_path_stat(const char *path, uint32_t *mode, uint64_t *rdev, uint64_t *size_bytes) {
    struct stat st;
    if (stat(path, &st) != 0) return -errno;
    *mode = (uint32_t)st.st_mode;
    *rdev = (uint64_t)st.st_rdev;
    *size_bytes = (uint64_t)st.st_size;
    return 0;
}

long cairn_pread_nowait(int fd, void *buf, size_t len, uint64_t offset) {
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    for (;;) {
        ssize_t n = preadv2(fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
        if (n >= 0) return (long)n;
        if (errno != EINTR) return -(long)errno;
    }
}
