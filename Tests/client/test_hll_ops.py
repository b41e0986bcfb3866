"""HyperLogLog operations through the official Python client's `hll_operations` helpers against a
real cairnd, with the answers Aerospike gives."""
import aerospike
import pytest
from aerospike_helpers import HyperLogLog
from aerospike_helpers.operations import hll_operations as ho
from aerospike_helpers.operations import operations as ops

from conftest import operate_error_code as error_code

NS = "test"


def key(name):
    return (NS, "hll", name)


def near(value, expected, tolerance=0.1):
    return abs(value - expected) <= expected * tolerance


@pytest.fixture()
def sketches(client):
    """Bins a (0..999), b (500..1499), both with 12 index bits, as plain HLL and with minhash bits."""
    k = key("sketches")
    client.operate(k, [
        ho.hll_add("a", [f"v{i}" for i in range(1000)], 12),
        ho.hll_add("b", [f"v{i}" for i in range(500, 1500)], 12),
        ho.hll_add("ma", [f"v{i}" for i in range(1000)], 12, 20),
        ho.hll_add("mb", [f"v{i}" for i in range(500, 1500)], 12, 20),
        ops.write("i", 5),
    ])
    yield k
    client.remove(k)


def test_add_count_and_describe(client):
    k = key("add")
    _, _, bins = client.operate(k, [ho.hll_add("h", ["a", "b", "c", 1, 2, 3.5, b"x"], 10)])
    assert bins == {"h": 7}
    _, _, bins = client.operate(k, [ho.hll_add("h", ["a", "d"])])
    assert bins == {"h": 1}
    _, _, bins = client.operate(k, [ho.hll_get_count("h")])
    assert bins == {"h": 8}
    _, _, bins = client.operate(k, [ho.hll_describe("h")])
    assert bins == {"h": [10, 0]}
    stored = client.get(k)[2]["h"]
    assert isinstance(stored, HyperLogLog)
    # flags, index bits, minhash bits, 8 bytes of cache, 2^10 registers of 6 bits.
    assert len(stored) == 11 + (6 * 1024) // 8 and bytes(stored[:3]) == b"\x00\x0a\x00"
    client.remove(k)


def test_counts_are_estimates_of_the_distinct_elements(client, sketches):
    _, _, bins = client.operate(sketches, [ho.hll_get_count("a")])
    assert near(bins["a"], 1000, 0.05)
    _, _, bins = client.operate(sketches, [ho.hll_refresh_count("b")])
    assert near(bins["b"], 1000, 0.05)
    _, _, bins = client.operate(sketches, [ho.hll_get_count("b")])
    assert near(bins["b"], 1000, 0.05)


def test_union_intersect_and_similarity(client, sketches):
    b = client.get(sketches)[2]["b"]
    mb = client.get(sketches)[2]["mb"]
    _, _, bins = client.operate(sketches, [ho.hll_get_union_count("a", [b])])
    assert near(bins["a"], 1500, 0.05)
    _, _, bins = client.operate(sketches, [ho.hll_get_intersect_count("a", [b])])
    assert near(bins["a"], 500, 0.25)
    _, _, bins = client.operate(sketches, [ho.hll_get_similarity("ma", [mb])])
    assert near(bins["ma"], 1 / 3, 0.2)
    _, _, bins = client.operate(sketches, [ho.hll_get_intersect_count("ma", [mb])])
    assert near(bins["ma"], 500, 0.2)
    _, _, bins = client.operate(sketches, [ho.hll_get_union("a", [b])])
    assert isinstance(bins["a"], HyperLogLog) and len(bins["a"]) == len(b)
    client.operate(sketches, [ho.hll_set_union("a", [b])])
    _, _, bins = client.operate(sketches, [ho.hll_get_count("a")])
    assert near(bins["a"], 1500, 0.05)


def test_init_fold_and_flags(client, sketches):
    client.operate(sketches, [ho.hll_fold("a", 8)])
    _, _, bins = client.operate(sketches, [ho.hll_describe("a")])
    assert bins == {"a": [8, 0]}
    _, _, bins = client.operate(sketches, [ho.hll_get_count("a")])
    assert near(bins["a"], 1000, 0.15)
    client.operate(sketches, [ho.hll_init("a", 6, 0)])
    _, _, bins = client.operate(sketches, [ho.hll_get_count("a"), ho.hll_describe("b")])
    assert bins == {"a": 0, "b": [12, 0]}
    create_only = {"flags": aerospike.HLL_WRITE_CREATE_ONLY}
    assert error_code(client, sketches, [ho.hll_init("a", 8, 0, create_only)]) == 6
    nofail = {"flags": aerospike.HLL_WRITE_CREATE_ONLY | aerospike.HLL_WRITE_NO_FAIL}
    client.operate(sketches, [ho.hll_init("a", 8, 0, nofail)])
    update_only = {"flags": aerospike.HLL_WRITE_UPDATE_ONLY}
    assert error_code(client, sketches, [ho.hll_init("none", 8, 0, update_only)]) == 17


def test_errors_as_aerospike_answers(client, sketches):
    assert error_code(client, sketches, [ho.hll_get_count("i")]) == 12
    assert error_code(client, sketches, [ho.hll_add("i", ["x"], 8)]) == 12
    assert error_code(client, sketches, [ho.hll_init("n", 3, 0)]) == 4
    assert error_code(client, sketches, [ho.hll_init("n", 8, 3)]) == 4
    assert error_code(client, sketches, [ho.hll_add("n", ["x"])]) == 26
    assert error_code(client, sketches, [ho.hll_fold("ma", 8)]) == 26
    assert error_code(client, sketches, [ho.hll_fold("a", 14)]) == 26
    assert error_code(client, sketches, [ho.hll_refresh_count("n")]) == 17
    a = client.get(sketches)[2]["a"]
    assert error_code(client, sketches, [ho.hll_get_union_count("a", [bytearray(b"\x00\x03")])]) == 4
    # set_union without ALLOW_FOLD cannot lower the bin's index bits.
    client.operate(sketches, [ho.hll_init("small", 4, 0)])
    small = client.get(sketches)[2]["small"]
    assert error_code(client, sketches, [ho.hll_set_union("a", [small])]) == 26
    client.operate(sketches, [ho.hll_set_union("a", [small], {"flags": aerospike.HLL_WRITE_ALLOW_FOLD})])
    _, _, bins = client.operate(sketches, [ho.hll_describe("a")])
    assert bins == {"a": [4, 0]}
    assert a is not None


def test_read_of_a_missing_bin_is_an_empty_entry(client, sketches):
    _, _, bins = client.operate(sketches, [ho.hll_get_count("none"), ops.read("i")])
    assert bins == {"none": None, "i": 5}
