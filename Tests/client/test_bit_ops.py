"""Bitwise operations through the official Python client's `bitwise_operations` helpers against a
real cairnd, with the answers Aerospike gives (its documented examples on [1, 0x42, 3, 4, 5])."""
import warnings

import aerospike
import pytest
from aerospike_helpers.operations import bitwise_operations as bo
from aerospike_helpers.operations import operations as ops

from conftest import operate_error_code as error_code

NS = "test"
pytestmark = pytest.mark.filterwarnings("ignore:value_byte_size is deprecated")
SAMPLE = bytearray([0x01, 0x42, 0x03, 0x04, 0x05])
NO_FAIL = {"bit_write_flags": aerospike.BIT_WRITE_NO_FAIL}
PARTIAL = {"bit_write_flags": aerospike.BIT_WRITE_PARTIAL}


def key(name):
    return (NS, "bits", name)


@pytest.fixture()
def sample(client):
    k = key("sample")
    client.put(k, {"b": SAMPLE, "i": 5})
    yield k
    client.remove(k)


def after(client, k, operation):
    client.operate(k, [operation])
    return client.get(k)[2]["b"]


# The helpers warn that value_byte_size is deprecated even when it is None.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    DOCUMENTED_MODIFIES = [
        (bo.bit_resize("b", 10), SAMPLE + bytearray(5)),
        (bo.bit_resize("b", 2, resize_flags=aerospike.BIT_RESIZE_FROM_FRONT), bytearray([4, 5])),
        (bo.bit_insert("b", 1, None, bytearray([0xFF])), bytearray([1, 0xFF, 0x42, 3, 4, 5])),
        (bo.bit_remove("b", 2, 3), bytearray([1, 0x42])),
        (bo.bit_set("b", 13, 3, None, bytearray([0xE0])), bytearray([1, 0x47, 3, 4, 5])),
        (bo.bit_or("b", 17, 6, None, bytearray([0xA8])), bytearray([1, 0x42, 0x57, 4, 5])),
        (bo.bit_xor("b", 0, 8, None, bytearray([0xAB])), bytearray([0xAA, 0x42, 3, 4, 5])),
        (bo.bit_and("b", 23, 9, None, bytearray([0x3C, 0x80])), bytearray([1, 0x42, 2, 0, 5])),
        (bo.bit_not("b", 25, 6), bytearray([1, 0x42, 3, 0x7A, 5])),
        (bo.bit_lshift("b", 0, 8, 3), bytearray([8, 0x42, 3, 4, 5])),
        (bo.bit_rshift("b", 0, 9, 1), bytearray([0, 0xC2, 3, 4, 5])),
        (bo.bit_add("b", 24, 16, 128, False, aerospike.BIT_OVERFLOW_FAIL), bytearray([1, 0x42, 3, 4, 0x85])),
        (bo.bit_subtract("b", 24, 16, 128, False, aerospike.BIT_OVERFLOW_FAIL), bytearray([1, 0x42, 3, 3, 0x85])),
        (bo.bit_set_int("b", 1, 8, 127), bytearray([0x3F, 0xC2, 3, 4, 5])),
    ]


@pytest.mark.parametrize("operation, expected", DOCUMENTED_MODIFIES)
def test_documented_modifies(client, sample, operation, expected):
    assert after(client, sample, operation) == expected


def test_documented_reads(client, sample):
    _, _, bins = client.operate(sample, [bo.bit_get("b", 9, 5)])
    assert bins == {"b": bytearray([0x80])}
    _, _, bins = client.operate(sample, [bo.bit_count("b", 20, 4)])
    assert bins == {"b": 2}
    _, _, bins = client.operate(sample, [bo.bit_lscan("b", 24, 8, True)])
    assert bins == {"b": 5}
    _, _, bins = client.operate(sample, [bo.bit_rscan("b", 32, 8, True)])
    assert bins == {"b": 7}
    _, _, bins = client.operate(sample, [bo.bit_get_int("b", 8, 16, False)])
    assert bins == {"b": 0x4203}
    _, _, bins = client.operate(sample, [bo.bit_get_int("b", 9, 2, True)])
    assert bins == {"b": -2}
    # Reads and writes in one operate apply in order.
    _, _, bins = client.operate_ordered(sample, [bo.bit_set_int("b", 0, 8, 0xF0), bo.bit_count("b", 0, 8)])
    assert bins == [("b", None), ("b", 4)] or bins == [("b", 4)]
    assert client.get(sample)[2]["b"] == bytearray([0xF0, 0x42, 3, 4, 5])


def test_read_of_a_missing_bin_returns_nothing(client, sample):
    # The client asks for every op's result: a missing bin's read is an empty entry.
    _, _, bins = client.operate(sample, [bo.bit_get("none", 0, 8), ops.read("i")])
    assert bins == {"none": None, "i": 5}


