// The floor under any Aerospike-protocol server on this machine: a responder that answers every
// message request at once from memory, with no storage, no index and no decoding beyond the
// frame header, built the way cairnd's service threads are (one io_uring ring per thread, a
// receive armed per connection, replies sent from the same ring, COOP_TASKRUN | SINGLE_ISSUER).
// What it costs per transaction is what the kernel (loopback TCP, the client's wake-ups,
// io_uring) and a minimal user space cost; the rest of a real server's CPU is its own work.
//
//   cc -O2 -o floor floor.c -luring -lpthread
//   ./floor PORT [THREADS] [RECORD_BYTES] [io_uring|epoll]
//
// With `epoll` each thread serves its connections the way Aerospike's service threads do:
// epoll_wait, then read and write on each ready socket (the two models' floors side by side).
//
// A read (info1 bit READ) is answered with one blob bin of RECORD_BYTES (default 1024); anything
// else with a bare success header. Each thread owns a listening socket on PORT (SO_REUSEPORT),
// so the kernel spreads connections across threads. Runs until killed.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <errno.h>
#include <unistd.h>

#define MAX_CONN 1024
#define IN_BYTES (64 * 1024)
#define TAG_ACCEPT 1ULL
#define TAG_RECV 2ULL
#define TAG_SEND 3ULL

static int port;
static int record_bytes = 1024;
static unsigned char *read_reply;   // header + one blob op
static size_t read_reply_len;
static unsigned char write_reply[8 + 22];

struct conn {
    int fd;
    unsigned char in[IN_BYTES];
    size_t in_len;
    unsigned char *out;
    size_t out_len, out_cap, out_sent;
    int sending;
};

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void put_be(unsigned char *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}

static void build_replies(void) {
    // Message header (22 bytes): size 22, info1-3, unused, result 0, generation 1, ttl, txn ttl,
    // field count 0, op count.
    static const char name[] = "value";
    size_t name_len = sizeof name - 1;
    size_t op_len = 4 + 4 + name_len + (size_t)record_bytes;
    read_reply_len = 8 + 22 + op_len;
    read_reply = calloc(1, read_reply_len);
    unsigned char *r = read_reply;
    put_be(r, (2ULL << 56) | (3ULL << 48) | (read_reply_len - 8), 8);
    r[8] = 22;
    put_be(r + 8 + 6, 1, 4);   // generation
    put_be(r + 8 + 20, 1, 2);  // one op
    unsigned char *op = r + 30;
    put_be(op, op_len - 4, 4);
    op[4] = 1;  // read
    op[5] = 4;  // blob
    op[6] = 0;
    op[7] = (unsigned char)name_len;
    memcpy(op + 8, name, name_len);
    memset(op + 8 + name_len, 'x', (size_t)record_bytes);
    put_be(write_reply, (2ULL << 56) | (3ULL << 48) | 22, 8);
    write_reply[8] = 22;
    put_be(write_reply + 8 + 6, 1, 4);
}

static struct io_uring_sqe *sqe_of(struct io_uring *ring) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
        if (!sqe) die("io_uring_get_sqe");
    }
    return sqe;
}

static void arm_recv(struct io_uring *ring, struct conn *c, int slot) {
    struct io_uring_sqe *sqe = sqe_of(ring);
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, IN_BYTES - c->in_len, 0);
    io_uring_sqe_set_data64(sqe, TAG_RECV << 56 | (uint64_t)slot);
}

static void arm_send(struct io_uring *ring, struct conn *c, int slot) {
    struct io_uring_sqe *sqe = sqe_of(ring);
    io_uring_prep_send(sqe, c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, TAG_SEND << 56 | (uint64_t)slot);
    c->sending = 1;
}

static void queue_reply(struct conn *c, const unsigned char *bytes, size_t n) {
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (!c->out) die("realloc");
    }
    memcpy(c->out + c->out_len, bytes, n);
    c->out_len += n;
}

