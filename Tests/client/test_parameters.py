"""Every parameter the config parser accepts takes effect in a running cairnd, and the ones it
does not honour are refused at their line. The table below has one row per parameter documented
in docs/configuration.md (DocumentedParametersTests proves the document and the parser accept the
same names); `test_every_documented_parameter_has_a_row` fails when a name has no row.

Each row starts a real cairnd with the parameter set and checks an effect a client or operator
can see: a record's TTL, a refused write, a file on disk, a log line, an info value."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import aerospike
import pytest

from conftest import CAIRND, ROOT, client_config, free_port, info, pairs, ready, wait_flushed, wait_until

CAIRNCTL = os.path.join(os.path.dirname(CAIRND), "cairnctl")


class Run:
    """A cairnd started on a config built from the base plus one row's changes."""

    def __init__(self, directory, service="", logging=None, network=None, namespace="", storage=None,
                 device="", metrics=None, mod_lua=None):
        self.directory = directory
        self.port = free_port()
        self.log = os.path.join(directory, "out.log")
        self.config = os.path.join(directory, "cairn.conf")
        engine = storage or f"storage-engine device {{\n        file {directory}/test.dat\n        filesize 128M\n        {device}\n    }}"
        if "shm-directory" in service:
            self.shm = service.split("shm-directory", 1)[1].split()[0]
        else:
            # Made only when the row names none (one made and then replaced was never removed).
            self.shm = tempfile.mkdtemp(prefix="cairn-test-", dir="/dev/shm")
        base = "" if "pidfile" in service else f"pidfile {directory}/cairnd.pid\n    "
        base += "" if "shm-directory" in service else f"shm-directory {self.shm}\n    "
        logging = logging or "console {\n        context any info\n    }"
        network = network or f"service {{\n        address 127.0.0.1\n        port {self.port}\n    }}"
        text = f"""service {{
    {base}{service}
}}
logging {{
    {logging}
}}
network {{
    {network}
}}
namespace test {{
    {namespace}
    {engine}
}}
"""
        if mod_lua is not None:
            text += f"mod-lua {{\n    {mod_lua}\n}}\n"
        if metrics is not None:
            text += f"metrics {{\n    {metrics}\n}}\n"
            self.metrics_port = int(re.search(r"port (\d+)", metrics).group(1))
        with open(self.config, "w") as f:
            f.write(text)
        self.process = None

    def start(self, expect_failure=False):
        self.process = subprocess.Popen([CAIRND, "--config-file", self.config], stdout=open(self.log, "a"),
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                if expect_failure:
                    return self.output()
                raise RuntimeError(f"cairnd exited with {self.process.returncode}: {self.output()[-2000:]}")
            if not expect_failure and ready(self.port):
                return self.output()
            time.sleep(0.05)
        raise RuntimeError(f"cairnd neither started nor failed in 60 s: {self.output()[-2000:]}")

    def output(self):
        with open(self.log) as f:
            return f.read()

    def client(self):
        return aerospike.client(client_config(self.port)).connect()

    def namespace(self):
        return pairs(info(self.port, "namespace/test"))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
            assert self.process.returncode == 0, self.output()[-2000:]
        self.process = None

    def cleanup(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        shutil.rmtree(self.shm, ignore_errors=True)


def ttl_of(run, key_set, key="k", bins=None):
    c = run.client()
    try:
        c.put(("test", key_set, key), bins or {"v": 1})
        _, meta, _ = c.get(("test", key_set, key))
        return meta["ttl"]
    finally:
        c.close()


NEVER = (0xFFFFFFFF, -1)


# --- checks: each gets a started Run (or the failure output) ------------------------------------

def check_work_directory(run, tmp):
    # cairnctl puts cairnd's stdout/stderr in <work-directory>/cairnd.log when no file sink is set.
    run.stop()
    env = dict(os.environ, CAIRND=CAIRND)
    result = subprocess.run([CAIRNCTL, "start", "--config-file", run.config], capture_output=True, text=True,
                            timeout=120, env=env)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert os.path.getsize(os.path.join(tmp, "wd", "cairnd.log")) > 0
    finally:
        stop = subprocess.run([CAIRNCTL, "stop", "--config-file", run.config], capture_output=True, text=True,
                              timeout=120, env=env)
        assert stop.returncode == 0, stop.stdout + stop.stderr


def check_read_touch_ttl_pct(run, tmp):
    assert run.namespace()["default-read-touch-ttl-pct"] == "80"
    c = run.client()
    try:
        key = ("test", "s", "touched")
        c.put(key, {"v": 1}, meta={"ttl": 10})
        # 3 s after the write, 7 of 10 s are left: inside the 80% window, so this read touches.
        time.sleep(3)
        c.get(key)
        wait_until(lambda: c.exists(key)[1]["gen"] != 1)
        meta = c.exists(key)[1]
        assert meta["gen"] == 2 and meta["ttl"] >= 9, meta
        # A client's -1 never touches.
        c.put(key, {"v": 2}, meta={"ttl": 10})
        time.sleep(3)
        c.get(key, policy={"read_touch_ttl_percent": -1})
        time.sleep(0.3)
        assert c.exists(key)[1]["gen"] == 3
    finally:
        c.close()


def check_pidfile(run, tmp):
    with open(os.path.join(tmp, "run", "x.pid")) as f:
        assert int(f.read()) == run.process.pid


def check_cluster_name(run, tmp):
    assert info(run.port, "cluster-name") == "prod"


def check_node_id(run, tmp):
    assert info(run.port, "node") == "A1B2"


def check_proto_fd_max(run, tmp):
    sockets = [socket.create_connection(("127.0.0.1", run.port)) for _ in range(70)]
    try:
        time.sleep(0.3)
        closed = 0
        for s in sockets:
            s.settimeout(0.2)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        assert closed >= 70 - 64, f"{closed} of 70 connections closed with proto-fd-max 64"
    finally:
        for s in sockets:
            s.close()
    assert pairs(info(run.port, "get-config:context=service"))["proto-fd-max"] == "64"


def threads(pid):
    """(task id, name) of each thread of process pid."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/comm") as f:
            yield task, f.read().strip()


def service_thread_names(pid):
    return [name for _, name in threads(pid)]


def check_service_threads(run, tmp):
    assert pairs(info(run.port, "get-config:context=service"))["service-threads"] == "3"
    names = service_thread_names(run.process.pid)
    assert sum(1 for n in names if n.startswith("cairn-svc-")) == 3, names


def check_network_io_model(run, tmp):
    assert pairs(info(run.port, "get-config:context=service"))["network-io-model"] == "epoll"
    names = service_thread_names(run.process.pid)
    assert not any(n.startswith("cairn-svc-") for n in names), names
    assert any(n.startswith("NIO-ELT-") for n in names), names
    assert info(run.port, "status") == "ok"


def thread_cpus(pid, prefix):
    """{thread name: its allowed CPU list} of the threads whose name starts with prefix."""
    found = {}
    for task, name in threads(pid):
        if name.startswith(prefix):
            with open(f"/proc/{pid}/task/{task}/status") as f:
                found[name] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("Cpus_allowed_list"))
    return found


def check_auto_pin(run, tmp):
    assert pairs(info(run.port, "get-config:context=service"))["auto-pin"] == "cpu"
    allowed = sorted(os.sched_getaffinity(0))
    pinned = thread_cpus(run.process.pid, "cairn-svc-")
    # One service thread per allowed CPU by default: thread i on the i-th CPU.
    assert pinned == {f"cairn-svc-{i}": str(cpu) for i, cpu in enumerate(allowed)}, pinned
    # The other threads stay where the process may run.
    assert set(thread_cpus(run.process.pid, "cairn-flush").values()) == {cpu_list_text(allowed)}
    c = run.client()
    try:
        for i in range(200):
            c.put(("test", "s", i), {"v": i})
        assert all(c.get(("test", "s", i))[2] == {"v": i} for i in range(200))
    finally:
        c.close()


def check_auto_pin_epoll(run, tmp):
    allowed = sorted(os.sched_getaffinity(0))
    loops = thread_cpus(run.process.pid, "NIO-ELT-")
    # Event loop i on the i-th allowed CPU (any other NIO loop stays unpinned).
    pinned = sorted(v for v in loops.values() if v in {str(cpu) for cpu in allowed})
    assert pinned == sorted(str(cpu) for cpu in allowed), loops
    c = run.client()
    try:
        c.put(("test", "s", 1), {"v": 1})
        assert c.get(("test", "s", 1))[2] == {"v": 1}
    finally:
        c.close()


def check_auto_pin_none(run, tmp):
    assert pairs(info(run.port, "get-config:context=service"))["auto-pin"] == "none"
    allowed = sorted(os.sched_getaffinity(0))
    for name, cpus in thread_cpus(run.process.pid, "cairn-svc-").items():
        assert cpus == cpu_list_text(allowed), (name, cpus)


def cpu_list_text(cpus):
    """The kernel's list form (0-3,6) of a sorted list of CPUs."""
    ranges = []
    for cpu in cpus:
        if ranges and ranges[-1][1] == cpu - 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def check_shm_directory(run, tmp):
    run.stop()
    assert any(name.startswith("cairn-test-") and name.endswith(".state") for name in os.listdir(os.path.join(tmp, "shm")))


def check_console(run, tmp):
    assert "DEBUG" in run.output() or "debug" in run.output().lower()


def check_file_sink(run, tmp):
    with open(os.path.join(tmp, "file.log")) as f:
        assert "service ready" in f.read()
    assert "service ready" not in run.output()


def check_context(run, tmp):
    run.stop()
    assert "service ready" not in run.output()  # info lines hidden at warning


def check_service(run, tmp):
    assert run.client().is_connected()


def check_address(run, tmp):
    assert pairs(info(run.port, "get-config:context=network"))["service.address"] == "127.0.0.1"
    with pytest.raises(OSError):
        socket.create_connection(("::1", run.port), timeout=1).close()


def check_port(run, tmp):
    with socket.create_connection(("127.0.0.1", run.port), timeout=1):
        pass


def scrape_status(host, port):
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
        return response.status, response.read().decode()


def check_metrics(run, tmp):
    status, text = scrape_status("127.0.0.1", run.metrics_port)
    assert status == 200 and "cairn_transactions_total" in text


def check_metrics_address(run, tmp):
    check_metrics(run, tmp)
    with pytest.raises(OSError):
        socket.create_connection(("::1", run.metrics_port), timeout=1).close()


def check_mod_lua_user_path(run, tmp):
    module = os.path.join(tmp, "param_udf.lua")
    with open(module, "w") as f:
        f.write("function one(rec) return 1 end\n")
    c = run.client()
    try:
        c.udf_put(module)
        assert c.apply(("test", "p", 1), "param_udf", "one", []) == 1
    finally:
        c.close()
    assert os.listdir(os.path.join(tmp, "udf-modules")) == ["param_udf.lua"]


def check_replication_factor(run, tmp):
    assert run.namespace()["replication-factor"] == "1"


def check_default_ttl(run, tmp):
    assert 3500 < ttl_of(run, "s") <= 3600
    assert run.namespace()["default-ttl"] == "3600"


def check_nsup_period(run, tmp):
    c = run.client()
    c.put(("test", "s", "short"), {"v": 1}, meta={"ttl": 1})
    # The supervisor drops an expired record once its block is written out: fill two blocks.
    for i in range(3):
        c.put(("test", "s", f"fill{i}"), {"b": b"x" * 900_000})
    c.close()
    wait_until(lambda: int(run.namespace()["expired_objects"]) >= 1, seconds=15)
    assert int(run.namespace()["expired_objects"]) >= 1, run.namespace()


def check_sprigs(run, tmp):
    assert run.namespace()["partition-tree-sprigs"] == "512"


def check_force_durable_deletes(run, tmp):
    c = run.client()
    c.put(("test", "s", "d"), {"v": 1})
    c.remove(("test", "s", "d"))
    c.close()
    assert run.namespace()["tombstones"] == "1"


def check_storage_engine(run, tmp):
    assert ttl_of(run, "s") in NEVER
    assert not os.path.exists(os.path.join(tmp, "test.dat"))


def check_set(run, tmp):
    sets = info(run.port, "sets/test/users")
    assert "default-ttl=86400" in sets, sets
    assert 86300 < ttl_of(run, "users") <= 86400
    assert ttl_of(run, "other") in NEVER


def check_set_stop_writes_count(run, tmp):
    sets = info(run.port, "sets/test/users")
    assert "stop-writes-count=3" in sets, sets
    c = run.client()
    try:
        for i in range(3):
            c.put(("test", "users", f"u{i}"), {"v": i})
        with pytest.raises(aerospike.exception.AerospikeError) as refused:
            c.put(("test", "users", "u3"), {"v": 3})
        assert refused.value.code == 22  # FORBIDDEN, as Aerospike answers
        c.put(("test", "users", "u0"), {"v": 10})  # an update is not a new record
        c.put(("test", "other", "o"), {"v": 1})  # other sets are not limited
        c.remove(("test", "users", "u1"))
        # A refused create starts a recount (at most once a second); once it has run, the room
        # the delete made is used.
        deadline = time.time() + 10
        while True:
            try:
                c.put(("test", "users", "u3"), {"v": 3})
                break
            except aerospike.exception.AerospikeError as e:
                assert e.code == 22 and time.time() < deadline, e
                time.sleep(0.3)
        with pytest.raises(aerospike.exception.AerospikeError) as again:
            c.put(("test", "users", "u4"), {"v": 4})
        assert again.value.code == 22
    finally:
        c.close()


def check_device(run_output, tmp):
    assert "/nonexistent-cairn-device" in run_output and "No such file or directory" in run_output, run_output


def check_file(run, tmp):
    assert os.path.exists(os.path.join(tmp, "other.dat"))


def check_filesize(run, tmp):
    assert os.path.getsize(os.path.join(tmp, "test.dat")) == 192 << 20


def check_write_block_size(run, tmp):
    assert run.namespace()["storage-engine.write-block-size"] == str(128 << 10)
    c = run.client()
    try:
        with pytest.raises(aerospike.exception.AerospikeError) as refused:
            c.put(("test", "s", "big"), {"b": b"x" * (200 << 10)})
        assert refused.value.code == 13  # RECORD_TOO_BIG
    finally:
        c.close()


def namespace_value(key, value):
    def check(run, tmp):
        assert run.namespace()[key] == value, run.namespace()
    return check


def check_benchmarks(group, phase):
    """enable-benchmarks-GROUP from the file: on from the start, as set-config would turn it on."""
    def check(run, tmp):
        config = pairs(info(run.port, "get-config:context=namespace;id=test"))
        assert config[f"enable-benchmarks-{group}"] == "true", config
        others = {"read", "write", "udf"} - {group}
        assert all(config[f"enable-benchmarks-{other}"] == "false" for other in others), config
        c = run.client()
        c.put(("test", "s", "bench"), {"v": 1})
        c.get(("test", "s", "bench"))
        c.close()
        answer = info(run.port, f"latencies:hist={{test}}-benchmarks-{group}")
        assert f"{{test}}-{group}-{phase}:" in answer, answer
        for other in others:
            assert info(run.port, f"latencies:hist={{test}}-benchmarks-{other}").startswith("error")
    return check


def check_stop_writes_avail_pct(run, tmp):
    c = run.client()
    codes = []
    try:
        for i in range(12):
            try:
                c.put(("test", "s", f"big{i}"), {"b": b"x" * 900_000})
            except aerospike.exception.AerospikeError as e:
                codes.append(e.code)
    finally:
        c.close()
    assert 8 in codes, codes  # OUT_OF_SPACE once available space is below 99%
    assert run.namespace()["stop_writes"] == "true"


def check_memory_data_size(run, tmp):
    assert ttl_of(run, "s") in NEVER
    data = [n for n in os.listdir(run.shm) if n.endswith(".data")]
    assert data and os.path.getsize(os.path.join(run.shm, data[0])) == 128 << 20, os.listdir(run.shm)


def check_memory_file(run, tmp):
    assert ttl_of(run, "s") in NEVER
    assert os.path.getsize(os.path.join(tmp, "m.dat")) == 128 << 20


def check_evicts(run, tmp, keep_set=None):
    """With nsup-period 1 and a threshold already exceeded, cycles evict the soonest void times:
    every evicted record's TTL is below every survivor's; records without a TTL (and of a
    disable-eviction set) all stay."""
    c = run.client()
    try:
        for i in range(400):
            c.put(("test", "s", f"t{i}"), {"v": i, "b": b"x" * 4000}, meta={"ttl": 1000 + 7 * i})
        for i in range(50):
            c.put(("test", "s", f"n{i}"), {"v": i}, meta={"ttl": -1})
            if keep_set:
                c.put(("test", keep_set, f"k{i}"), {"v": i}, meta={"ttl": 100})
        wait_until(lambda: int(run.namespace()["evicted_objects"]) >= 1, seconds=20)
        ns = run.namespace()
        assert int(ns["evicted_objects"]) >= 1, ns
        assert int(ns["evict_void_time"]) > 0 and "nsup_cycle_duration" in ns and "nsup_cycle_deleted_pct" in ns, ns
        gone, kept = [], []
        for i in range(400):
            try:
                c.get(("test", "s", f"t{i}"))
                kept.append(i)
            except aerospike.exception.RecordNotFound:
                gone.append(i)
        assert gone and kept and max(gone) < min(kept), (gone, kept[:5])
        for i in range(50):
            c.get(("test", "s", f"n{i}"))
            if keep_set:
                c.get(("test", keep_set, f"k{i}"))
    finally:
        c.close()


def check_disable_eviction(run, tmp):
    assert "disable-eviction=true" in info(run.port, "sets/test/keep")
    check_evicts(run, tmp, keep_set="keep")


def resident_bytes(path):
    """Bytes of `path` in the page cache (mincore over a read-only mapping, through libc)."""
    import ctypes
    import mmap
    size = os.path.getsize(path)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), f"mmap {path}: errno {ctypes.get_errno()}"
        try:
            pages = (size + 4095) // 4096
            vec = ctypes.create_string_buffer(pages)
            assert libc.mincore(addr, size, vec) == 0, f"mincore {path}: errno {ctypes.get_errno()}"
            return sum(b & 1 for b in vec.raw) * 4096
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def check_record_reads(run, through_page_cache):
    """Record reads go through the page cache (a second, buffered descriptor of the file) or not
    (O_DIRECT only, nothing of the file cached by a read); writes are O_DIRECT either way."""
    assert run.namespace()["storage-engine.read-page-cache"] == str(through_page_cache).lower()
    O_DIRECT, O_ACCMODE = 0o40000, 0o3
    descriptors = data_file_descriptors(run)
    path = descriptors[0][0]
    flags = [f for _, f in descriptors]
    assert any(f & O_DIRECT for f in flags), flags
    # Buffered and read-only: the owner lock's descriptor always, and the reads' with the page cache.
    buffered = [f for f in flags if not f & O_DIRECT]
    assert all(f & O_ACCMODE == os.O_RDONLY for f in buffered), flags
    assert len(buffered) == (2 if through_page_cache else 1), flags
    c = run.client()
    try:
        for v in range(3):  # each overwrite is read back through the page cache, never stale
            c.put(("test", "s", "pc"), {"v": v, "pad": b"x" * 300_000})
            # Fill the rest of its write block (1 MiB) so the block is sealed and, with no
            # post-write cache, no longer in memory: the read below must go to the device.
            for f in range(4):
                c.put(("test", "s", f"fill-{v}-{f}"), {"pad": b"y" * 300_000})
            wait_flushed(run.port)  # the sealed block written whole, so out of memory
            # The O_DIRECT write dropped the record's cached pages; the read below brings them
            # back through the buffered descriptor (the service threads' reads once ignored it),
            # or, O_DIRECT, leaves them out.
            reads = int(run.namespace()["device_record_reads"])
            before = resident_bytes(path)
            assert c.get(("test", "s", "pc"))[2]["v"] == v
            after = resident_bytes(path)
            assert int(run.namespace()["device_record_reads"]) == reads + 1, "the read did not go to the device"
            if through_page_cache:
                assert after - before >= 290_000, f"the read left {after - before} more bytes of {path} cached"
            else:
                assert after - before <= 0, f"an O_DIRECT read left {after - before} more bytes of {path} cached"
    finally:
        c.close()


def check_read_page_cache_off(run, tmp):
    check_record_reads(run, through_page_cache=False)


def run_once(tmp_path, check, **changes):
    """Starts cairnd on the base config with `changes` (Run's keywords: device lines, a storage
    stanza, ...), runs `check(run)`, and stops it."""
    run = Run(str(tmp_path), **changes)
    try:
        run.start()
        check(run)
        run.stop()
    finally:
        run.cleanup()


def test_a_file_reads_through_the_page_cache_by_default(tmp_path):
    """Without a `read-page-cache` line a file namespace reads records through the page cache,
    as an Aerospike server reads files (no `direct-files`)."""
    # Without the fill, which would have the blocks cached before the reads below.
    run_once(tmp_path, lambda run: check_record_reads(run, through_page_cache=True),
             device="post-write-cache 0\n fill-page-cache false")


def data_file_descriptors(run):
    """(path, open flags) of each descriptor the daemon holds on the namespace's data file."""
    found = []
    for fd in os.listdir(f"/proc/{run.process.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{run.process.pid}/fd/{fd}")
        except OSError:
            continue
        if target.endswith(".dat"):
            with open(f"/proc/{run.process.pid}/fdinfo/{fd}") as f:
                found.append((target, int(f.read().split("flags:")[1].split()[0], 8)))
    assert found, f"no .dat file open in cairnd {run.process.pid}"
    return found


def check_page_cache_fills(run, filled):
    """Blocks written whole and pushed out of a one-block post-write cache are read into the
    page cache by the flusher (`fill-page-cache`), or, without it, left uncached: written
    O_DIRECT and read by no one. Their records read back right either way."""
    assert run.namespace()["storage-engine.fill-page-cache"] == str(filled).lower()
    assert "larger than this machine's memory" not in run.output()
    path = data_file_descriptors(run)[0][0]
    c = run.client()
    try:
        # 60 KB records in 128 KiB blocks: two a block, ten blocks, the first nine out of the
        # post-write cache once written.
        for k in range(20):
            c.put(("test", "s", f"f{k}"), {"k": k, "pad": bytes([k]) * 60_000})
        wait_flushed(run.port)
        if filled:
            assert wait_until(lambda: int(run.namespace()["page_cache_fills"]) >= 8, 10), run.namespace()["page_cache_fills"]
            # Readahead returns once submitted: wait for the reads to land.
            assert wait_until(lambda: resident_bytes(path) >= 8 * (128 << 10), 10), resident_bytes(path)
        else:
            time.sleep(0.3)
            assert int(run.namespace()["page_cache_fills"]) == 0
            assert resident_bytes(path) == 0, f"{resident_bytes(path)} bytes of {path} cached with no read"
        for k in range(20):
            assert c.get(("test", "s", f"f{k}"))[2]["pad"] == bytes([k]) * 60_000
    finally:
        c.close()


def check_fill_page_cache_off(run, tmp):
    check_page_cache_fills(run, filled=False)


def test_a_file_fills_the_page_cache_by_default(tmp_path):
    """Without a `fill-page-cache` line a file namespace (which reads through the page cache)
    reads each written block into the page cache as it leaves the post-write cache."""
    run_once(tmp_path, lambda run: check_page_cache_fills(run, filled=True), device="write-block-size 128K\n post-write-cache 128K")


def test_a_file_larger_than_memory_is_warned_about(tmp_path):
    """A namespace whose files (sparse here) are larger than the machine's memory starts with a
    warning: its reads through the page cache will mostly miss, and `read-page-cache false`
    reads O_DIRECT. The namespace still starts and serves."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    size_g = memory // (1 << 30) * 2 + 2
    storage = "storage-engine device {\n file %s/big.dat\n filesize %dG\n }" % (tmp_path, size_g)

    def check(run):
        log = run.output()
        assert "larger than this machine's memory" in log and "read-page-cache false" in log, log[-2000:]
        assert "fill-page-cache" in log, log[-2000:]
        c = run.client()
        try:
            c.put(("test", "s", "k"), {"v": 1})
            assert c.get(("test", "s", "k"))[2]["v"] == 1
        finally:
            c.close()

    run_once(tmp_path, check, storage=storage)


def check_cold_start_empty(run, tmp):
    c = run.client()
    c.put(("test", "s", "old"), {"v": 1})
    c.close()
    wait_flushed(run.port)  # the record is on the device
    run.process.kill()  # not clean: the next start is cold
    run.process.wait()
    run.start()
    assert "starts EMPTY" in run.output(), run.output()[-2000:]
    c = run.client()
    try:
        with pytest.raises(aerospike.exception.RecordNotFound):
            c.get(("test", "s", "old"))
        c.put(("test", "s", "new"), {"v": 2})
    finally:
        c.close()
    assert run.namespace()["storage-engine.cold-start-empty"] == "true"


def refused(line_pattern):
    def check(output, tmp):
        assert re.search(line_pattern, output), output
    return check


# (section, name, Run keyword arguments (format {tmp} / {port}), check, the start fails)
ROWS = [
    ("service", "work-directory", dict(service="work-directory {tmp}/wd"), check_work_directory, False),
    ("service", "pidfile", dict(service="pidfile {tmp}/run/x.pid"), check_pidfile, False),
    ("service", "cluster-name", dict(service="cluster-name prod"), check_cluster_name, False),
    ("service", "node-id", dict(service="node-id a1b2"), check_node_id, False),
    ("service", "proto-fd-max", dict(service="proto-fd-max 64"), check_proto_fd_max, False),
    ("service", "shm-directory", dict(service="shm-directory {tmp}/shm"), check_shm_directory, False),
    ("service", "service-threads", dict(service="service-threads 3"), check_service_threads, False),
    ("service", "network-io-model", dict(service="network-io-model epoll"), check_network_io_model, False),
    ("service", "network-io-model (refused)", dict(service="network-io-model kqueue"),
     refused(r"cairn\.conf:\d+: .*network-io-model.*epoll or io_uring"), True),
    ("service", "auto-pin", dict(service="auto-pin cpu"), check_auto_pin, False),
    ("service", "auto-pin none", dict(service="auto-pin none"), check_auto_pin_none, False),
    ("service", "auto-pin epoll", dict(service="auto-pin cpu\n    network-io-model epoll"), check_auto_pin_epoll, False),
    ("service", "auto-pin (refused)", dict(service="auto-pin numa"),
     refused(r"cairn\.conf:\d+: bad value 'numa' for 'auto-pin' in service: expected cpu or none"), True),
    ("logging", "console", dict(logging="console {{\n context any debug\n }}"), check_console, False),
    ("logging", "file", dict(logging="file {tmp}/file.log {{\n context any info\n }}"), check_file_sink, False),
    ("logging", "context", dict(logging="console {{\n context any warning\n }}"), check_context, False),
    ("network", "service", dict(network="service {{\n address 127.0.0.1\n port {port}\n }}"), check_service, False),
    ("network", "address", dict(network="service {{\n address 127.0.0.1\n port {port}\n }}"), check_address, False),
    ("network", "port", dict(network="service {{\n address 127.0.0.1\n port {port}\n }}"), check_port, False),
    ("network", "info (refused)", dict(network="service {{\n address 127.0.0.1\n port {port}\n }}\n info {{\n port 3003\n }}"),
     refused(r"cairn\.conf:\d+: unsupported stanza 'info' in network"), True),
    ("mod-lua", "user-path", dict(mod_lua="user-path {tmp}/udf-modules"), check_mod_lua_user_path, False),
    ("metrics", "address", dict(metrics="address 127.0.0.1\n    port {port}"), check_metrics_address, False),
    ("metrics", "port", dict(metrics="port {port}"), check_metrics, False),
    ("metrics", "port = service port (refused)",
     dict(network="service {{\n address 127.0.0.1\n port {port}\n }}", metrics="port {port}"),
     refused(r"cairn\.conf:\d+: metrics port \d+ is the service port"), True),
    ("namespace NAME", "replication-factor", dict(namespace="replication-factor 1"), check_replication_factor, False),
    ("namespace NAME", "replication-factor 2 (refused)", dict(namespace="replication-factor 2"),
     refused(r"cairn\.conf:\d+: .*replication-factor"), True),
    ("namespace NAME", "default-ttl", dict(namespace="default-ttl 1h"), check_default_ttl, False),
    ("namespace NAME", "nsup-period", dict(namespace="nsup-period 1"), check_nsup_period, False),
    ("namespace NAME", "partition-tree-sprigs", dict(namespace="partition-tree-sprigs 512"), check_sprigs, False),
    ("namespace NAME", "force-durable-deletes", dict(namespace="force-durable-deletes true"),
     check_force_durable_deletes, False),
    ("namespace NAME", "default-read-touch-ttl-pct", dict(namespace="default-read-touch-ttl-pct 80"),
     check_read_touch_ttl_pct, False),
    ("namespace NAME", "evict-indexes-memory-pct", dict(namespace="evict-indexes-memory-pct 80"),
     namespace_value("evict-indexes-memory-pct", "80"), False),
    ("namespace NAME", "evict-sys-memory-pct", dict(namespace="nsup-period 1\n evict-sys-memory-pct 1"),
     check_evicts, False),
    ("namespace NAME", "evict-tenths-pct", dict(namespace="evict-tenths-pct 20"),
     namespace_value("evict-tenths-pct", "20"), False),
    ("namespace NAME", "evict-hist-buckets", dict(namespace="evict-hist-buckets 500"),
     namespace_value("evict-hist-buckets", "500"), False),
    ("namespace NAME", "disable-cold-start-eviction", dict(namespace="disable-cold-start-eviction true"),
     namespace_value("disable-cold-start-eviction", "true"), False),
    ("namespace NAME", "enable-benchmarks-read", dict(namespace="enable-benchmarks-read true"),
     check_benchmarks("read", "local"), False),
    ("namespace NAME", "enable-benchmarks-write", dict(namespace="enable-benchmarks-write true"),
     check_benchmarks("write", "master"), False),
    ("namespace NAME", "enable-benchmarks-udf", dict(namespace="enable-benchmarks-udf true"),
     check_benchmarks("udf", "start"), False),
    ("namespace NAME", "enable-benchmarks-ops-sub (refused)", dict(namespace="enable-benchmarks-ops-sub true"),
     refused(r"cairn\.conf:\d+: unsupported parameter 'enable-benchmarks-ops-sub'.*records of a background scan are not timed by phase"), True),
    ("namespace NAME", "storage-engine", dict(storage="storage-engine memory {{\n data-size 128M\n }}"),
     check_storage_engine, False),
    ("namespace NAME", "set", dict(namespace="set users {{\n default-ttl 1d\n }}"), check_set, False),
    ("storage-engine device", "device", dict(storage="storage-engine device {{\n device /nonexistent-cairn-device\n }}"),
     check_device, True),
    ("storage-engine device", "file", dict(storage="storage-engine device {{\n file {tmp}/other.dat\n filesize 128M\n }}"),
     check_file, False),
    ("storage-engine device", "filesize", dict(storage="storage-engine device {{\n file {tmp}/test.dat\n filesize 192M\n }}"),
     check_filesize, False),
    ("storage-engine device", "write-block-size", dict(device="write-block-size 128K"), check_write_block_size, False),
    ("storage-engine device", "flush-max-ms", dict(device="flush-max-ms 50"),
     namespace_value("storage-engine.flush-max-ms", "50"), False),
    ("storage-engine device", "commit-to-device", dict(device="commit-to-device true"),
     namespace_value("storage-engine.commit-to-device", "true"), False),
    ("storage-engine device", "defrag-lwm-pct", dict(device="defrag-lwm-pct 60"),
     namespace_value("storage-engine.defrag-lwm-pct", "60"), False),
    ("storage-engine device", "defrag-sleep", dict(device="defrag-sleep 500"),
     namespace_value("storage-engine.defrag-sleep", "500"), False),
    ("storage-engine device", "max-write-cache", dict(device="max-write-cache 128M"),
     namespace_value("storage-engine.max-write-cache", str(128 << 20)), False),
    ("storage-engine device", "post-write-cache", dict(device="post-write-cache 0"),
     namespace_value("storage-engine.post-write-cache", "0"), False),
    ("storage-engine device", "stop-writes-avail-pct", dict(device="stop-writes-avail-pct 99"),
     check_stop_writes_avail_pct, False),
    ("storage-engine device", "cold-start-empty", dict(device="cold-start-empty true"), check_cold_start_empty, False),
    # A file reads through the page cache by default (test_a_file_reads_through_the_page_cache_by_default).
    ("storage-engine device", "read-page-cache", dict(device="read-page-cache false\n post-write-cache 0"),
     check_read_page_cache_off, False),
    # A file fills the page cache by default (test_a_file_fills_the_page_cache_by_default).
    ("storage-engine device", "fill-page-cache",
     dict(device="write-block-size 128K\n post-write-cache 128K\n fill-page-cache false"), check_fill_page_cache_off, False),
    ("storage-engine device", "post-write-queue", dict(device="write-block-size 128K\n post-write-queue 8"),
     namespace_value("storage-engine.post-write-cache", str(8 * 128 << 10)), False),
    ("storage-engine device", "evict-used-pct", dict(namespace="nsup-period 1", device="evict-used-pct 1"),
     check_evicts, False),
    ("storage-engine memory", "data-size", dict(storage="storage-engine memory {{\n data-size 128M\n }}"),
     check_memory_data_size, False),
    ("storage-engine memory", "device", dict(storage="storage-engine memory {{\n device /nonexistent-cairn-device\n }}"),
     check_device, True),
    ("storage-engine memory", "file", dict(storage="storage-engine memory {{\n file {tmp}/m.dat\n filesize 128M\n }}"),
     check_memory_file, False),
    ("storage-engine memory", "evict-used-pct",
     dict(namespace="nsup-period 1", storage="storage-engine memory {{\n data-size 128M\n evict-used-pct 1\n }}"),
     check_evicts, False),
    ("storage-engine memory", "filesize", dict(storage="storage-engine memory {{\n file {tmp}/m.dat\n filesize 128M\n }}"),
     check_memory_file, False),
    ("set NAME", "default-ttl", dict(namespace="set users {{\n default-ttl 1d\n }}"), check_set, False),
    ("set NAME", "disable-eviction",
     dict(namespace="nsup-period 1\n evict-sys-memory-pct 1\n set keep {{\n disable-eviction true\n }}"),
     check_disable_eviction, False),
    ("set NAME", "stop-writes-count", dict(namespace="set users {{\n stop-writes-count 3\n }}"),
     check_set_stop_writes_count, False),
]


def documented_names():
    """Section heading → first word of each backticked name in its tables (as DocumentedParametersTests)."""
    sections = {"service", "logging", "network", "metrics", "mod-lua", "namespace NAME", "storage-engine device",
                "storage-engine memory", "set NAME"}
    result, current = {}, None
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        for line in f:
            if line.startswith("#"):
                name = line.lstrip("#").strip().strip("`")
                current = name if name in sections else None
                continue
            if current and line.startswith("| `"):
                word = line[3:].split("`", 1)[0].split(" ")[0]
                result.setdefault(current, set()).add(word)
    return result


def test_every_documented_parameter_has_a_row():
    rows = {}
    for section, name, *_ in ROWS:
        if "(refused)" not in name:
            rows.setdefault(section, set()).add(name.split(" ")[0])
    documented = documented_names()
    assert set(documented) == set(rows)
    for section, names in documented.items():
        assert names == rows[section], f"{section}: no row for {sorted(names - rows[section])}, " \
                                       f"undocumented rows {sorted(rows[section] - names)}"


@pytest.mark.parametrize("section,name,changes,check,fails", ROWS, ids=[f"{r[0]}:{r[1]}" for r in ROWS])
def test_parameter_takes_effect_or_is_refused(tmp_path, section, name, changes, check, fails):
    tmp = str(tmp_path)
    port = free_port()
    kwargs = {k: v.format(tmp=tmp, port=port) for k, v in changes.items()}
    run = Run(tmp, **kwargs)
    if "network" in kwargs:
        run.port = port
    try:
        output = run.start(expect_failure=fails)
        if fails:
            assert run.process.returncode != 0, output
            check(output, tmp)
        else:
            check(run, tmp)
            run.stop()
    finally:
        run.cleanup()
