"""Key-value work through the official Aerospike Python client against a real cairnd."""
import time

import aerospike
import pytest
from aerospike import exception as ex
from aerospike_helpers.operations import operations as ops

from conftest import connect

NS = "test"


def key(name, s="demo"):
    return (NS, s, name)


def test_status_and_namespaces(client):
    for _, (err, answer) in client.info_all("status").items():
        assert err is None and answer.strip() == "ok"
    assert "test" in client.info_random_node("namespaces")


def test_put_get_select_exists_remove(client):
    k = key("basic")
    client.put(k, {"i": 1, "s": "two", "f": 3.5})
    _, meta, bins = client.get(k)
    assert bins == {"i": 1, "s": "two", "f": 3.5}
    assert meta["gen"] == 1
    _, _, some = client.select(k, ["s"])
    assert some == {"s": "two"}
    _, meta = client.exists(k)
    assert meta is not None and meta["gen"] == 1
    client.remove(k)
    _, meta = client.exists(k)
    assert meta is None
    with pytest.raises(ex.RecordNotFound):
        client.get(k)


def test_every_bin_type_round_trips(client):
    k = key("types")
    bins = {
        "int": -42, "big": 2**62, "float": 2.25, "str": "héllo", "bytes": b"\x00\xff",
        "bool": True, "list": [1, "a", [2.5]], "map": {"a": 1, "b": [1, 2]},
        "omap": aerospike.KeyOrderedDict({"z": 1, "a": 2}),
    }
    client.put(k, bins)
    _, _, got = client.get(k)
    for name, value in bins.items():
        assert got[name] == value, name
    # None deletes a bin.
    client.put(k, {"str": None})
    _, _, got = client.get(k)
    assert "str" not in got


def test_increment_append_prepend_touch_remove_bin(client):
    k = key("ops")
    client.put(k, {"n": 10, "s": "mid", "x": 1})
    client.increment(k, "n", 5)
    client.increment(k, "fl", 1.5)
    client.append(k, "s", "-end")
    client.prepend(k, "s", "start-")
    _, meta, bins = client.get(k)
    assert bins["n"] == 15 and bins["fl"] == 1.5 and bins["s"] == "start-mid-end"
    gen = meta["gen"]
    client.touch(k, 100)
    _, meta = client.exists(k)
    assert meta["gen"] == gen + 1
    assert 0 < meta["ttl"] <= 100
    client.remove_bin(k, ["x"])
    _, _, bins = client.get(k)
    assert "x" not in bins
    with pytest.raises(ex.BinIncompatibleType):
        client.increment(k, "s", 1)


def test_operate_and_operate_ordered(client):
    k = key("operate")
    client.put(k, {"c": 1})
    _, _, bins = client.operate(k, [ops.increment("c", 2), ops.read("c"), ops.write("w", "v")])
    assert bins["c"] == 3
    _, _, ordered = client.operate_ordered(k, [ops.read("c"), ops.increment("c", 1), ops.read("c")])
    assert [b[1] for b in ordered if b[0] == "c"] == [3, 4]


def test_write_policies(client):
    k = key("policies")
    client.put(k, {"a": 1}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})
    with pytest.raises(ex.RecordExistsError):
        client.put(k, {"a": 2}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})
    with pytest.raises(ex.RecordNotFound):
        client.put(key("policies-missing"), {"a": 1}, policy={"exists": aerospike.POLICY_EXISTS_UPDATE})
    client.put(k, {"b": 2}, policy={"exists": aerospike.POLICY_EXISTS_REPLACE})
    _, meta, bins = client.get(k)
    assert bins == {"b": 2}
    with pytest.raises(ex.RecordGenerationError):
        client.put(k, {"c": 3}, meta={"gen": meta["gen"] + 5}, policy={"gen": aerospike.POLICY_GEN_EQ})
    client.put(k, {"c": 3}, meta={"gen": meta["gen"]}, policy={"gen": aerospike.POLICY_GEN_EQ})


def test_ttl_and_expiry(client):
    k = key("ttl")
    client.put(k, {"v": 1}, meta={"ttl": 2})
    _, meta = client.exists(k)
    assert 0 < meta["ttl"] <= 2
    time.sleep(3.2)
    _, meta = client.exists(k)
    assert meta is None
    client.put(key("never"), {"v": 1}, meta={"ttl": aerospike.TTL_NEVER_EXPIRE})
    _, meta = client.exists(key("never"))
    assert meta["ttl"] in (4294967295, -1, 0)


def test_stored_user_key(client):
    k = key("with-key")
    client.put(k, {"v": 1}, policy={"key": aerospike.POLICY_KEY_SEND})
    (ns, s, pk, digest), _, _ = client.get(k, policy={"key": aerospike.POLICY_KEY_SEND})
    assert pk == "with-key"


def test_batch_read_and_remove(client):
    keys = [key(f"batch-{i}") for i in range(20)]
    for i, k in enumerate(keys[:15]):
        client.put(k, {"i": i})
    records = client.batch_read(keys).batch_records
    assert len(records) == 20
    found = [r.record[2]["i"] for r in records if r.record is not None and r.record[2] is not None]
    assert sorted(found) == list(range(15))
    client.batch_remove(keys[:5])
    records = client.batch_read(keys[:5]).batch_records
    assert all(r.record is None or r.record[2] is None for r in records)


def test_big_record_near_limit_and_above(client):
    client.put(key("big"), {"b": b"x" * (900 * 1024)})
    _, _, bins = client.get(key("big"))
    assert len(bins["b"]) == 900 * 1024
    with pytest.raises(ex.RecordTooBig):
        client.put(key("too-big"), {"b": b"x" * (2 * 1024 * 1024)})


def test_data_survives_a_restart(daemon):
    c = connect(daemon)
    for i in range(200):
        c.put(key(i, "restart"), {"v": i})
    c.remove(key(7, "restart"), policy={"durable_delete": True})
    c.close()
    assert daemon.stop() == 0
    daemon.start()
    c = connect(daemon)
    for i in range(200):
        _, meta = c.exists(key(i, "restart"))
        assert (meta is None) == (i == 7), i
    c.close()