// Answers every whole frame in the input; keeps a partial one.
static void answer(struct conn *c) {
    size_t at = 0;
    while (c->in_len - at >= 8) {
        uint64_t h = 0;
        for (int i = 0; i < 8; i++) h = h << 8 | c->in[at + i];
        size_t size = (size_t)(h & ((1ULL << 48) - 1));
        if (size + 8 > IN_BYTES) { fprintf(stderr, "frame of %zu bytes too large\n", size); exit(1); }
        if (c->in_len - at < 8 + size) break;
        int is_read = size >= 2 && (c->in[at + 9] & 1);
        if (is_read) queue_reply(c, read_reply, read_reply_len);
        else queue_reply(c, write_reply, sizeof write_reply);
        at += 8 + size;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
}

static int use_epoll;

static int listen_socket(void) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");
    return lfd;
}

// One epoll thread: level-triggered, a read and a write per ready socket.
static void *serve_epoll(void *arg) {
    (void)arg;
    int one = 1;
    int lfd = listen_socket();
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct conn **conns = calloc(MAX_CONN, sizeof *conns);
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(ep, events, 64, -1);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == UINT64_MAX) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0) continue;
                int s = 0;
                while (s < MAX_CONN && conns[s]) s++;
                if (s == MAX_CONN) { close(fd); continue; }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[s] = calloc(1, sizeof **conns);
                conns[s]->fd = fd;
                struct epoll_event ce = {.events = EPOLLIN, .data.u64 = (uint64_t)s};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                continue;
            }
            int slot = (int)events[i].data.u64;
            struct conn *c = conns[slot];
            ssize_t got = read(c->fd, c->in + c->in_len, IN_BYTES - c->in_len);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c->out);
                free(c);
                conns[slot] = NULL;
                continue;
            }
            c->in_len += (size_t)got;
            answer(c);
            while (c->out_sent < c->out_len) {  // blocking socket: the reply goes out whole
                ssize_t w = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
                if (w <= 0) { if (errno == EINTR) continue; break; }
                c->out_sent += (size_t)w;
            }
            c->out_sent = c->out_len = 0;
        }
    }
    return NULL;
}

static void *serve(void *arg) {
    (void)arg;
    int one = 1;
    int lfd = listen_socket();

    struct io_uring ring;
    struct io_uring_params p = {.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER};
    if (io_uring_queue_init_params(4096, &ring, &p) < 0) die("io_uring_queue_init_params");
    struct conn **conns = calloc(MAX_CONN, sizeof *conns);

    struct io_uring_sqe *sqe = sqe_of(&ring);
    io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, TAG_ACCEPT << 56);
    for (;;) {
        io_uring_submit_and_wait(&ring, 1);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            uint64_t tag = cqe->user_data >> 56;
            int slot = (int)(cqe->user_data & 0xFFFFFFFF);
            if (tag == TAG_ACCEPT) {
                if (cqe->res >= 0) {
                    int s = 0;
                    while (s < MAX_CONN && conns[s]) s++;
                    if (s == MAX_CONN) { close(cqe->res); }
                    else {
                        setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        conns[s] = calloc(1, sizeof **conns);
                        conns[s]->fd = cqe->res;
                        arm_recv(&ring, conns[s], s);
                    }
                }
                sqe = sqe_of(&ring);
                io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
                io_uring_sqe_set_data64(sqe, TAG_ACCEPT << 56);
            } else if (tag == TAG_RECV) {
                struct conn *c = conns[slot];
                if (cqe->res <= 0) {
                    close(c->fd);
                    free(c->out);
                    free(c);
                    conns[slot] = NULL;
                    continue;
                }
                c->in_len += (size_t)cqe->res;
                answer(c);
                if (c->out_len > c->out_sent && !c->sending) arm_send(&ring, c, slot);
                arm_recv(&ring, c, slot);
            } else if (tag == TAG_SEND) {
                struct conn *c = conns[slot];
                if (!c) continue;
                c->sending = 0;
                if (cqe->res < 0) continue;  // the receive sees the close
                c->out_sent += (size_t)cqe->res;
                if (c->out_sent == c->out_len) c->out_sent = c->out_len = 0;
                else arm_send(&ring, c, slot);
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [THREADS] [RECORD_BYTES]\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 3) record_bytes = atoi(argv[3]);
    if (argc > 4) use_epoll = strcmp(argv[4], "epoll") == 0;
    build_replies();
    pthread_t t[256];
    if (threads < 1 || threads > 256) { fprintf(stderr, "threads must be 1..256\n"); return 2; }
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, use_epoll ? serve_epoll : serve, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return 0;
}
