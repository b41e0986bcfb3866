"""Map (CDT) operations through the official Python client's `map_operations` helpers against a
real cairnd, with the answers Aerospike gives."""
import aerospike
import pytest
from aerospike_helpers import cdt_ctx
from aerospike_helpers.operations import map_operations as mo

from conftest import operate_error_code as error_code

NS = "test"
KEY_ORDERED = {"map_order": aerospike.MAP_KEY_ORDERED}


def key(name):
    return (NS, "maps", name)


@pytest.fixture()
def scores(client):
    k = key("scores")
    client.operate(k, [mo.map_put_items("m", {"c": 4, "a": 5, "e": 9, "b": 3, "d": 3}, KEY_ORDERED)])
    client.put(k, {"i": 1})
    yield k
    client.remove(k)


def test_put_and_read_back(client):
    k = key("put")
    _, _, bins = client.operate(k, [mo.map_put("m", "x", 1), mo.map_put_items("m", {"y": [1, 2], "z": {"n": 1.5}})])
    assert bins == {"m": 3}
    assert client.get(k)[2]["m"] == {"x": 1, "y": [1, 2], "z": {"n": 1.5}}
    client.remove(k)


def test_write_flags(client):
    k = key("flags")
    client.operate(k, [mo.map_put("m", "a", 1)])
    create_only = {"map_write_flags": aerospike.MAP_WRITE_FLAGS_CREATE_ONLY}
    update_only = {"map_write_flags": aerospike.MAP_WRITE_FLAGS_UPDATE_ONLY}
    assert error_code(client, k, [mo.map_put("m", "a", 2, create_only)]) == 24
    assert error_code(client, k, [mo.map_put("m", "zz", 2, update_only)]) == 23
    partial = {"map_write_flags": aerospike.MAP_WRITE_FLAGS_CREATE_ONLY | aerospike.MAP_WRITE_FLAGS_NO_FAIL
               | aerospike.MAP_WRITE_FLAGS_PARTIAL}
    assert client.operate(k, [mo.map_put_items("m", {"a": 7, "b": 8}, partial)])[2] == {"m": 2}
    assert client.get(k)[2]["m"] == {"a": 1, "b": 8}
    assert error_code(client, k, [mo.map_put("m", 1.5, 1)]) == 4
    client.remove(k)


def test_increment_decrement(client):
    k = key("counters")
    assert client.operate(k, [mo.map_increment("m", "hits", 5)])[2] == {"m": 5}
    assert client.operate(k, [mo.map_decrement("m", "hits", 2)])[2] == {"m": 3}
    assert client.operate(k, [mo.map_increment("m", "f", 0.5)])[2] == {"m": 0.5}
    assert client.get(k)[2]["m"] == {"hits": 3, "f": 0.5}
    client.remove(k)


def test_reads(client, scores):
    k = scores
    assert client.operate(k, [mo.map_size("m")])[2] == {"m": 5}
    assert client.operate(k, [mo.map_get_by_key("m", "c", aerospike.MAP_RETURN_VALUE)])[2] == {"m": 4}
    assert client.operate(k, [mo.map_get_by_key("m", "c", aerospike.MAP_RETURN_INDEX)])[2] == {"m": 2}
    assert client.operate(k, [mo.map_get_by_index("m", -1, aerospike.MAP_RETURN_KEY)])[2] == {"m": "e"}
    assert client.operate(k, [mo.map_get_by_rank("m", 0, aerospike.MAP_RETURN_KEY)])[2] == {"m": "b"}
    assert client.operate(k, [mo.map_get_by_value("m", 3, aerospike.MAP_RETURN_KEY)])[2] == {"m": ["b", "d"]}
    assert client.operate(k, [mo.map_get_by_key_range("m", "b", "d", aerospike.MAP_RETURN_VALUE)])[2] == {"m": [3, 4]}
    assert client.operate(k, [mo.map_get_by_key_list("m", ["a", "e"], aerospike.MAP_RETURN_VALUE)])[2] == {"m": [5, 9]}
    assert client.operate(k, [mo.map_get_by_value_range("m", 3, 5, aerospike.MAP_RETURN_COUNT)])[2] == {"m": 3}
    assert client.operate(k, [mo.map_get_by_index_range("m", 1, 2, aerospike.MAP_RETURN_KEY)])[2] == {"m": ["b", "c"]}
    assert client.operate(k, [mo.map_get_by_rank_range("m", -2, 2, aerospike.MAP_RETURN_VALUE)])[2] == {"m": [5, 9]}
    assert client.operate(k, [mo.map_get_by_key_index_range_relative("m", "bb", 0, aerospike.MAP_RETURN_KEY, 2)])[2] == {"m": ["c", "d"]}
    assert client.operate(k, [mo.map_get_by_value_rank_range_relative("m", 4, 1, aerospike.MAP_RETURN_KEY)])[2] == {"m": ["a", "e"]}
    assert client.operate(k, [mo.map_get_by_key("m", "zz", aerospike.MAP_RETURN_EXISTS)])[2] == {"m": False}
    _, _, bins = client.operate(k, [mo.map_get_by_key_list("m", ["a", "b"], aerospike.MAP_RETURN_KEY_VALUE)])
    # Aerospike answers KEY_VALUE with an order-preserving map, which the client gives as pairs flattened.
    assert bins["m"] == ["a", 5, "b", 3]
    _, _, bins = client.operate(k, [mo.map_get_by_key_list("m", ["a", "b"], aerospike.MAP_RETURN_ORDERED_MAP)])
    assert bins["m"] == {"a": 5, "b": 3}
    assert error_code(client, k, [mo.map_get_by_index("m", 9, aerospike.MAP_RETURN_KEY)]) == 26
    assert error_code(client, k, [mo.map_size("i")]) == 12


def test_removes_and_crash_inputs(client, scores):
    k = scores
    assert client.operate(k, [mo.map_remove_by_key("m", "a", aerospike.MAP_RETURN_VALUE)])[2] == {"m": 5}
    assert client.operate(k, [mo.map_remove_by_value("m", 3, aerospike.MAP_RETURN_COUNT)])[2] == {"m": 2}
    assert client.get(k)[2]["m"] == {"c": 4, "e": 9}
    # Empty key list, INVERTED, a return type that returns elements: crashes Aerospike CE 8.1.2.
    _, _, bins = client.operate(k, [mo.map_get_by_key_list("m", [], aerospike.MAP_RETURN_VALUE, inverted=True)])
    assert bins == {"m": [4, 9]}
    _, _, bins = client.operate(k, [mo.map_remove_by_value_list("m", [], aerospike.MAP_RETURN_KEY, inverted=True)])
    assert bins == {"m": ["c", "e"]}
    assert client.get(k)[2]["m"] == {}
    assert client.operate(k, [mo.map_size("m")])[2] == {"m": 0}


def test_nested_create(client):
    k = key("nested")
    client.put(k, {"x": 1})
    ctx = [cdt_ctx.cdt_ctx_map_key_create("inner", aerospike.MAP_KEY_ORDERED)]
    client.operate(k, [mo.map_put("m", "b", 2, ctx=ctx), mo.map_put("m", "a", 1, ctx=ctx)])
    assert client.get(k)[2]["m"] == {"inner": {"a": 1, "b": 2}}
    inner = [cdt_ctx.cdt_ctx_map_key("inner")]
    assert client.operate(k, [mo.map_get_by_index("m", 0, aerospike.MAP_RETURN_KEY, ctx=inner)])[2] == {"m": "a"}
    client.remove(k)
