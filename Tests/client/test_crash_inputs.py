"""The inputs that crash Aerospike CE 8.1.2 (issue 13), one after another against one cairnd: each
gets an answer (a result code or a sensible value) and the daemon keeps serving after it. The
same inputs have unit tests in Tests/CairnParticleTests."""
import aerospike
from aerospike import exception as ex
from aerospike_helpers import cdt_ctx
from aerospike_helpers.operations import bitwise_operations as bo
from aerospike_helpers.operations import list_operations as lo
from aerospike_helpers.operations import map_operations as mo

NS = "test"
PARTIAL = {"bit_write_flags": aerospike.BIT_WRITE_PARTIAL}


def key(name):
    return (NS, "crash", name)


def answer(client, k, operations):
    """The result code of an operate (0 on success)."""
    try:
        client.operate(k, operations)
        return 0
    except ex.AerospikeError as e:
        return e.code


def still_serving(client, n):
    probe = key("probe")
    client.put(probe, {"n": n})
    assert client.get(probe)[2] == {"n": n}


def test_crash_inputs_are_answered_and_cairnd_keeps_serving(client):
    k = key("k")
    client.put(k, {"plain": [1, 2, 3]})
    client.operate(k, [lo.list_append("ordered", 1, {"list_order": aerospike.LIST_ORDERED})])
    n = 0
    # cdt_ctx_list_index_create with a negative index before the start: missing bin, plain list,
    # ordered list; with and without pad.
    for pad in (False, True):
        for order in (aerospike.LIST_UNORDERED, aerospike.LIST_ORDERED):
            ctx = [cdt_ctx.cdt_ctx_list_index_create(-5, order, pad)]
            for bin_name in ("missing", "plain", "ordered"):
                assert answer(client, k, [lo.list_append(bin_name, 1, ctx=ctx)]) == 26
                n += 1
                still_serving(client, n)
    # Key / value list gets and removes with an empty list, INVERTED, an element-returning type.
    for op in (mo.map_get_by_key_list, mo.map_get_by_value_list, mo.map_remove_by_key_list, mo.map_remove_by_value_list):
        client.put(k, {"m": {"a": 1, "b": 2}})
        _, _, bins = client.operate(k, [op("m", [], aerospike.MAP_RETURN_KEY, inverted=True)])
        assert sorted(bins["m"]) == ["a", "b"]
        n += 1
        still_serving(client, n)
    # bit_rshift (and lshift) with PARTIAL on a range past the end of a short blob.
    client.put(k, {"b": bytearray([0xFF, 0xFF])})
    assert answer(client, k, [bo.bit_rshift("b", 8, 4096, 3000, PARTIAL)]) == 0
    assert answer(client, k, [bo.bit_lshift("b", 4, 4096, 4, PARTIAL)]) == 0
    assert client.get(k)[2]["b"] == bytearray([0xF0, 0x00])
    n += 1
    still_serving(client, n)
    # A list created with a persisted index, then set / insert / increment at index 1000.
    client.operate(k, [lo.list_create("p", aerospike.LIST_UNORDERED, False, True)])
    for op in (lo.list_set("p", 1000, 1), lo.list_insert("p", 1000, 1), lo.list_increment("p", 1000, 1)):
        assert answer(client, k, [op]) == 0
        n += 1
        still_serving(client, n)
    assert len(client.get(k)[2]["p"]) == 1002
    client.remove(k)
    client.remove(key("probe"))
