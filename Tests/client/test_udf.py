"""Lua UDFs through the official client against a real cairnd: registration (udf_put, udf_list,
udf_get, udf_remove, with Aerospike's answers and errors), record UDFs (apply) that succeed,
fail with 100 (a FAILURE bin) or write the record, a module that does not compile, a name that
would leave the module directory, and modules kept across a restart in mod-lua's user-path."""
import base64
import os
import socket
import subprocess
import sys
import time

import aerospike
import pytest
from aerospike import exception as ex

from conftest import Daemon, connect, free_port

NS = "test"

MODULE = """
function hello(rec, name)
    return "hello " .. name
end

function put_bin(rec, bin, value)
    rec[bin] = value
    if aerospike:exists(rec) then
        aerospike:update(rec)
    else
        aerospike:create(rec)
    end
    return record.gen(rec)
end

function append(rec, bin, value)
    local l = rec[bin] or list()
    list.append(l, value)
    rec[bin] = l
    aerospike:update(rec)
    return list.size(l)
end

function fail(rec)
    error("no luck")
end

function remove(rec)
    return aerospike:remove(rec)
end

function summary(rec)
    local m = map()
    m["n"] = record.numbins(rec)
    m["l"] = list{1, 2, 3}
    return m
end
"""


def write_module(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def info(client, command):
    """The answer of the node to one info command, over a socket of its own (the client raises
    on an `error=` answer instead of returning it)."""
    host, port = client.get_nodes()[0][:2]
    with socket.create_connection((host, port), timeout=5) as s:
        body = (command + "\n").encode()
        s.sendall(((2 << 56) | (1 << 48) | len(body)).to_bytes(8, "big") + body)
        data = b""
        while len(data) < 8 or len(data) < 8 + (int.from_bytes(data[:8], "big") & 0xFFFFFFFFFFFF):
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    line = data[8:].decode().rstrip("\n")
    return line.split("\t", 1)[1] if "\t" in line else line


def statistic(client, name):
    stats = info(client, f"namespace/{NS}")
    return int(dict(item.split("=", 1) for item in stats.split(";"))[name])


@pytest.fixture()
def module(client, tmp_path):
    client.udf_put(write_module(tmp_path, "cairn_udf.lua", MODULE))
    yield "cairn_udf"
    client.udf_remove("cairn_udf.lua")


def test_put_list_get_remove(client, tmp_path):
    client.udf_put(write_module(tmp_path, "reg_test.lua", MODULE))
    listed = [m for m in client.udf_list() if m["name"] == "reg_test.lua"]
    assert len(listed) == 1 and len(listed[0]["hash"]) == 40 and listed[0]["type"] == aerospike.UDF_TYPE_LUA
    assert client.udf_get("reg_test.lua") == MODULE
    raw = info(client, "udf-list")
    assert "filename=reg_test.lua,hash=" in raw and ",type=LUA;" in raw
    client.udf_remove("reg_test.lua")
    assert not [m for m in client.udf_list() if m["name"] == "reg_test.lua"]
    assert info(client, "udf-get:filename=reg_test.lua;") == "error=not_found"
    # Removing a module that is not there is ok, as on Aerospike.
    assert info(client, "udf-remove:filename=reg_test.lua;") == "ok"


def test_apply_returns_values(client, module):
    key = (NS, "udf", "values")
    assert client.apply(key, module, "hello", ["cairn"]) == "hello cairn"
    assert client.apply(key, module, "summary", []) == {"n": 0, "l": [1, 2, 3]}


def test_apply_writes_through_the_engine(client, module):
    key = (NS, "udf", "writes")
    try:
        client.remove(key)
    except ex.RecordNotFound:
        pass
    # record.gen is the generation the record had when the UDF began (0: a new record).
    assert client.apply(key, module, "put_bin", ["a", 7]) == 0
    _, meta, bins = client.get(key)
    assert bins == {"a": 7} and meta["gen"] == 1
    assert client.apply(key, module, "put_bin", ["a", 7]) == 1
    assert client.apply(key, module, "append", ["l", "x"]) == 1
    assert client.apply(key, module, "append", ["l", "y"]) == 2
    _, meta, bins = client.get(key)
    assert bins == {"a": 7, "l": ["x", "y"]} and meta["gen"] == 4
    assert client.apply(key, module, "remove", []) == 0
    with pytest.raises(ex.RecordNotFound):
        client.get(key)


def test_apply_failure_is_100_with_the_error(client, module):
    key = (NS, "udf", "failure")
    client.put(key, {"a": 1})
    complete, errors = statistic(client, "client_udf_complete"), statistic(client, "client_udf_error")
    assert client.apply(key, module, "hello", ["stats"]) == "hello stats"
    assert statistic(client, "client_udf_complete") == complete + 1
    with pytest.raises(ex.UDFError) as info_:
        client.apply(key, module, "fail", [])
    assert statistic(client, "client_udf_error") == errors + 1
    assert info_.value.code == 100
    assert "no luck" in str(info_.value)
    # Nothing was written.
    assert client.get(key)[1]["gen"] == 1
    with pytest.raises(ex.UDFError) as info_:
        client.apply(key, module, "no_such_function", [])
    assert info_.value.code == 100
    with pytest.raises(ex.UDFError):
        client.apply(key, "no_such_module", "f", [])


def test_bad_module_is_refused(client, tmp_path):
    with pytest.raises(ex.AerospikeError) as info_:
        client.udf_put(write_module(tmp_path, "broken.lua", "function broken(rec\n  return 1\nend\n"))
    assert info_.value.code == 100
    assert not [m for m in client.udf_list() if m["name"] == "broken.lua"]
    content = base64.b64encode(b"function f(\n").decode()
    answer = info(client, f"udf-put:filename=broken.lua;content={content};content-len={len(content)};udf-type=LUA;")
    assert answer.startswith("error=compile_error;file=broken.lua;line=2;message=")


def test_bad_names_are_refused(client):
    content = base64.b64encode(b"x = 1").decode()
    for name in ("../evil.lua", "a/b.lua", ".hidden.lua", "noext", "trailing."):
        answer = info(client, f"udf-put:filename={name};content={content};content-len={len(content)};udf-type=LUA;")
        assert answer == "error=invalid_filename", name
    assert info(client, f"udf-put:filename=x.lua;content={content};content-len=3;") == "error=invalid_content_len"
    assert info(client, f"udf-put:filename=x.lua;content={content};content-len={len(content)};udf-type=PY;") \
        == "error=invalid_udf_type"
    assert info(client, "udf-get:") == "error=invalid_filename"


def test_modules_survive_a_restart_in_user_path(tmp_path):
    user_path = tmp_path / "modules"
    d = Daemon(str(tmp_path), free_port())
    with open(d.config, "a") as f:
        f.write(f"mod-lua {{\n    user-path {user_path}\n}}\n")
    d.start()
    try:
        c = connect(d)
        c.udf_put(write_module(tmp_path, "keep.lua", MODULE))
        c.close()
        assert os.listdir(user_path) == ["keep.lua"]
        assert d.stop() == 0
        d.start()
        c = connect(d)
        assert [m["name"] for m in c.udf_list()] == ["keep.lua"]
        assert c.apply((NS, "udf", 1), "keep", "hello", ["again"]) == "hello again"
        c.close()
    finally:
        d.stop()
        d.cleanup()


def test_batch_apply_runs_each_row(client, module):
    keys = [(NS, "udf_batch", i) for i in range(3)]
    result = client.batch_apply(keys, module, "put_bin", ["b", 5])
    assert [r.result for r in result.batch_records] == [0, 0, 0]
    assert [r.record[2] for r in result.batch_records] == [{"SUCCESS": 0}] * 3
    assert [client.get(k)[2] for k in keys] == [{"b": 5}] * 3


BACKGROUND = """
function mark(rec, value)
    rec["mark"] = value
    aerospike:update(rec)
end
"""


def wait_job(client, job_id, module=aerospike.JOB_SCAN):
    for _ in range(100):
        info_ = client.job_info(job_id, module)
        if info_["status"] == aerospike.JOB_STATUS_COMPLETED:
            return info_
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {info_}")


def test_background_scan_udf_and_operations(client, tmp_path):
    client.udf_put(write_module(tmp_path, "bg_udf.lua", BACKGROUND))
    try:
        keys = [(NS, "udf_bg", i) for i in range(20)]
        for i, key in enumerate(keys):
            client.put(key, {"n": i})
        scan = client.scan(NS, "udf_bg")
        scan.apply("bg_udf", "mark", ["seen"])
        jobs_before = statistic(client, "pi_query_udf_bg_complete")
        job = scan.execute_background()
        assert wait_job(client, job)["records_read"] == 20
        assert statistic(client, "pi_query_udf_bg_complete") == jobs_before + 1
        assert all(client.get(k)[2] == {"n": i, "mark": "seen"} for i, k in enumerate(keys))
        shown = info(client, f"query-show:trid={job}")
        assert f"trid={job}:" in shown and ":status=done(ok):" in shown and ":recs-succeeded=20:" in shown
        assert ":udf-filename=bg_udf:udf-function=mark:job-type=background-udf:" in shown

        # Operations, with a filter expression: only records with n < 5 are written.
        from aerospike_helpers.operations import operations
        from aerospike_helpers import expressions as exp
        scan = client.scan(NS, "udf_bg")
        scan.add_ops([operations.write("op", 1)])
        job = scan.execute_background({"expressions": exp.LT(exp.IntBin("n"), 5).compile()})
        wait_job(client, job)
        assert sorted(i for i, k in enumerate(keys) if "op" in client.get(k)[2]) == [0, 1, 2, 3, 4]
    finally:
        client.udf_remove("bg_udf.lua")


def test_stop_during_a_background_scan_is_clean(tmp_path):
    d = Daemon(str(tmp_path), free_port())
    d.start()
    try:
        c = connect(d)
        for i in range(2000):
            c.put((NS, "slow", i), {"n": i})
        c.udf_put(write_module(tmp_path, "slow.lua",
                               "function slow(rec) for i = 1, 200000 do end rec['x'] = 1 aerospike:update(rec) end\n"))
        scan = c.scan(NS, "slow")
        scan.apply("slow", "slow", [])
        job = scan.execute_background()
        time.sleep(0.3)
        assert c.job_info(job, aerospike.JOB_SCAN)["status"] == aerospike.JOB_STATUS_INPROGRESS
        c.close()
        assert d.stop() == 0
        log = d.log_text()
        finished = [line for line in log.splitlines() if "finished udf-bg query job" in line and f"id={job}" in line]
        assert len(finished) == 1 and "aborted=true" in finished[0], log[-2000:]
        assert "finished clean shutdown" in log
    finally:
        d.stop()
        d.cleanup()


STREAM = """
local function one(rec) return 1 end
local function add(a, b) return a + b end

function count(s)
    return s : map(one) : reduce(add)
end

function values_of(s, bin)
    return s : filter(function(rec) return rec[bin] ~= nil end) : map(function(rec) return rec[bin] end)
end

function broken(s)
    return s : map(function(rec) return rec.n + nil end)
end
"""


AGGREGATION_CLIENT = """
import sys
import aerospike
from aerospike import exception as ex

port, user_path, set_name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = aerospike.client({"hosts": [("127.0.0.1", port)], "lua": {"user_path": user_path}}).connect()
query = c.query("test", set_name)
query.apply("agg_udf", "count")
print("count", query.results())
query = c.query("test", set_name)
query.apply("agg_udf", "values_of", ["n"])
print("values", sorted(query.results()))
query = c.query("test", set_name)
query.apply("agg_udf", "broken")
try:
    query.results()
    print("broken ok")
except ex.AerospikeError as e:
    print("broken", e.code)
c.close()
"""


def test_aggregation_query(client, daemon, tmp_path):
    module = write_module(tmp_path, "agg_udf.lua", STREAM)
    client.udf_put(module)
    try:
        for i in range(12):
            client.put((NS, "udf_agg", i), {"n": i})
        # The client runs the stream's last part (the reduce that merges the nodes' results) with
        # its own copy of the module; its Lua path is set once per process, so a process of its own.
        complete, errors = statistic(client, "pi_query_aggr_complete"), statistic(client, "pi_query_aggr_error")
        out = subprocess.run([sys.executable, "-c", AGGREGATION_CLIENT, str(daemon.port), str(tmp_path), "udf_agg"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["count [12]", f"values {list(range(12))}", "broken 100"]
        # Two aggregations ran, one failed (the client may retry a failed one: at least once).
        assert statistic(client, "pi_query_aggr_complete") == complete + 2
        assert statistic(client, "pi_query_aggr_error") >= errors + 1
    finally:
        client.udf_remove("agg_udf.lua")


def test_aggregation_reads_a_big_partition_in_windows(client, daemon, tmp_path):
    """300 records in one partition (their digests chosen): the aggregation reads a partition
    a window of records at a time, and every record is counted once."""
    import random

    module = write_module(tmp_path, "agg_udf.lua", STREAM)
    client.udf_put(module)
    rng = random.Random(7)
    try:
        for i in range(300):
            # Partition id = (byte 0 | byte 1 << 8) & 0xFFF: 5 for every record here.
            digest = bytearray([5, 0] + [rng.randrange(256) for _ in range(18)])
            client.put((NS, "udf_agg_window", None, digest), {"n": i})
        out = subprocess.run([sys.executable, "-c", AGGREGATION_CLIENT, str(daemon.port), str(tmp_path), "udf_agg_window"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["count [300]", f"values {list(range(300))}", "broken 100"]
    finally:
        client.udf_remove("agg_udf.lua")


def test_module_size_limit(client, tmp_path):
    # Up to 1 MiB is accepted (the info line carries it base64-encoded); more is CE's error.
    body = "function f(rec) return 1 end\n" + ("-- " + "x" * 1000 + "\n") * 600
    client.udf_put(write_module(tmp_path, "big_udf.lua", body))
    try:
        assert client.apply((NS, "udf", "big"), "big_udf", "f", []) == 1
        assert client.udf_get("big_udf.lua") == body
    finally:
        client.udf_remove("big_udf.lua")
    content = base64.b64encode(b"-" * (1024 * 1024 + 3)).decode()
    answer = info(client, f"udf-put:filename=huge.lua;content={content};content-len={len(content)};udf-type=LUA;")
    assert answer == "error=invalid_udf_content_len,>1M"


SLOW_MODULE = """
function spin(rec, seconds)
    local start = os.clock()
    while os.clock() - start < seconds do end
    return "done"
end
"""


@pytest.mark.parametrize("model", ["io_uring", "epoll"])
def test_a_slow_udf_holds_up_no_other_connection(tmp_path, model):
    """A record UDF runs on the thread pool: with one service thread, gets from another
    connection are answered while a UDF spins for 0.6 s (they used to wait behind it)."""
    import threading

    d = Daemon(str(tmp_path), free_port(), service_extra=f"service-threads 1\n    network-io-model {model}")
    d.start()
    try:
        slow, fast = connect(d), connect(d)
        slow.udf_put(write_module(tmp_path, "slow_udf.lua", SLOW_MODULE))
        fast.put((NS, "udf", "other"), {"a": 1})
        finished = {}

        def run():
            finished["result"] = slow.apply((NS, "udf", "slow"), "slow_udf", "spin", [0.6])
            finished["at"] = time.monotonic()

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.1)  # the UDF is running by now
        answered = []
        while worker.is_alive() and len(answered) < 1000:
            fast.get((NS, "udf", "other"))
            answered.append(time.monotonic())
        worker.join()
        assert finished["result"] == "done"
        before = [t for t in answered if t < finished["at"]]
        assert len(before) >= 10, f"only {len(before)} gets answered while the UDF ran"
        slow.close()
        fast.close()
    finally:
        assert d.stop() == 0
        d.cleanup()
