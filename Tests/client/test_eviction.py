"""A cache workload on a small device with eviction (issue 16): records with random TTLs, written
to about twice the device's size over a minute or two. No write fails with
OUT_OF_SPACE (8); usage stays near the threshold; each round, the records written before the
mark's last raise are gone at or below it and kept above it (soonest void times first); records
without a TTL all survive; after kill -9 and a cold start no evicted record comes back."""
import random
import time

import aerospike
import pytest

from conftest import info, pairs, wait_flushed, wait_until
from test_parameters import Run

CITRUSLEAF_EPOCH = 1262304000


def void_time(ttl, written_at):
    return int(written_at) - CITRUSLEAF_EPOCH + ttl


def missing(client, keys):
    gone = set()
    for k in keys:
        try:
            client.get(("test", "c", k))
        except aerospike.exception.RecordNotFound:
            gone.add(k)
    return gone


def test_cache_workload_evicts_soonest_and_nothing_evicted_returns(tmp_path):
    tmp = str(tmp_path)
    # Defragmented blocks are at least 60 % live, so 40 % live bytes fit in two thirds of the
    # device: a third stays free for writes between nsup cycles.
    run = Run(tmp, namespace="nsup-period 1\n    evict-tenths-pct 300",
              device="write-block-size 128K\n        evict-used-pct 40\n        defrag-lwm-pct 60\n"
                     "        post-write-cache 0")
    try:
        run.start()
        client = run.client()
        rng = random.Random(16)
        payload = b"x" * 9000  # about 9 KiB a record: 128 MiB holds about 14 000
        void_times = {}
        written_at = {}
        failures = []
        written = 0
        # Written first, so they live through every evicting cycle and the cold start below.
        forever = [f"n{i}" for i in range(200)]
        for key in forever:
            client.put(("test", "c", key), {"p": b"y" * 100}, meta={"ttl": -1})
        # Soonest first, checked as the workload runs: once the mark has risen to M, every record
        # written before that raise with a void time at or below M is gone, and nothing above M
        # is. (A record written after a raise may have a sooner void time than the mark: it is
        # not evicted until the next raise.) Sampled each round; the whole set is checked below.
        previous_sample = 0.0
        cover_mark, covered_before = 0, 0.0
        usage_after_first_eviction = []
        violations = []
        checked = 0
        for round_ in range(30):  # 30 x 1000 records of 9 KiB: about twice the device, 1-2 minutes
            for i in range(1000):
                key = f"r{written}"
                ttl = rng.randint(3600, 36000)
                try:
                    written_at[key] = time.time()
                    client.put(("test", "c", key), {"p": payload}, meta={"ttl": ttl})
                    void_times[key] = void_time(ttl, time.time())
                except aerospike.exception.AerospikeError as e:
                    failures.append(e.code)
                written += 1
            time.sleep(1.5)  # 9 MiB a round, about one nsup cycle
            ns = run.namespace()
            sampled_at = time.time()
            mark = int(ns["evict_void_time"])
            if mark > cover_mark:
                # Raised since the previous sample: it covers what was written before that.
                cover_mark, covered_before = mark, previous_sample
            previous_sample = sampled_at
            if mark > 0:
                usage_after_first_eviction.append(int(ns["device_used_bytes"]) / int(ns["device_total_bytes"]))
            candidates = [k for k in void_times if written_at[k] < covered_before]
            for k in rng.sample(candidates, min(300, len(candidates))):
                _, meta = client.exists(("test", "c", k))
                checked += 1
                if meta is not None and void_times[k] <= cover_mark - 1:
                    violations.append(f"round {round_}: {k} (void time {void_times[k]}) survived mark {cover_mark}")
                if meta is None and void_times[k] > int(run.namespace()["evict_void_time"]) + 1:
                    violations.append(f"round {round_}: {k} (void time {void_times[k]}) evicted above the mark")
            print(round_, {k: ns[k] for k in ("objects", "evicted_objects", "device_used_bytes", "device_available_pct",
                                              "free_wblocks", "defrag_q", "evict_void_time", "nsup_cycle_duration")},
                  len(failures))
        assert not violations, violations[:5]
        assert checked > 3000, f"only {checked} records checked against the mark"
        # Usage stays near the threshold (40 %) once eviction has begun: a round writes about 7 %
        # of the device between cycles, and a cycle evicts to just under the threshold.
        print(f"usage after the first eviction: min {min(usage_after_first_eviction):.2f}, "
              f"max {max(usage_after_first_eviction):.2f} over {len(usage_after_first_eviction)} rounds")
        assert len(usage_after_first_eviction) >= 20, usage_after_first_eviction
        assert 0.25 <= min(usage_after_first_eviction) and max(usage_after_first_eviction) <= 0.60, usage_after_first_eviction
        ns = run.namespace()
        assert 8 not in failures, f"{failures.count(8)} writes failed with OUT_OF_SPACE; {ns}"
        assert not failures, failures[:5]
        evicted_objects = int(ns["evicted_objects"])
        mark = int(ns["evict_void_time"])
        assert evicted_objects > 0 and mark > 0, ns
        used = int(ns["device_used_bytes"]) / int(ns["device_total_bytes"])
        print(f"evicted {evicted_objects}, used {used:.2f}, evict_ttl {ns['evict_ttl']}, "
              f"cycle {ns['nsup_cycle_duration']} ms, deleted {ns['nsup_cycle_deleted_pct']} %")
        assert used < 0.75, ns

        gone = missing(client, void_times)
        assert gone, "nothing was evicted"
        # Cycles go on while usage is above the threshold: the mark read after the reads bounds
        # every eviction before them (it only grows).
        mark = int(run.namespace()["evict_void_time"])
        # Every evicted record was at or below the evict void time (1 s of clock rounding).
        late = [k for k in gone if void_times[k] > mark + 1]
        assert not late, f"{len(late)} evicted records above the evict void time {mark}: {late[:5]}"
        assert not missing(client, forever), "a record without a TTL was evicted"
        client.close()

        # kill -9, then a cold start: nothing evicted comes back.
        wait_flushed(run.port)  # every acknowledged write is on the device
        run.process.kill()
        run.process.wait()
        run.start()
        client = run.client()
        gone_after = missing(client, void_times)
        ns_after = run.namespace()  # after the reads: the mark bounds every eviction before them
        assert gone <= gone_after, f"{len(gone - gone_after)} evicted records came back after kill -9"
        # Whatever else is gone was evicted by the cold start: at or below the new mark.
        mark_after = int(ns_after["evict_void_time"])
        extra = [k for k in gone_after - gone if void_times[k] > mark_after + 1]
        assert not extra, f"{len(extra)} records lost after kill -9 outside the eviction: {extra[:5]}"
        assert not missing(client, forever)
        client.close()
        print(f"after kill -9: {len(gone_after - gone)} more evicted by the cold start; "
              f"{info(run.port, 'namespace/test')[:0]}")
        run.stop()
    finally:
        run.cleanup()


