"""List (CDT) operations through the official Python client's `list_operations` helpers against
a real cairnd, with the answers Aerospike gives."""
import aerospike
import pytest
from aerospike import exception as ex
from aerospike_helpers import cdt_ctx
from aerospike_helpers.operations import list_operations as lo
from aerospike_helpers.operations import operations as ops

from conftest import operate_error_code as error_code

NS = "test"


def key(name):
    return (NS, "lists", name)


@pytest.fixture()
def numbers(client):
    k = key("numbers")
    client.put(k, {"l": [7, 3, 9, 3, 1], "i": 5})
    yield k
    client.remove(k)


def test_append_creates_and_reads_back_identically(client):
    k = key("append")
    _, _, bins = client.operate(k, [lo.list_append("l", 1), lo.list_append_items("l", ["a", 2.5, [1], {"m": 1}, b"\x01"])])
    assert bins == {"l": 6}
    _, _, bins = client.get(k)
    assert bins["l"] == [1, "a", 2.5, [1], {"m": 1}, bytearray(b"\x01")]
    client.remove(k)


def test_ordered_list_and_add_unique(client):
    k = key("ordered")
    policy = {"list_order": aerospike.LIST_ORDERED, "write_flags": aerospike.LIST_WRITE_ADD_UNIQUE}
    client.operate(k, [lo.list_append_items("l", [5, 1, 3], policy)])
    assert client.get(k)[2]["l"] == [1, 3, 5]
    assert error_code(client, k, [lo.list_append("l", 3, policy)]) == 24
    nofail = {"write_flags": aerospike.LIST_WRITE_ADD_UNIQUE | aerospike.LIST_WRITE_NO_FAIL
              | aerospike.LIST_WRITE_PARTIAL}
    _, _, bins = client.operate(k, [lo.list_append_items("l", [3, 4, 4, 0], nofail)])
    assert bins == {"l": 5}
    assert client.get(k)[2]["l"] == [0, 1, 3, 4, 5]
    assert error_code(client, k, [lo.list_insert("l", 0, 9)]) == 4
    client.remove(k)


def test_insert_set_increment_pad_and_bounds(client):
    k = key("insert")
    client.put(k, {"l": [1, 2]})
    _, _, bins = client.operate(k, [lo.list_insert("l", 4, 9)])
    assert bins == {"l": 5}
    assert client.get(k)[2]["l"] == [1, 2, None, None, 9]
    bounded = {"write_flags": aerospike.LIST_WRITE_INSERT_BOUNDED}
    assert error_code(client, k, [lo.list_insert("l", 9, 1, bounded)]) == 26
    assert error_code(client, k, [lo.list_insert("l", -9, 1)]) == 26
    client.operate(k, [lo.list_set("l", -1, 8), lo.list_increment("l", 0, 10)])
    assert client.get(k)[2]["l"] == [11, 2, None, None, 8]
    _, _, bins = client.operate(k, [lo.list_increment("l", 1, 2.5)])
    assert client.get(k)[2]["l"][1] == 4
    client.remove(k)


def test_reads(client, numbers):
    k = numbers
    _, _, bins = client.operate(k, [lo.list_size("l")])
    assert bins == {"l": 5}
    assert client.operate(k, [lo.list_get("l", -1)])[2] == {"l": 1}
    assert client.operate(k, [lo.list_get_range("l", 1, 2)])[2] == {"l": [3, 9]}
    assert client.operate(k, [lo.list_get_by_index("l", 2, aerospike.LIST_RETURN_RANK)])[2] == {"l": 4}
    assert client.operate(k, [lo.list_get_by_rank("l", -1, aerospike.LIST_RETURN_INDEX)])[2] == {"l": 2}
    assert client.operate(k, [lo.list_get_by_value("l", 3, aerospike.LIST_RETURN_INDEX)])[2] == {"l": [1, 3]}
    assert client.operate(k, [lo.list_get_by_value("l", 3, aerospike.LIST_RETURN_COUNT, inverted=True)])[2] == {"l": 3}
    assert client.operate(k, [lo.list_get_by_value_list("l", [9, 1], aerospike.LIST_RETURN_VALUE)])[2] == {"l": [9, 1]}
    assert client.operate(k, [lo.list_get_by_value_range("l", aerospike.LIST_RETURN_VALUE, 3, 8)])[2] == {"l": [7, 3, 3]}
    assert client.operate(k, [lo.list_get_by_index_range("l", 1, aerospike.LIST_RETURN_VALUE, 2)])[2] == {"l": [3, 9]}
    assert client.operate(k, [lo.list_get_by_index_range("l", 1, aerospike.LIST_RETURN_VALUE, 2, inverted=True)])[2] == {"l": [7, 3, 1]}
    # values selected by rank come in rank order
    assert client.operate(k, [lo.list_get_by_rank_range("l", 0, aerospike.LIST_RETURN_VALUE, 3)])[2] == {"l": [1, 3, 3]}
    assert client.operate(k, [lo.list_get_by_value_rank_range_relative("l", 5, -1, aerospike.LIST_RETURN_VALUE, 2)])[2] == {"l": [3, 7]}
    assert error_code(client, k, [lo.list_get_by_rank_range("l", 0, aerospike.LIST_RETURN_RANK, 2, inverted=True)]) == 26
    assert client.operate(k, [lo.list_get_by_index("l", 0, aerospike.LIST_RETURN_EXISTS)])[2] == {"l": True}
    # out of range single index: OP_NOT_APPLICABLE
    assert error_code(client, k, [lo.list_get_by_index("l", 5, aerospike.LIST_RETURN_VALUE)]) == 26
    # wrong bin type: 12
    assert error_code(client, k, [lo.list_size("i")]) == 12
    assert error_code(client, k, [lo.list_append("i", 1)]) == 12
    # a missing bin reads as nothing
    assert client.operate(k, [lo.list_size("nobin")])[2].get("nobin") is None


