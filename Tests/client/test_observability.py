"""Observability and runtime control: `latencies:` / `latency:` in Aerospike's format (parsed
with the rules asadm applies), `set-config` and its effects, the log commands, and the metrics
endpoint."""
import json
import os
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request

import aerospike
import pytest

from conftest import (ROOT, UNPRIVILEGED, Daemon, connect, device_storage, free_port, info, pairs, put_records, serve,
                      serving, shared_daemon_directory, wait_flushed, wait_until)

# asadm's reading of a `latencies:` answer (lib/live_cluster/client/node.py, info_latencies):
# entries split on ';', each `<name>:<data>`; data split on ','; entries of two fields or fewer are
# empty histograms and skipped; `{ns}-<hist>` names a namespace histogram; the first field is the
# time unit (msec or usec), the rest are floats: ops/sec, then the percentages over 1, 2, 4 … ms.
NS_HIST = re.compile(r"{([A-Za-z_\d-]+)}-([A-Za-z_-]+)")
ASADM_COLUMNS = [">1", ">2", ">4", ">8", ">16", ">32", ">64", ">128", ">256", ">512", ">1024", ">2048",
                 ">4096", ">8192", ">16384", ">32768", ">65536"]


def parse_latencies(text):
    """{(namespace or None, histogram): {"unit": ..., "ops": float, "over": [float x 17]}}, as
    asadm would read it (asserting every step asadm takes would succeed)."""
    result = {}
    for entry in text.split(";"):
        if not entry:
            continue
        name, data = entry.split(":")  # asadm: exactly one ':' per entry
        fields = data.split(",")
        if len(fields) <= 2:
            continue
        m = re.search(NS_HIST, name)
        ns, hist = (m.group(1), m.group(2)) if m else (None, name)
        unit = fields.pop(0)
        assert unit in ("msec", "usec")
        values = [float(v) for v in fields]
        assert len(values) == 1 + len(ASADM_COLUMNS), entry
        result[(ns, hist)] = {"unit": unit, "ops": values[0], "over": values[1:]}
    return result


def write_then_read(c, set_name, count):
    for i in range(count):
        c.put(("test", set_name, i), {"v": i})
    for i in range(count):
        c.get(("test", set_name, i))


def put_one(daemon, set_name):
    c = connect(daemon)
    try:
        c.put(("test", set_name, 1), {"v": 1})
    finally:
        c.close()


def test_latencies_format_and_counts(daemon):
    c = connect(daemon)
    try:
        write_then_read(c, "lat", 300)
        for _ in range(20):
            c.batch_read([("test", "lat", i) for i in range(10)])
        c.scan("test", "lat").results()
    finally:
        c.close()
    text = info(daemon.port, "latencies:")
    parsed = parse_latencies(text)
    names = [entry.split(":")[0] for entry in text.split(";")]
    assert names[0] == "batch-index"
    assert {"{test}-read", "{test}-write", "{test}-udf", "{test}-query"} <= set(names)
    for key in [("test", "read"), ("test", "write"), (None, "batch-index"), ("test", "query")]:
        assert key in parsed, text
        assert parsed[key]["unit"] == "msec"
        assert parsed[key]["ops"] > 0, text
        over = parsed[key]["over"]
        assert all(0 <= p <= 100 for p in over)
        assert over == sorted(over, reverse=True), "a percentage over a longer time is never larger"
    # No UDF ran on this daemon: the histogram is there, empty, as Aerospike shows one with no data.
    assert "{test}-udf:" in text.split(";")
    # Two decimals for percentages, one for ops/sec, as the server prints them.
    read = [e for e in text.split(";") if e.startswith("{test}-read:")][0]
    assert re.fullmatch(r"\{test\}-read:msec,\d+\.\d(,\d+\.\d\d){17}", read), read


def test_latencies_single_histogram_and_unknown(daemon):
    put_one(daemon, "lat1")
    one = info(daemon.port, "latencies:hist={test}-write")
    assert one.startswith("{test}-write:msec,")
    assert ";" not in one
    assert info(daemon.port, "latencies:hist={nope}-read").startswith("error")


def test_legacy_latency(daemon):
    text = info(daemon.port, "latency:hist={test}-write")
    header, row = text.strip(";").split(";")
    assert re.fullmatch(r"\{test\}-write:\d\d:\d\d:\d\d-GMT,ops/sec,>1ms,>8ms,>64ms", header), text
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d+\.\d,\d+\.\d\d,\d+\.\d\d,\d+\.\d\d", row), text


# --- set-config ---------------------------------------------------------------------------------

def set_config(port, parameter, value, namespace="test", form="id"):
    return info(port, f"set-config:context=namespace;{form}={namespace};{parameter}={value}")


def ns_config(port, form="id"):
    return pairs(info(port, f"get-config:context=namespace;{form}=test"))