def test_overflow_actions(client, sample):
    assert error_code(client, sample, [bo.bit_add("b", 0, 8, 0xFF, False, aerospike.BIT_OVERFLOW_FAIL)]) == 26
    assert after(client, sample, bo.bit_add("b", 0, 8, 0xFF, False, aerospike.BIT_OVERFLOW_SATURATE))[0] == 0xFF
    assert after(client, sample, bo.bit_add("b", 0, 8, 2, False, aerospike.BIT_OVERFLOW_WRAP))[0] == 0x01
    assert after(client, sample, bo.bit_add("b", 0, 8, 0x7F, True, aerospike.BIT_OVERFLOW_SATURATE))[0] == 0x7F
    assert error_code(client, sample, [bo.bit_add("b", 0, 8, 1, True, aerospike.BIT_OVERFLOW_FAIL)]) == 26
    client.operate(sample, [bo.bit_add("b", 0, 8, 1, True, aerospike.BIT_OVERFLOW_FAIL, NO_FAIL)])
    assert client.get(sample)[2]["b"][0] == 0x7F


def test_errors_as_aerospike_answers(client, sample):
    assert error_code(client, sample, [bo.bit_get("i", 0, 8)]) == 12
    assert error_code(client, sample, [bo.bit_set_int("i", 0, 8, 1)]) == 12
    assert error_code(client, sample, [bo.bit_get("b", 40, 1)]) == 26
    assert error_code(client, sample, [bo.bit_set("b", 36, 8, None, bytearray([1]))]) == 26
    assert error_code(client, sample, [bo.bit_remove("b", 4, 2)]) == 4
    assert error_code(client, sample, [bo.bit_get_int("b", 0, 65, False)]) == 4
    assert error_code(client, sample, [bo.bit_set_int("none", 0, 8, 1)]) == 17
    create_only = {"bit_write_flags": aerospike.BIT_WRITE_CREATE_ONLY}
    assert error_code(client, sample, [bo.bit_resize("b", 8, create_only)]) == 6
    update_only = {"bit_write_flags": aerospike.BIT_WRITE_UPDATE_ONLY}
    assert error_code(client, sample, [bo.bit_insert("none", 0, None, bytearray([1]), update_only)]) == 17
    assert error_code(client, sample, [bo.bit_resize("b", 2, resize_flags=aerospike.BIT_RESIZE_GROW_ONLY)]) == 4
    # A failed op leaves the record alone.
    assert client.get(sample)[2]["b"] == SAMPLE


def test_flags(client, sample):
    client.operate(sample, [bo.bit_set("b", 36, 8, None, bytearray([0xFF]), NO_FAIL)])
    assert client.get(sample)[2]["b"] == SAMPLE
    assert after(client, sample, bo.bit_set("b", 36, 8, None, bytearray([0xFF]), PARTIAL)) == bytearray([1, 0x42, 3, 4, 0x0F])
    assert after(client, sample, bo.bit_remove("b", 3, 5, PARTIAL)) == bytearray([1, 0x42, 3])
    assert after(client, sample, bo.bit_resize("b", 1, resize_flags=aerospike.BIT_RESIZE_SHRINK_ONLY)) == bytearray([1])


def test_resize_and_insert_create_the_bin(client):
    k = key("create")
    client.operate(k, [bo.bit_resize("b", 4)])
    assert client.get(k)[2]["b"] == bytearray(4)
    client.operate(k, [bo.bit_insert("c", 2, None, bytearray([7]))])
    assert client.get(k)[2]["c"] == bytearray([0, 0, 7])
    client.remove(k)


def test_partial_rshift_past_the_end_of_a_short_blob_keeps_serving(client):
    """Crashes Aerospike CE 8.1.2; cairnd cuts the range at the end of the blob."""
    k = key("crash")
    client.put(k, {"b": bytearray([0xFF, 0xFF])})
    client.operate(k, [bo.bit_rshift("b", 8, 4096, 3000, PARTIAL)])
    assert client.get(k)[2]["b"] == bytearray([0xFF, 0x00])
    client.operate(k, [bo.bit_lshift("b", 4, 4096, 4, PARTIAL)])
    assert client.get(k)[2]["b"] == bytearray([0xF0, 0x00])
    client.put(k, {"x": 1})
    assert client.get(k)[2]["x"] == 1
    client.remove(k)


def test_reads_wider_than_64_bits(client):
    """A count over more than 64 bits trapped in Cairn before fuzzing found it."""
    k = key("wide")
    client.put(k, {"b": bytearray([0xFF] * 35)})
    _, _, bins = client.operate(k, [bo.bit_count("b", 79, 112)])
    assert bins == {"b": 112}
    _, _, bins = client.operate(k, [bo.bit_get("b", 3, 70)])
    assert bins == {"b": bytearray([0xFF] * 8 + [0xFC])}
    client.remove(k)