def test_removes_and_record_state(client, numbers):
    k = numbers
    _, _, bins = client.operate(k, [lo.list_remove_by_value("l", 3, aerospike.LIST_RETURN_COUNT)])
    assert bins == {"l": 2}
    _, meta, bins = client.get(k)
    assert bins["l"] == [7, 9, 1] and meta["gen"] == 2
    assert client.operate(k, [lo.list_pop("l", 0)])[2] == {"l": 7}
    assert client.operate(k, [lo.list_remove_by_rank_range("l", 0, aerospike.LIST_RETURN_VALUE, 1, inverted=True)])[2] == {"l": [9]}
    assert client.get(k)[2]["l"] == [1]
    client.operate(k, [lo.list_append_items("l", [5, 2, 5]), lo.list_sort("l", aerospike.LIST_SORT_DROP_DUPLICATES)])
    assert client.get(k)[2]["l"] == [1, 2, 5]
    assert client.operate(k, [lo.list_trim("l", 1, 1)])[2] == {"l": 2}
    client.operate(k, [lo.list_clear("l")])
    assert client.get(k)[2]["l"] == []


def test_multiple_ops_on_one_bin_in_order(client):
    k = key("ordered-ops")
    _, _, bins = client.operate_ordered(k, [
        lo.list_append("l", 3), lo.list_append("l", 1), lo.list_size("l"),
        ops.read("l"), lo.list_get_by_rank("l", 0, aerospike.LIST_RETURN_VALUE)])
    assert bins == [("l", 1), ("l", 2), ("l", 2), ("l", [3, 1]), ("l", 1)]
    client.remove(k)


def test_nested_context(client):
    k = key("nested")
    client.put(k, {"l": [[1, 2], [[3]]]})
    ctx = [cdt_ctx.cdt_ctx_list_index(1), cdt_ctx.cdt_ctx_list_index(0)]
    assert client.operate(k, [lo.list_append("l", 4, ctx=ctx)])[2] == {"l": 2}
    assert client.get(k)[2]["l"] == [[1, 2], [[3, 4]]]
    assert client.operate(k, [lo.list_size("l", ctx=[cdt_ctx.cdt_ctx_list_rank(0)])])[2] == {"l": 2}
    assert error_code(client, k, [lo.list_size("l", ctx=[cdt_ctx.cdt_ctx_list_index(7)])]) == 26
    client.remove(k)


def test_list_create_with_ctx_create_and_crash_inputs(client):
    k = key("create")
    client.put(k, {"x": 1})
    ctx = [cdt_ctx.cdt_ctx_list_index_create(2, aerospike.LIST_UNORDERED, True)]
    client.operate(k, [lo.list_append("l", 7, ctx=ctx)])
    assert client.get(k)[2]["l"] == [None, None, [7]]
    # Crashes Aerospike CE 8.1.2; Cairn answers and keeps serving.
    for pad in (False, True):
        bad = [cdt_ctx.cdt_ctx_list_index_create(-5, aerospike.LIST_UNORDERED, pad)]
        assert error_code(client, k, [lo.list_append("missing", 1, ctx=bad)]) == 26
        assert error_code(client, k, [lo.list_append("l", 1, ctx=bad)]) == 26
    client.operate(k, [lo.list_create("p", aerospike.LIST_UNORDERED, False, True)])
    for op in (lo.list_set("p", 1000, 1), lo.list_insert("p", 1000, 1), lo.list_increment("p", 1000, 1)):
        client.operate(k, [op])
    assert len(client.get(k)[2]["p"]) == 1002
    client.remove(k)


def test_batch_operate_with_list_ops(client):
    keys = [key(f"batch-{i}") for i in range(3)]
    for i, k in enumerate(keys):
        client.put(k, {"l": list(range(i + 1))})
    res = client.batch_operate(keys, [lo.list_append("l", 99), lo.list_get_by_rank("l", -1, aerospike.LIST_RETURN_VALUE)])
    assert [r.result for r in res.batch_records] == [0, 0, 0]
    assert [r.record[2]["l"] for r in res.batch_records] == [99, 99, 99]
    res = client.batch_operate(keys, [lo.list_size("l")])
    assert [r.record[2]["l"] for r in res.batch_records] == [2, 3, 4]
    for k in keys:
        client.remove(k)


def test_list_modify_with_replace_policy_is_parameter_error(client):
    k = key("replace-policy")
    client.put(k, {"l": [1]})
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(k, [lo.list_append("l", 2)], policy={"exists": aerospike.POLICY_EXISTS_REPLACE})
    assert info.value.code == 4
    assert client.get(k)[2]["l"] == [1]
    client.remove(k)