def test_set_config_default_ttl_takes_effect(daemon):
    assert set_config(daemon.port, "default-ttl", "1000") == "ok"
    try:
        assert ns_config(daemon.port)["default-ttl"] == "1000"
        assert ns_config(daemon.port, form="namespace")["default-ttl"] == "1000"
        assert pairs(info(daemon.port, "namespace/test"))["default-ttl"] == "1000"
        c = connect(daemon)
        try:
            c.put(("test", "ttl", 1), {"v": 1})
            _, meta, _ = c.get(("test", "ttl", 1))
            assert 990 <= meta["ttl"] <= 1000
        finally:
            c.close()
        assert set_config(daemon.port, "default-ttl", "1d", form="namespace") == "ok"
        assert ns_config(daemon.port)["default-ttl"] == "86400"
    finally:
        assert set_config(daemon.port, "default-ttl", "0") == "ok"


def test_set_config_stop_writes_avail_pct_takes_effect(daemon):
    c = connect(daemon)
    try:
        # 12 MiB in a 256 MiB file: less than 99 % of the blocks stay available.
        for i in range(120):
            c.put(("test", "fill", i), {"b": b"x" * 100_000})
        assert set_config(daemon.port, "stop-writes-avail-pct", "99") == "ok"
        assert ns_config(daemon.port)["storage-engine.stop-writes-avail-pct"] == "99"
        with pytest.raises(aerospike.exception.AerospikeError) as refused:
            c.put(("test", "fill", "one-more"), {"v": 1})
        assert refused.value.code == 8  # OUT_OF_SPACE
        assert pairs(info(daemon.port, "namespace/test"))["stop_writes"] == "true"
        assert set_config(daemon.port, "storage-engine.stop-writes-avail-pct", "5") == "ok"
        c.put(("test", "fill", "one-more"), {"v": 1})
    finally:
        set_config(daemon.port, "stop-writes-avail-pct", "5")
        c.close()


def test_set_config_nsup_period_takes_effect(daemon):
    before = int(pairs(info(daemon.port, "namespace/test"))["expired_objects"])
    c = connect(daemon)
    try:
        for i in range(20):
            c.put(("test", "short", i), {"v": i}, meta={"ttl": 1})
        # The supervisor drops an expired record once its block is written out: fill two blocks.
        for i in range(3):
            c.put(("test", "short-fill", i), {"b": b"x" * 900_000})
    finally:
        c.close()
    assert set_config(daemon.port, "nsup-period", "1") == "ok"
    try:
        assert ns_config(daemon.port)["nsup-period"] == "1"
        wait_until(lambda: int(pairs(info(daemon.port, "namespace/test"))["expired_objects"]) >= before + 20, seconds=15)
        assert int(pairs(info(daemon.port, "namespace/test"))["expired_objects"]) >= before + 20
    finally:
        assert set_config(daemon.port, "nsup-period", "120") == "ok"


def test_set_config_other_dynamic_parameters(daemon):
    for parameter, value, shown in [("defrag-lwm-pct", "40", "storage-engine.defrag-lwm-pct"),
                                    ("storage-engine.flush-max-ms", "250", "storage-engine.flush-max-ms"),
                                    ("post-write-cache", "0", "storage-engine.post-write-cache")]:
        old = ns_config(daemon.port)[shown]
        assert set_config(daemon.port, parameter, value) == "ok"
        assert ns_config(daemon.port)[shown] == value
        assert set_config(daemon.port, parameter, old) == "ok"


@pytest.mark.parametrize("command", [
    "set-config:context=namespace;id=test;defrag-lwm-pct=0",
    "set-config:context=namespace;id=test;defrag-lwm-pct=abc",
    "set-config:context=namespace;id=test;flush-max-ms=20000",
    "set-config:context=namespace;id=test;post-write-cache=1G",  # configured 0: the pool has no room
    "set-config:context=namespace;id=test;replication-factor=2",
    "set-config:context=namespace;id=test;no-such-thing=1",
    "set-config:context=namespace;id=nope;default-ttl=10",
    "set-config:context=namespace;id=test",
    "set-config:context=service;proto-fd-max=100",
    "set-config:id=test;default-ttl=10",
])
def test_set_config_errors(daemon, command):
    before = ns_config(daemon.port)
    assert info(daemon.port, command).startswith("ERROR::")
    assert ns_config(daemon.port) == before


# --- logs ---------------------------------------------------------------------------------------

def test_log_commands(daemon):
    assert info(daemon.port, "logs") == "0:stderr"
    assert info(daemon.port, "log/0") == "any:INFO"
    assert info(daemon.port, "log/7").startswith("ERROR::")
    assert info(daemon.port, "log-set:id=0;any=debug") == "ok"
    try:
        assert info(daemon.port, "log/0") == "any:DEBUG"
        # A message too short for its header: answered with an error and logged at debug.
        with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
            s.sendall(struct.pack(">Q", (2 << 56) | (3 << 48) | 5) + b"\0" * 5)
            s.recv(64)
        wait_until(lambda: "malformed message" in daemon.log_text())
        assert "malformed message" in daemon.log_text()
    finally:
        assert info(daemon.port, "log-set:id=0;any=info") == "ok"
    assert info(daemon.port, "log/0") == "any:INFO"
    assert info(daemon.port, "log-set:id=0;misc=debug").startswith("ERROR::")
    assert info(daemon.port, "log-set:id=0;any=loud").startswith("ERROR::")
    assert info(daemon.port, "log-set:id=3;any=info").startswith("ERROR::")
    assert info(daemon.port, "log-rotate") == "ok"


