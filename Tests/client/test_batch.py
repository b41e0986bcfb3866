"""batch_write / batch_operate / batch_apply-free batch work through the official Python client."""
import aerospike
import pytest
from aerospike import exception as ex
from aerospike_helpers.batch import records as br
from aerospike_helpers.operations import operations as ops

NS = "test"


def key(name, s="batchw"):
    return (NS, s, name)


def test_batch_write_puts_reads_and_deletes_in_one_request(client):
    keys = [key(f"bw-{i}") for i in range(10)]
    for k in keys[5:]:
        client.put(k, {"old": 1})
    batch = br.BatchRecords([br.Write(k, [ops.write("v", i), ops.read("v")]) for i, k in enumerate(keys[:5])]
                            + [br.Read(k, [ops.read("old")]) for k in keys[5:8]]
                            + [br.Remove(k) for k in keys[8:]])
    result = client.batch_write(batch)
    assert result.result == 0
    assert len(result.batch_records) == 10
    for i, rec in enumerate(result.batch_records[:5]):
        assert rec.result == 0, rec.result
        assert rec.record[2]["v"] == i
    for rec in result.batch_records[5:8]:
        assert rec.result == 0 and rec.record[2] == {"old": 1}
    for rec in result.batch_records[8:]:
        assert rec.result == 0
    for i, k in enumerate(keys[:5]):
        assert client.get(k)[2] == {"v": i}
    for k in keys[8:]:
        with pytest.raises(ex.RecordNotFound):
            client.get(k)


def test_batch_write_reports_each_row_and_repeats(client):
    k = key("bw-repeat")
    missing = key("bw-missing")
    client.put(k, {"n": 1})
    policy = {"exists": aerospike.POLICY_EXISTS_UPDATE}
    batch = br.BatchRecords([
        br.Write(k, [ops.increment("n", 1)]),
        br.Write(k, [ops.increment("n", 1)]),          # a repeated key: both rows applied in order
        br.Write(missing, [ops.write("n", 1)], policy=policy),  # update-only on a missing record
        br.Read(missing, [ops.read("n")]),
    ])
    result = client.batch_write(batch)
    rows = result.batch_records
    assert rows[0].result == 0 and rows[1].result == 0
    assert rows[2].result == 2  # KEY_NOT_FOUND_ERROR
    assert rows[3].result == 2
    assert client.get(k)[2] == {"n": 3}


def test_batch_operate_applies_the_same_ops_to_every_key(client):
    keys = [key(f"bo-{i}") for i in range(8)]
    for i, k in enumerate(keys):
        client.put(k, {"count": i, "name": "r"})
    result = client.batch_operate(keys, [ops.increment("count", 100), ops.append("name", "x"), ops.read("count")])
    assert len(result.batch_records) == 8
    for i, rec in enumerate(result.batch_records):
        assert rec.result == 0
        assert rec.record[2]["count"] == 100 + i
    for i, k in enumerate(keys):
        assert client.get(k)[2] == {"count": 100 + i, "name": "rx"}


def test_batch_operate_on_missing_keys_creates_or_reports(client):
    keys = [key(f"bo-new-{i}") for i in range(3)]
    result = client.batch_operate(keys, [ops.write("a", 1)])
    assert all(r.result == 0 for r in result.batch_records)
    assert all(client.get(k)[2] == {"a": 1} for k in keys)
    missing = [key(f"bo-none-{i}") for i in range(3)]
    result = client.batch_operate(missing, [ops.read("a")])
    assert all(r.result == 2 for r in result.batch_records)


def test_touch_in_batch_operate_answers_no_bin(client):
    """A touch row answers the record's metadata and no bin (Aerospike has no entry for a touch,
    though a batch write row always asks for every op's result)."""
    keys = [key(f"touch-{i}") for i in range(3)]
    for i, k in enumerate(keys):
        client.put(k, {"a": i})
    rows = client.batch_operate(keys, [ops.touch(100)]).batch_records
    assert [r.result for r in rows] == [0, 0, 0]
    assert [r.record[2] for r in rows] == [{}, {}, {}] or [r.record[2] for r in rows] == [None, None, None]
    assert all(r.record[1]["gen"] == 2 for r in rows)
    rows = client.batch_operate(keys, [ops.touch(100), ops.read("a")]).batch_records
    assert [r.record[2] for r in rows] == [{"a": 0}, {"a": 1}, {"a": 2}]