def test_ttl_and_object_size_histograms(tmp_path):
    run = Run(str(tmp_path))
    try:
        run.start()
        client = run.client()
        for i in range(100):
            client.put(("test", "h", f"k{i}"), {"p": b"x" * (100 * i)}, meta={"ttl": 1000 * (i + 1)})
        client.put(("test", "h", "forever"), {"p": 1}, meta={"ttl": -1})
        client.put(("test", "other", "o"), {"p": b"x" * 20000}, meta={"ttl": 500000})
        client.close()
        ttl = pairs(info(run.port, "histogram:namespace=test;type=ttl;set=h"), ":")
        assert ttl["units"] == "seconds"
        buckets = [int(b) for b in ttl["buckets"].split(",")]
        assert len(buckets) == 100 and sum(buckets) == 100, ttl  # the record without a TTL is not counted
        width = int(ttl["bucket-width"])
        assert int(ttl["hist-width"]) == 100 * width and 99_000 < 100 * width <= 101_000, ttl
        log_size = pairs(info(run.port, "histogram:namespace=test;type=object-size"), ":")
        assert log_size["units"] == "bytes" and log_size.keys() >= {"[16-32)", "[16K-32K)"}, log_size
        assert sum(int(v) for k, v in log_size.items() if k != "units") == 102
        assert int(log_size["[16K-32K)"]) >= 1  # the 20 KB record
        size = pairs(info(run.port, "histogram:namespace=test;type=object-size-linear"), ":")
        assert size["units"] == "bytes"
        counts = [int(b) for b in size["buckets"].split(",")]
        assert sum(counts) == 102 and max(i for i, c in enumerate(counts) if c) >= 90, size  # the 20 KB record
        assert int(size["bucket-width"]) % 16 == 0
        assert info(run.port, "histogram:namespace=nope;type=ttl").startswith("ERROR")
        assert info(run.port, "histogram:namespace=test;type=bogus").startswith("ERROR")
        run.stop()
    finally:
        run.cleanup()