# --- metrics endpoint ---------------------------------------------------------------------------

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """The Prometheus text format (0.0.4), parsed strictly: every line is a comment, a HELP or
    TYPE line, or a sample `name{labels} value`. Returns ({name: type}, [(name, labels, value)])."""
    assert text.endswith("\n")
    types, samples = {}, []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            assert METRIC_NAME.fullmatch(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert METRIC_NAME.fullmatch(name)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped")
            assert name not in types, f"two TYPE lines for {name}"
            types[name] = kind
            continue
        assert not line.startswith("#") or line.startswith("# "), line
        if line.startswith("#"):
            continue
        m = SAMPLE.fullmatch(line)
        assert m, f"not a sample line: {line!r}"
        name, label_text, value = m.group(1), m.group(2) or "", m.group(3)
        labels = dict(LABEL.findall(label_text))
        rebuilt = ",".join(f'{k}="{v}"' for k, v in LABEL.findall(label_text))
        assert rebuilt == label_text.rstrip(","), f"bad labels in {line!r}"
        samples.append((name, labels, float(value)))
    for name, _, _ in samples:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or base in types, f"{name} has no TYPE"
    return types, samples


def value(samples, name, **labels):
    found = [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_exposition(response.read().decode())


class MetricsDaemon(Daemon):
    """A daemon with a `metrics` stanza."""

    def __init__(self, directory, port, run_as=None):
        self.metrics_port = free_port()
        super().__init__(directory, port, run_as=run_as)

    def write_config(self):
        super().write_config()
        with open(self.config, "a") as f:
            f.write(f"metrics {{\n    address 127.0.0.1\n    port {self.metrics_port}\n}}\n")


@pytest.fixture(scope="module")
def metrics_daemon(tmp_path_factory):
    yield from serve(MetricsDaemon(shared_daemon_directory(tmp_path_factory, "cairnd-metrics"), free_port(),
                                   run_as=UNPRIVILEGED))


def test_metrics_scraped_under_load(metrics_daemon):
    d = metrics_daemon
    stop = threading.Event()
    errors = []

    def load():
        c = connect(d)
        try:
            i = 0
            while not stop.is_set():
                c.put(("test", "m", i % 500), {"v": i})
                c.get(("test", "m", i % 500))
                i += 1
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            c.close()

    workers = [threading.Thread(target=load) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        scrapes = []
        for _ in range(3):
            scrapes.append(scrape(d.metrics_port))
            time.sleep(0.7)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert not errors, errors
    types, first = scrapes[0]
    _, last = scrapes[-1]
    assert types["cairn_transactions_total"] == "counter"
    assert types["cairn_latency_seconds"] == "histogram"
    assert value(last, "cairn_transactions_total") > value(first, "cairn_transactions_total") > 0
    for kind in ("read", "write"):
        before = value(first, "cairn_latency_seconds_count", namespace="test", type=kind)
        after = value(last, "cairn_latency_seconds_count", namespace="test", type=kind)
        assert after > before > 0
        buckets = [(l["le"], v) for n, l, v in last
                   if n == "cairn_latency_seconds_bucket" and l["namespace"] == "test" and l["type"] == kind]
        assert buckets[-1][0] == "+Inf" and buckets[-1][1] == after
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "cumulative buckets never decrease"
        bounds = [float(le) for le, _ in buckets[:-1]]
        assert bounds == sorted(bounds) and bounds[0] == 0.001
        assert value(last, "cairn_latency_seconds_sum", namespace="test", type=kind) > 0
    assert value(last, "cairn_client_transactions_total", namespace="test", type="read", result="success") > \
        value(first, "cairn_client_transactions_total", namespace="test", type="read", result="success") > 0
    assert value(last, "cairn_client_transactions_total", namespace="test", type="write", result="error") == 0
    assert value(last, "cairn_device_total_bytes", namespace="test") == 256 << 20
    # Per device (the fixture's one file): its live bytes are the namespace's.
    devices = [labels["device"] for n, labels, _ in last if n == "cairn_device_live_bytes"]
    assert len(devices) == 1 and devices[0].endswith("/test.dat"), devices
    assert value(last, "cairn_device_live_bytes", namespace="test", device=devices[0]) == \
        value(last, "cairn_device_used_bytes", namespace="test")
    assert value(last, "cairn_device_write_queue_blocks", namespace="test", device=devices[0]) >= 0
    assert value(last, "cairn_device_unflushed_bytes", namespace="test", device=devices[0]) >= 0
    assert value(last, "cairn_device_read_errors_total", namespace="test", device=devices[0]) == 0
    # The device's other figures are the namespace's (one device, one reading per scrape).
    for per_device, total in (("cairn_device_free_blocks", "cairn_free_blocks"),
                              ("cairn_device_defrag_queue_blocks", "cairn_defrag_queue"),
                              ("cairn_device_full_writes_total", "cairn_device_block_writes_total"),
                              ("cairn_device_partial_flushes_total", "cairn_device_partial_writes_total"),
                              ("cairn_device_defragged_blocks_total", "cairn_defrag_blocks_total")):
        assert value(last, per_device, namespace="test", device=devices[0]) == value(last, total, namespace="test"), per_device
    assert value(last, "cairn_objects", namespace="test") >= 1
    assert value(last, "cairn_index_entries", namespace="test") >= value(last, "cairn_objects", namespace="test")
    assert 0 <= value(last, "cairn_cache_hit_ratio", namespace="test") <= 1
    assert 0 <= value(last, "cairn_device_available_pct", namespace="test") <= 100
    for name in ("cairn_defrag_queue", "cairn_defrag_blocks_total", "cairn_device_bytes_written_total",
                 "cairn_device_block_writes_total", "cairn_device_partial_writes_total",
                 "cairn_commit_waits_served_total", "cairn_updates_without_read_total", "cairn_cold_start_records",
                 "cairn_client_connections"):
        assert any(n == name for n, _, _ in last), name
    # The latencies: histograms count the same transactions.
    lat = parse_latencies(info(d.port, "latencies:"))
    assert lat[("test", "write")]["ops"] > 0


def test_metrics_other_paths(metrics_daemon):
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_daemon.metrics_port}/", timeout=10)
    assert missing.value.code == 404


def test_dashboard_uses_only_served_metrics(metrics_daemon):
    """hack/dist/grafana-dashboard.json queries only metrics the endpoint serves."""
    with open(os.path.join(ROOT, "hack", "dist", "grafana-dashboard.json")) as f:
        dashboard = json.load(f)
    types, _ = scrape(metrics_daemon.metrics_port)
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= {re.sub(r"_(bucket|sum|count)$", "", n) for n in re.findall(r"cairn_[a-z_]+", target["expr"])}
    assert used and used <= set(types), sorted(used - set(types))


# --- namespace statistics and partition-info ----------------------------------------------------

def test_namespace_client_statistics(daemon):
    before = pairs(info(daemon.port, "namespace/test"))
    c = connect(daemon)
    try:
        write_then_read(c, "cs", 10)
        for i in range(3):
            with pytest.raises(aerospike.exception.RecordNotFound):
                c.get(("test", "cs", 100 + i))
        with pytest.raises(aerospike.exception.RecordExistsError):
            c.put(("test", "cs", 0), {"v": 0}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})
        c.remove(("test", "cs", 1))
        with pytest.raises(aerospike.exception.RecordNotFound):
            c.remove(("test", "cs", 1))
    finally:
        c.close()
    after = pairs(info(daemon.port, "namespace/test"))

    def moved(name):
        return int(after[name]) - int(before[name])

    assert moved("client_read_success") == 10
    assert moved("client_read_not_found") == 3
    assert moved("client_read_error") == 0
    assert moved("client_write_success") == 10
    assert moved("client_write_error") == 1
    assert moved("client_delete_success") == 1
    assert moved("client_delete_not_found") == 1
    for name in ("dead_partitions", "unavailable_partitions", "migrate_tx_partitions_remaining"):
        assert after[name] == "0"
    assert 0 <= int(after["cache_read_pct"]) <= 100
    assert 0 <= int(after["device_free_pct"]) <= 100


def test_flusher_write_statistics(tmp_path):
    """device_partial_writes, device_block_writes and commit_waits_served: with commit-to-device
    every acknowledged write was made durable by a partial flush (a group commit), so the
    partial flushes grow by at least one and at most the writes. The waits served grow by at
    least one and at most the writes: a write whose bytes an earlier group commit already made
    durable when it asked is acknowledged at once, without a wait."""
    d = Daemon(str(tmp_path), free_port(), commit_to_device=True)
    with serving(d):
        before = pairs(info(d.port, "namespace/test"))
        put_records(d, "flushes", 20, "x" * 3000)
        after = pairs(info(d.port, "namespace/test"))
        moved = {n: int(after[n]) - int(before[n])
                 for n in ("device_partial_writes", "device_block_writes", "commit_waits_served", "device_syncs")}
        assert 1 <= moved["commit_waits_served"] <= 20, moved
        assert moved["device_syncs"] == 0, moved  # every write was durable when it completed
        assert 1 <= moved["device_partial_writes"] <= 20, moved
        assert moved["device_block_writes"] == 0, moved


def test_per_device_statistics(tmp_path):
    """storage-engine.file[i].*: each device's figures under Aerospike's names, one set per
    file in configuration order, adding up to the namespace's own figures (one reading serves
    both, so even the counters a flusher is still moving agree)."""
    files = [f"{tmp_path}/a.dat", f"{tmp_path}/b.dat"]
    storage = device_storage("\n        ".join(f"file {f}" for f in files) + "\n        filesize 128M", False)
    d = Daemon(str(tmp_path), free_port(), storage=storage)
    with serving(d):
        put_records(d, "per-device", 400, "x" * 2000)
        stats = pairs(info(d.port, "namespace/test"))
        names = ("used_bytes", "free_wblocks", "write_q", "writes", "partial_writes", "defrag_q", "defrag_reads",
                 "read_errors")
        per_device = [{n: int(stats[f"storage-engine.file[{i}].{n}"]) for n in names} for i in range(len(files))]
        assert "storage-engine.file[2].used_bytes" not in stats
        assert not any(k.startswith("storage-engine.device[") for k in stats), "files are not block devices"
        assert all(dev["used_bytes"] > 0 for dev in per_device), per_device  # the digests spread over both
        assert sum(dev["used_bytes"] for dev in per_device) == int(stats["device_used_bytes"])
        assert sum(dev["free_wblocks"] for dev in per_device) == int(stats["free_wblocks"])
        assert sum(dev["defrag_q"] for dev in per_device) == int(stats["defrag_q"])
        assert sum(dev["defrag_reads"] for dev in per_device) == int(stats["defrag_reads"])
        assert all(dev["write_q"] >= 0 for dev in per_device)
        assert all(dev["read_errors"] == 0 for dev in per_device), per_device
        assert sum(dev["writes"] for dev in per_device) == int(stats["device_block_writes"])
        assert sum(dev["partial_writes"] for dev in per_device) == int(stats["device_partial_writes"])
        assert int(stats["device_unflushed_bytes"]) >= 0


def test_read_errors_per_device(tmp_path):
    """storage-engine.file[0].read_errors: a record whose copy on the file was damaged behind
    cairnd's back fails its read with a server error (logged with the file and offset), never
    with other data, and the device counts the read error; a new write replaces the copy."""
    path = f"{tmp_path}/test.dat"
    storage = device_storage(f"file {path}\n        filesize 128M", extra="post-write-cache 0")
    d = Daemon(str(tmp_path), free_port(), storage=storage)
    marker = b"read-errors-probe:" * 10_000  # 180 KB, found once in the file
    with serving(d):
        c = connect(d)
        try:
            key = ("test", "read-errors", "victim")
            c.put(key, {"b": marker})
            for f in range(4):  # fill the 1 MiB block: sealed, written whole, and out of memory
                c.put(("test", "read-errors", f"fill-{f}"), {"b": b"f" * 300_000})
            wait_flushed(d.port)
            with open(path, "r+b") as f:
                data = f.read()
                at = data.find(marker)
                assert at >= 0 and data.find(marker, at + 1) < 0, at
                f.seek(at + len(marker) // 2)
                f.write(b"\xee" * 64)
                f.flush()
                os.fsync(f.fileno())
            with pytest.raises(aerospike.exception.ServerError):
                c.get(key)
            # The reply carries only the result code; the log names the file and the offset.
            assert f"{path}: corrupt record at device 0 offset " in d.log_text(), d.log_text()[-2000:]
            stats = pairs(info(d.port, "namespace/test"))
            assert stats["storage-engine.file[0].read_errors"] == "1", stats
            c.put(key, {"b": b"new"})
            assert c.get(key)[2] == {"b": b"new"}
            assert pairs(info(d.port, "namespace/test"))["storage-engine.file[0].read_errors"] == "1"
        finally:
            c.close()


def test_device_unflushed_bytes(tmp_path):
    """device_unflushed_bytes: the bytes appended that the flushers have not yet written, what a
    kill -9 would lose without commit-to-device. An idle flusher writes a new record at once;
    the records that follow within flush-max-ms (1500 ms here) wait for the next partial flush,
    and are counted meanwhile; then nothing is unflushed."""
    storage = device_storage(f"file {tmp_path}/test.dat\n        filesize 128M", flush_max_ms=1500)
    d = Daemon(str(tmp_path), free_port(), storage=storage)
    with serving(d):
        def stats():
            return pairs(info(d.port, "namespace/test"))
        before = stats()
        assert before["device_unflushed_bytes"] == "0", before
        put_records(d, "unflushed-first", 1, "x" * 1000)
        wait_flushed(d.port)  # written at once by the idle flusher
        put_records(d, "unflushed", 3, "x" * 1000)
        waiting = int(stats()["device_unflushed_bytes"])
        # The three records (about 1 KiB each), not yet written: the next partial flush comes
        # flush-max-ms after the first.
        assert waiting > 3000, f"{waiting} bytes unflushed right after the writes"
        wait_flushed(d.port, seconds=10)
        after = stats()
        assert int(after["device_partial_writes"]) - int(before["device_partial_writes"]) == 2, (before, after)


def test_device_syncs(tmp_path):
    """device_syncs: without commit-to-device (where a completed write may still sit in the
    device's volatile cache) a flusher syncs its device within flush-max-ms (100 ms here) after
    it writes, and before it reuses a block whose records were all replaced; every record reads
    back after blocks were emptied and reused."""
    d = Daemon(str(tmp_path), free_port())
    with serving(d):
        def syncs():
            return int(pairs(info(d.port, "namespace/test"))["device_syncs"])
        c = connect(d)
        try:
            before = syncs()
            c.put(("test", "syncs", "one"), {"v": 1})
            assert wait_until(lambda: syncs() > before), "no sync after a write"
            # An idle flusher stops syncing once everything written is synced.
            time.sleep(0.5)
            idle = syncs()
            time.sleep(0.5)
            assert syncs() == idle
            keys = [("test", "reuse", i) for i in range(1500)]  # 1,500 KiB: more than one 1 MiB block
            for version in (1, 2, 3):
                for k in keys:
                    c.put(k, {"v": bytes([version]) * 1000})
            for k in keys:
                assert c.get(k)[2]["v"] == bytes([3]) * 1000
        finally:
            c.close()


def test_updates_without_read(daemon):
    """updates_without_read: an update that sets every bin its record has commits from the
    index's metadata; one that keeps a bin, or a record's stored key, reads the old copy, and
    nothing of it is lost either way."""
    c = connect(daemon)
    try:
        def moved_by(action):
            before = int(pairs(info(daemon.port, "namespace/test"))["updates_without_read"])
            action()
            return int(pairs(info(daemon.port, "namespace/test"))["updates_without_read"]) - before
        key = ("test", "blind", 1)
        c.put(key, {"v": 1})
        assert moved_by(lambda: c.put(key, {"v": 2})) == 1
        assert moved_by(lambda: c.put(key, {"w": 3})) == 0
        assert c.get(key)[2] == {"v": 2, "w": 3}
        assert moved_by(lambda: c.put(key, {"w": 5, "v": 4})) == 1
        _, meta, bins = c.get(key)
        assert bins == {"v": 4, "w": 5} and meta["gen"] == 4
        keyed = ("test", "blind", 2)
        c.put(keyed, {"v": 1}, policy={"key": aerospike.POLICY_KEY_SEND})
        assert moved_by(lambda: c.put(keyed, {"v": 2})) == 0
        assert c.get(keyed)[2] == {"v": 2}
        # A read's reply carries no key; a scan's carries the stored one.
        scanned = {bytes(k[3]): (k[2], b) for k, _, b in c.query("test", "blind").results()}
        assert scanned[bytes(aerospike.calc_digest("test", "blind", 2))] == (2, {"v": 2}), scanned
    finally:
        c.close()


def test_partition_info_as_asadm_reads_it(daemon):
    """asadm's `show pmap` (get_controller.py, _get_pmap_data): the first row is a header naming
    the columns; each row counts for this node as master when working_master is its node id."""
    put_one(daemon, "pmap")
    node_id = info(daemon.port, "node")
    rows = [r.split(":") for r in info(daemon.port, "partition-info").split(";")]
    header, rows = rows[0], rows[1:]
    for column in ("namespace", "partition", "state", "replica", "working_master"):
        assert column in header
    index = {name: header.index(name) for name in header}
    assert index["working_master"]  # asadm tests the index for truth
    assert len(rows) == 4096
    masters = 0
    for row in rows:
        assert row[index["namespace"]] == "test"
        assert int(row[index["partition"]]) in range(4096)
        assert int(row[index["replica"]]) == 0
        if row[index["working_master"]] == node_id:
            masters += 1
    assert masters == 4096
    assert sum(int(r[index["records"]]) for r in rows) == int(pairs(info(daemon.port, "namespace/test"))["index_used_entries"]) \
        - sum(int(r[index["tombstones"]]) for r in rows)


# --- set-level set-config -------------------------------------------------------------------------

def set_row(port, set_name):
    return pairs(info(port, f"sets/test/{set_name}").rstrip(";"), separator=":")


def test_set_level_set_config_takes_effect(daemon):
    port = daemon.port
    base = "set-config:context=namespace;id=test;set=dyn"
    # A set not yet written is created, as Aerospike does.
    assert info(port, f"{base};stop-writes-count=3") == "ok"
    assert set_row(port, "dyn")["stop-writes-count"] == "3"
    c = connect(daemon)
    try:
        for i in range(3):
            c.put(("test", "dyn", i), {"v": i})
        with pytest.raises(aerospike.exception.AerospikeError) as refused:
            c.put(("test", "dyn", 3), {"v": 3})
        assert refused.value.code == 22  # FORBIDDEN
        c.put(("test", "dyn", 0), {"v": 10})  # an update is not a create
        assert info(port, f"set-config:context=namespace;namespace=test;set=dyn;stop-writes-count=0") == "ok"
        c.put(("test", "dyn", 3), {"v": 3})
        assert info(port, f"{base};stop-writes-count=5") == "ok"  # counted afresh: 4 held
        c.put(("test", "dyn", 4), {"v": 4})
        with pytest.raises(aerospike.exception.AerospikeError):
            c.put(("test", "dyn", 5), {"v": 5})

        assert info(port, "set-config:context=namespace;id=test;set=dynttl;default-ttl=500") == "ok"
        assert set_row(port, "dynttl")["default-ttl"] == "500"
        c.put(("test", "dynttl", 1), {"v": 1})
        assert 490 <= c.get(("test", "dynttl", 1))[1]["ttl"] <= 500
        assert info(port, "set-config:context=namespace;id=test;set=dynttl;default-ttl=1h") == "ok"
        assert set_row(port, "dynttl")["default-ttl"] == "3600"

        assert info(port, "set-config:context=namespace;id=test;set=dynttl;disable-eviction=true") == "ok"
        assert set_row(port, "dynttl")["disable-eviction"] == "true"
        assert info(port, "set-config:context=namespace;id=test;set=dynttl;disable-eviction=false") == "ok"
        assert set_row(port, "dynttl")["disable-eviction"] == "false"
    finally:
        info(port, f"{base};stop-writes-count=0")
        c.close()


@pytest.mark.parametrize("command", [
    "set-config:context=namespace;id=test;set=dyn;stop-writes-count=-1",
    "set-config:context=namespace;id=test;set=dyn;stop-writes-count=many",
    "set-config:context=namespace;id=test;set=dyn;default-ttl=4000d",
    "set-config:context=namespace;id=test;set=dyn;disable-eviction=yes",
    "set-config:context=namespace;id=test;set=dyn;enable-index=true",
    "set-config:context=namespace;id=test;set=dyn",
    "set-config:context=namespace;id=test;set=;default-ttl=10",
    "set-config:context=namespace;id=test;set=" + "s" * 64 + ";default-ttl=10",
    "set-config:context=namespace;id=nope;set=dyn;default-ttl=10",
])
def test_set_level_set_config_errors(daemon, command):
    assert info(daemon.port, command).startswith("ERROR::")


# --- enable-benchmarks-* --------------------------------------------------------------------------

READ_PHASES = ["start", "restart", "dup-res", "repl-ping", "local", "response"]
WRITE_PHASES = ["start", "restart", "dup-res", "master", "repl-write", "response"]


def test_benchmarks_histograms_appear_when_enabled(daemon):
    port = daemon.port
    assert ns_config(port)["enable-benchmarks-read"] == "false"
    names = [entry.split(":")[0] for entry in info(port, "latencies:").split(";")]
    assert not any("-read-start" in n or "-write-master" in n for n in names)
    assert info(port, "latencies:hist={test}-benchmarks-read").startswith("error")
    try:
        assert set_config(port, "enable-benchmarks-read", "true") == "ok"
        assert set_config(port, "enable-benchmarks-write", "true", form="namespace") == "ok"
        assert ns_config(port)["enable-benchmarks-read"] == "true"
        assert ns_config(port)["enable-benchmarks-write"] == "true"
        c = connect(daemon)
        try:
            write_then_read(c, "bench", 50)
        finally:
            c.close()
        # As Aerospike: a bare latencies: lists the main histograms; asadm asks for each group.
        names = [entry.split(":")[0] for entry in info(port, "latencies:").split(";")]
        assert not any("-read-start" in n or "-write-master" in n for n in names)
        text = info(port, "latencies:hist={test}-benchmarks-read") + ";" + info(port, "latencies:hist={test}-benchmarks-write")
        names = [entry.split(":")[0] for entry in text.split(";")]
        for phase in READ_PHASES:
            assert f"{{test}}-read-{phase}" in names
        for phase in WRITE_PHASES:
            assert f"{{test}}-write-{phase}" in names
        assert info(port, "latencies:hist={test}-benchmarks-udf").startswith("error")  # not enabled
        parsed = parse_latencies(text)  # asadm's rules hold for the new entries too
        for kind, phases in (("read", ("start", "local", "response")), ("write", ("start", "master", "response"))):
            for phase in phases:  # timed something (its slice may be one closed before the puts)
                assert ("test", f"{kind}-{phase}") in parsed, (kind, phase)
            assert ("test", f"{kind}-restart") not in parsed  # never happens on one node: empty
        group = info(port, "latencies:hist={test}-benchmarks-read")
        assert [e.split(":")[0] for e in group.split(";")] == [f"{{test}}-read-{p}" for p in READ_PHASES]
        assert info(port, "latencies:hist={test}-read-local").startswith("{test}-read-local:msec,")
        # Not in the metrics: sums over `type` would count a transaction twice.
    finally:
        set_config(port, "enable-benchmarks-read", "false")
        set_config(port, "enable-benchmarks-write", "false")
    names = [entry.split(":")[0] for entry in info(port, "latencies:").split(";")]
    assert not any("-read-start" in n for n in names)


@pytest.mark.parametrize("command", [
    "set-config:context=namespace;id=test;enable-benchmarks-read=yes",
    "set-config:context=namespace;id=test;enable-benchmarks-batch-sub=true",
    "set-config:context=namespace;id=test;enable-benchmarks-ops-sub=true",
    "set-config:context=namespace;id=test;storage-engine.enable-benchmarks-storage=true",
    "set-config:context=namespace;id=test;enable-benchmarks-nothing=true",
])
def test_benchmarks_errors(daemon, command):
    assert info(daemon.port, command).startswith("ERROR::")


# --- what asadm's info, health and best-practices read -------------------------------------------

def test_asadm_fields(daemon):
    port = daemon.port
    assert info(port, "service-clear-std") == f"127.0.0.1:{port}"
    assert info(port, "service") == f"127.0.0.1:{port}"
    assert info(port, "services") == ""  # no other node
    practices = info(port, "best-practices")
    assert practices.startswith("failed_best_practices=")
    value = practices.split("=", 1)[1]
    assert value == "none" or set(value.split(",")) <= {"thp-enabled", "thp-defrag", "swappiness", "zone-reclaim-mode"}
    stats = pairs(info(port, "statistics"))
    node = info(port, "node")
    assert stats["paxos_principal"] == node and stats["migrate_partitions_remaining"] == "0"
    assert 0 <= int(stats["system_free_mem_pct"]) <= 100
    ns = pairs(info(port, "namespace/test"))
    for key in ("index-type", "index_used_bytes", "sindex-type", "data_used_pct", "rack-id", "nsid",
                "client_udf_complete", "client_proxy_error", "batch_sub_read_success", "batch_sub_write_error"):
        assert key in ns, key
    assert int(ns["index_used_bytes"]) == 64 * int(ns["index_used_entries"])
    before = int(ns["batch_sub_read_success"]), int(ns["batch_sub_read_not_found"])
    c = connect(daemon)
    try:
        c.put(("test", "bsub", 1), {"v": 1})
        c.batch_read([("test", "bsub", 1), ("test", "bsub", 2)])
    finally:
        c.close()
    ns = pairs(info(port, "namespace/test"))
    assert int(ns["batch_sub_read_success"]) == before[0] + 1
    assert int(ns["batch_sub_read_not_found"]) == before[1] + 1
    scans = int(ns["pi_query_long_basic_complete"])
    c = connect(daemon)
    try:
        c.scan("test", "bsub").results()
    finally:
        c.close()
    ns = pairs(info(port, "namespace/test"))
    assert int(ns["pi_query_long_basic_complete"]) == scans + 1
    assert ns["pi_query_aggr_complete"] == "0" and ns["pi_query_short_basic_error"] == "0"


def test_si_query_statistics_count_secondary_index_queries(daemon):
    """`si_query_*` (asadm's health reads ten of them) count secondary-index queries for real:
    one that completes in si_query_long_basic_complete, one refused at its start (no index on its
    bin) in none (as Aerospike counts only queries that started), and neither as a scan."""
    from aerospike import predicates as p
    port = daemon.port

    def counts():
        ns = pairs(info(port, "namespace/test"))
        return {k: int(ns[k]) for k in ("si_query_long_basic_complete", "si_query_long_basic_error",
                                         "pi_query_long_basic_complete", "pi_query_long_basic_error")}

    c = connect(daemon)
    try:
        for i in range(5):
            c.put(("test", "siq", i), {"n": i})
        c.index_integer_create("test", "siq", "n", "siq_n")
        before = counts()
        q = c.query("test", "siq")
        q.where(p.between("n", 1, 3))
        assert sorted(r[2]["n"] for r in q.results()) == [1, 2, 3]
        after = counts()
        assert after["si_query_long_basic_complete"] == before["si_query_long_basic_complete"] + 1
        assert after["pi_query_long_basic_complete"] == before["pi_query_long_basic_complete"]
        q = c.query("test", "siq")
        q.where(p.equals("nothing", 1))
        with pytest.raises(aerospike.exception.IndexNotFound):
            q.results()
        refused = counts()
        assert refused == after
        c.scan("test", "siq").results()
        assert counts()["pi_query_long_basic_complete"] == after["pi_query_long_basic_complete"] + 1
        assert counts()["si_query_long_basic_complete"] == after["si_query_long_basic_complete"]
    finally:
        try:
            c.index_remove("test", "siq_n")
        finally:
            c.close()


def test_cluster_and_health_answers_as_ce(daemon):
    """The heartbeat, migration and health-check answers asadm's `health` reads, as a CE 8.1
    node with its heartbeat off, no XDR and no health check answers them."""
    port = daemon.port
    network = pairs(info(port, "get-config:context=network"))
    assert {k: network[k] for k in ("heartbeat.mode", "heartbeat.protocol", "heartbeat.interval",
                                    "heartbeat.timeout")} == {
        "heartbeat.mode": "mesh", "heartbeat.protocol": "none", "heartbeat.interval": "150", "heartbeat.timeout": "10"}
    service = pairs(info(port, "get-config:context=service"))
    assert service["migrate-threads"] == "0" and service["enable-health-check"] == "false"
    stats = pairs(info(port, "statistics"))
    assert stats["heartbeat_received_foreign"] == "0" and stats["fabric_connections"] == "0"
    assert pairs(info(port, "namespace/test"))["migrate_records_transmitted"] == "0"
    for command in ("health-stats", "health-outliers", "get-stats:context=xdr", "get-config:context=xdr"):
        assert info(port, command) == "", command
    assert info(port, "get-stats") == "ERROR:4:missing 'context'"
    assert info(port, "get-stats:context=nope") == "ERROR:4:unknown context"
