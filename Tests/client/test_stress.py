"""Stress through the official client: 64 connections mix puts, gets (most of them device reads:
no post-write cache and more data than the write buffers hold), batch reads and scans for 60 s
(CAIRN_STRESS_SECONDS to change). Every request must be answered, nothing acknowledged may be
lost, and cairnd's thread count must not move: a transaction waiting for the device parks no
thread and no thread is made per request."""
import os
import random
import threading
import time

import aerospike
from aerospike import exception as ex
from aerospike_helpers.batch import records as br

from conftest import Daemon, free_port

SECONDS = float(os.environ.get("CAIRN_STRESS_SECONDS", "60"))
WORKERS = 64
KEYS_PER_WORKER = 400
VALUE_BYTES = 2000
NS, SET = "test", "stress"


def thread_names(pid):
    """The names of cairnd's own threads. The kernel's io_uring workers (`iou-wrk-*`, `iou-sqp-*`)
    are listed as threads of the process too, but the kernel starts and ends them by itself for
    writes it must punt to a worker: they are not threads that cairnd makes or parks."""
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except FileNotFoundError:
            continue
        if not name.startswith("iou-"):
            names.append(name)
    return sorted(names)


def thread_count(pid):
    return len(thread_names(pid))


def settled_thread_count(pid, quiet_seconds=6, limit_seconds=40):
    """The thread count once it has not moved for `quiet_seconds`: the Swift runtime's dispatch
    workers (`com.apple.root.*`) that ran startup work retire a few seconds after it, by
    themselves. The load must then not change the count at all."""
    last, since, deadline = thread_count(pid), time.time(), time.time() + limit_seconds
    while time.time() - since < quiet_seconds and time.time() < deadline:
        time.sleep(0.5)
        now = thread_count(pid)
        if now != last:
            last, since = now, time.time()
    return last


def test_sixty_four_connections_mixed_load(tmp_path):
    storage = f"""storage-engine device {{
        file {tmp_path}/test.dat
        filesize 512M
        write-block-size 1M
        flush-max-ms 100
        post-write-cache 0
    }}"""
    d = Daemon(str(tmp_path), free_port(), storage=storage)
    d.start()
    try:
        run(d)
    finally:
        code = d.stop()
        d.cleanup()
    assert code == 0, d.log_text()[-2000:]


def run(d):
    pid = d.process.pid
    idle_threads = settled_thread_count(pid)
    errors = []
    acknowledged = [dict() for _ in range(WORKERS)]  # worker -> key number -> last acknowledged value tag
    counts = [dict(put=0, get=0, miss=0, batch=0, scan=0) for _ in range(WORKERS)]
    stop_at = [0.0]
    # The end time is set by the barrier's action, before any party is released: set after the
    # main thread's wait returned, a worker that ran first saw 0 and did nothing.
    start_barrier = threading.Barrier(WORKERS + 1, action=lambda: stop_at.__setitem__(0, time.time() + SECONDS))

    def worker(w):
        rng = random.Random(w)
        client = aerospike.client({"hosts": [("127.0.0.1", d.port)], "policies": {"total_timeout": 20000},
                                   "max_conns_per_node": 4}).connect()
        mine = acknowledged[w]
        try:
            # Each worker owns its keys, so the last acknowledged value of each is known exactly.
            for k in range(KEYS_PER_WORKER):
                tag = f"{w}-{k}-0"
                client.put((NS, SET, f"{w}:{k}"), {"tag": tag, "pad": "x" * VALUE_BYTES})
                mine[k] = tag
            start_barrier.wait()
            n = 0
            while time.time() < stop_at[0]:
                n += 1
                choice = rng.random()
                k = rng.randrange(KEYS_PER_WORKER)
                key = (NS, SET, f"{w}:{k}")
                if choice < 0.35:
                    tag = f"{w}-{k}-{n}"
                    client.put(key, {"tag": tag, "pad": "y" * VALUE_BYTES})
                    mine[k] = tag
                    counts[w]["put"] += 1
                elif choice < 0.85:
                    _, _, bins = client.get(key)
                    assert bins["tag"] == mine[k], (key, bins["tag"], mine[k])
                    counts[w]["get"] += 1
                    try:
                        client.get((NS, SET, f"missing:{w}:{n}"))
                        raise AssertionError("a key never written was found")
                    except ex.RecordNotFound:
                        counts[w]["miss"] += 1
                elif choice < 0.97:
                    ks = rng.sample(range(KEYS_PER_WORKER), 20)
                    batch = client.batch_read([(NS, SET, f"{w}:{i}") for i in ks])
                    assert len(batch.batch_records) == 20
                    for i, r in zip(ks, batch.batch_records):
                        assert r.result == 0, (i, r.result)
                        assert r.record[2]["tag"] == mine[i]
                    counts[w]["batch"] += 1
                else:
                    scan = client.scan(NS, SET)
                    seen = []
                    scan.foreach(lambda rec: seen.append(1) or (len(seen) < 2000),
                                 {"partition_filter": None} if False else None)
                    counts[w]["scan"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported below
            errors.append(f"worker {w}: {type(e).__name__}: {e}")
            try:
                start_barrier.abort()
            except threading.BrokenBarrierError:
                pass
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    try:
        start_barrier.wait(timeout=600)
    except threading.BrokenBarrierError:
        pass
    baseline = idle_threads
    samples = [thread_count(pid)]
    while any(t.is_alive() for t in threads) and time.time() < stop_at[0] + 300:
        time.sleep(1)
        samples.append(thread_count(pid))
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a request was never answered"
    assert not errors, "\n".join(errors[:10])
    totals = {k: sum(c[k] for c in counts) for k in counts[0]}
    print(f"stress: {SECONDS:.0f} s, {WORKERS} connections, {totals}, threads {min(samples)}..{max(samples)}")
    assert totals["get"] > 0 and totals["put"] > 0 and totals["batch"] > 0 and totals["scan"] > 0, totals
    assert min(samples) == max(samples) == baseline, f"thread count moved: {samples} ({thread_names(pid)})"

    # Nothing acknowledged is lost: every key holds its last acknowledged value.
    client = aerospike.client({"hosts": [("127.0.0.1", d.port)]}).connect()
    try:
        for w in range(WORKERS):
            keys = [(NS, SET, f"{w}:{k}") for k in range(KEYS_PER_WORKER)]
            batch = client.batch_read(keys)
            for k, r in enumerate(batch.batch_records):
                assert r.result == 0 and r.record[2]["tag"] == acknowledged[w][k], (w, k)
    finally:
        client.close()