def test_set_config_changes_eviction_parameters(tmp_path):
    run = Run(str(tmp_path))
    try:
        run.start()
        assert info(run.port, "set-config:context=namespace;id=test;evict-tenths-pct=20") == "ok"
        assert info(run.port, "set-config:context=namespace;id=test;storage-engine.evict-used-pct=30") == "ok"
        assert info(run.port, "set-config:context=namespace;id=test;evict-sys-memory-pct=95") == "ok"
        assert info(run.port, "set-config:context=namespace;id=test;evict-indexes-memory-pct=90") == "ok"
        config = pairs(info(run.port, "get-config:context=namespace;id=test"))
        assert config["evict-tenths-pct"] == "20" and config["storage-engine.evict-used-pct"] == "30", config
        assert config["evict-sys-memory-pct"] == "95" and config["evict-indexes-memory-pct"] == "90", config
        assert info(run.port, "set-config:context=namespace;id=test;evict-used-pct=101").startswith("ERROR")
        assert info(run.port, "set-config:context=namespace;id=test;evict-tenths-pct=1001").startswith("ERROR")
        assert info(run.port, "set-config:context=namespace;id=test;evict-hist-buckets=500") == "ok"
        assert pairs(info(run.port, "get-config:context=namespace;id=test"))["evict-hist-buckets"] == "500"
        assert info(run.port, "set-config:context=namespace;id=test;evict-hist-buckets=99").startswith("ERROR")
        assert "nsup" in info(run.port, "set-config:context=namespace;id=test;nsup-period=0")
        # In force at once: the next nsup cycle (nsup-period 120 here: runs on demand only) sees 1 %.
        c = run.client()
        for i in range(300):
            c.put(("test", "s", f"k{i}"), {"p": b"x" * 5000}, meta={"ttl": 1000 + i})
        c.close()
        assert info(run.port, "set-config:context=namespace;id=test;nsup-period=1") == "ok"
        assert info(run.port, "set-config:context=namespace;id=test;evict-used-pct=1") == "ok"
        wait_until(lambda: int(run.namespace()["evicted_objects"]) > 0, seconds=20)
        assert int(run.namespace()["evicted_objects"]) > 0, run.namespace()
        run.stop()
    finally:
        run.cleanup()


def test_kill_during_cache_workload_loses_nothing_outside_eviction(tmp_path):
    """commit-to-device: after kill -9 in the middle of the writes, every acknowledged record is
    back unless it was evicted (its void time at or below the evict void time), and nothing
    evicted before the kill returns."""
    import threading
    tmp = str(tmp_path)
    run = Run(tmp, namespace="nsup-period 1\n    evict-tenths-pct 300",
              device="write-block-size 128K\n        evict-used-pct 40\n        defrag-lwm-pct 60\n"
                     "        post-write-cache 0\n        commit-to-device true")
    try:
        run.start()
        client = run.client()
        rng = random.Random(7)
        payload = b"z" * 9000
        void_times = {}
        written = [0]
        full = []

        def write(count, pause):
            for n in range(count):
                key = f"r{written[0]}"
                ttl = rng.randint(3600, 36000)
                try:
                    client.put(("test", "c", key), {"p": payload}, meta={"ttl": ttl})
                    void_times[key] = void_time(ttl, time.time())
                except aerospike.exception.AerospikeError as e:
                    if e.code == 8:
                        full.append(key)
                        continue
                    # The connection dies with the server: the write was not acknowledged.
                    return
                written[0] += 1
                if n % 1000 == 999:
                    time.sleep(pause)

        write(16000, 1.5)  # past the threshold: cycles are evicting
        gone_before = missing(client, void_times)
        assert gone_before, "nothing evicted before the kill"
        writer = threading.Thread(target=write, args=(100000, 1.5))
        writer.start()
        time.sleep(4)
        run.process.kill()
        run.process.wait()
        writer.join()
        assert not full, f"{len(full)} writes failed with OUT_OF_SPACE"
        client.close()
        run.start()
        client = run.client()
        gone_after = missing(client, void_times)
        mark = int(run.namespace()["evict_void_time"])
        assert gone_before <= gone_after, f"{len(gone_before - gone_after)} evicted records came back"
        lost = [k for k in gone_after if void_times[k] > mark + 1]
        assert not lost, f"{len(lost)} acknowledged records lost outside the eviction: {lost[:5]}"
        print(f"written {written[0]}, evicted before the kill {len(gone_before)}, missing after {len(gone_after)}")
        client.close()
        run.stop()
    finally:
        run.cleanup()
