"""Filter expressions through the official Python client's `expressions` helpers against a real
cairnd: the subset Cairn evaluates (single-record reads; comparisons, logic, bins, key, set name,
bit / HLL / list / map calls, metadata, geo compare) on single-record reads and writes. A record
filtered out answers 27; an expression Cairn does not evaluate answers 16."""
import aerospike
import pytest
from aerospike import exception as ex
from aerospike_helpers import expressions as exp
from aerospike_helpers.operations import hll_operations as ho
from aerospike_helpers.operations import operations as ops

NS = "test"


def key(name):
    return (NS, "exp", name)


@pytest.fixture()
def record(client):
    k = key("record")
    client.put(k, {"i": 5, "s": "abc", "f": 1.5, "b": bytearray([1, 0x42, 3, 4, 5]), "l": [1, 2, 3], "m": {"k": 7}},
               policy={"key": aerospike.POLICY_KEY_SEND})
    client.operate(k, [ho.hll_add("h", ["x", "y", "z"], 8)])
    yield k
    client.remove(k)


def get_code(client, k, expression):
    """0 when the record is read, else the result code."""
    try:
        client.get(k, policy={"expressions": expression.compile()})
        return 0
    except ex.AerospikeError as e:
        return e.code


@pytest.mark.parametrize("expression, passes", [
    (exp.Eq(exp.IntBin("i"), 5), True),
    (exp.Eq(exp.IntBin("i"), 6), False),
    (exp.GT(exp.IntBin("i"), 4), True),
    (exp.LE(exp.FloatBin("f"), 1.0), False),
    (exp.Eq(exp.StrBin("s"), "abc"), True),
    (exp.NE(exp.StrBin("s"), "abd"), True),
    (exp.Eq(exp.BlobBin("b"), bytearray([1, 0x42, 3, 4, 5])), True),
    (exp.And(exp.Eq(exp.IntBin("i"), 5), exp.Not(exp.Eq(exp.StrBin("s"), "x"))), True),
    (exp.Or(exp.Eq(exp.IntBin("i"), 6), exp.Eq(exp.StrBin("s"), "x")), False),
    (exp.Exclusive(exp.Eq(exp.IntBin("i"), 5), exp.Eq(exp.StrBin("s"), "abc")), False),
    (exp.Eq(exp.BinType("s"), aerospike.AS_BYTES_STRING), True),
    (exp.CmpRegex(aerospike.REGEX_EXTENDED | aerospike.REGEX_ICASE, "^A(B|X)C$", exp.StrBin("s")), True),
    (exp.CmpRegex(0, "^b", exp.StrBin("s")), False),
    (exp.KeyExists(), True),
    (exp.Eq(exp.KeyStr(), "record"), True),
    (exp.Eq(exp.IntBin("missing"), 5), False),
    (exp.Not(exp.Eq(exp.IntBin("missing"), 5)), False),
    (exp.Eq(exp.IntBin("s"), 5), False),
    (exp.Eq(exp.BitCount(0, 8, exp.BlobBin("b")), 1), True),
    (exp.Eq(exp.BitGetInt(8, 16, False, exp.BlobBin("b")), 0x4203), True),
    (exp.Eq(exp.BitGet(9, 5, exp.BitSetInt(None, 9, 5, 31, exp.BlobBin("b"))), bytearray([0xF8])), True),
    (exp.Eq(exp.HLLGetCount(exp.HLLBin("h")), 3), True),
    (exp.Eq(exp.HLLGetCount(exp.HLLAdd(None, ["w"], -1, -1, exp.HLLBin("h"))), 4), True),
    (exp.Eq(exp.ListSize(None, exp.ListBin("l")), 3), True),
    (exp.Eq(exp.Add(exp.IntBin("i"), 1), 6), True),
    (exp.Eq(exp.Sub(exp.IntBin("i"), 1, 1), 3), True),
    (exp.Eq(exp.Mul(exp.FloatBin("f"), 2.0), 3.0), True),
    (exp.Eq(exp.Div(exp.IntBin("i"), 0), 1), False),
    (exp.Eq(exp.ToInt(exp.FloatBin("f")), 1), True),
    (exp.Eq(exp.Max(exp.IntBin("i"), 9, 2), 9), True),
    (exp.Eq(exp.IntAnd(exp.IntBin("i"), 4), 4), True),
    (exp.Eq(exp.IntLeftShift(exp.IntBin("i"), 2), 20), True),
    (exp.Eq(exp.Cond(exp.Eq(exp.IntBin("i"), 1), "one", exp.Eq(exp.IntBin("i"), 5), "five", "other"), "five"), True),
    (exp.Let(exp.Def("x", exp.Add(exp.IntBin("i"), 1)), exp.Eq(exp.Var("x"), 6)), True),
    (exp.Eq(exp.MapGetByKey(None, aerospike.MAP_RETURN_VALUE, exp.ResultType.INTEGER, "k", exp.MapBin("m")), 7), True),
])
def test_filtered_reads(client, record, expression, passes):
    assert get_code(client, record, expression) == (0 if passes else 27)


def test_a_filtered_out_read_reads_nothing_and_a_passing_one_everything(client, record):
    _, _, bins = client.get(record, policy={"expressions": exp.Eq(exp.IntBin("i"), 5).compile()})
    assert bins["i"] == 5 and bins["s"] == "abc"
    _, _, bins = client.select(record, ["s"], policy={"expressions": exp.Eq(exp.IntBin("i"), 5).compile()})
    assert bins == {"s": "abc"}


def test_geo_compare_point_in_region_and_region_containing_point(client):
    k = key("geo")
    client.put(k, {"p": aerospike.GeoJSON({"type": "Point", "coordinates": [0.5, 0.5]}),
                   "r": aerospike.GeoJSON({"type": "AeroCircle", "coordinates": [[0, 0], 100000]})})
    square = aerospike.GeoJSON({"type": "Polygon", "coordinates": [[[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]]})
    far = aerospike.GeoJSON({"type": "Point", "coordinates": [5, 5]})
    assert get_code(client, k, exp.CmpGeo(exp.GeoBin("p"), square)) == 0
    assert get_code(client, k, exp.CmpGeo(exp.GeoBin("r"), exp.GeoBin("p"))) == 0
    assert get_code(client, k, exp.CmpGeo(exp.GeoBin("r"), far)) == 27
    assert get_code(client, k, exp.CmpGeo(exp.GeoBin("p"), exp.GeoBin("p"))) == 27  # point with point
    assert get_code(client, k, exp.CmpGeo(exp.GeoBin("missing"), square)) == 27
    client.remove(k)



def test_exists_is_filtered(client, record):
    _, meta = client.exists(record, policy={"expressions": exp.Eq(exp.IntBin("i"), 5).compile()})
    assert meta is not None and meta["gen"] == 2
    with pytest.raises(ex.AerospikeError) as info:
        client.exists(record, policy={"expressions": exp.Eq(exp.IntBin("i"), 6).compile()})
    assert info.value.code == 27


def test_filtered_operates_of_collection_bit_and_hll_reads(client, record):
    from aerospike_helpers.operations import bitwise_operations as bo
    passing = {"expressions": exp.Eq(exp.IntBin("i"), 5).compile()}
    failing = {"expressions": exp.Eq(exp.IntBin("i"), 6).compile()}
    _, _, bins = client.operate(record, [bo.bit_count("b", 0, 8), ho.hll_get_count("h")], policy=passing)
    assert bins == {"b": 1, "h": 3}
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [bo.bit_count("b", 0, 8)], policy=failing)
    assert info.value.code == 27


def test_filtered_writes(client, record):
    passing = {"expressions": exp.Eq(exp.IntBin("i"), 5).compile()}
    failing = {"expressions": exp.Eq(exp.IntBin("i"), 6).compile()}
    with pytest.raises(ex.AerospikeError) as info:
        client.put(record, {"i": 7}, policy=failing)
    assert info.value.code == 27
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [ops.increment("i", 1), ops.read("i")], policy=failing)
    assert info.value.code == 27
    _, meta, bins = client.get(record)
    assert bins["i"] == 5 and meta["gen"] == 2
    _, _, bins = client.operate(record, [ops.increment("i", 1), ops.read("i")], policy=passing)
    assert bins == {"i": 6}
    # A replace is filtered too, and so is a delete (i is 6 now).
    never = {"expressions": exp.Eq(exp.IntBin("i"), 99).compile()}
    with pytest.raises(ex.AerospikeError) as info:
        client.put(record, {"z": 1}, policy={**never, "exists": aerospike.POLICY_EXISTS_REPLACE})
    assert info.value.code == 27
    with pytest.raises(ex.AerospikeError) as info:
        client.remove(record, policy=never)
    assert info.value.code == 27
    assert client.get(record)[2]["i"] == 6
    # A write that creates the record is not filtered (as Aerospike).
    k = key("created")
    client.put(k, {"i": 1}, policy=failing)
    assert client.get(k)[2] == {"i": 1}
    client.remove(k)


def test_an_operate_of_reads_is_a_filtered_read(client, record):
    _, _, bins = client.operate(record, [ops.read("i")], policy={"expressions": exp.Eq(exp.IntBin("i"), 5).compile()})
    assert bins == {"i": 5}
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [ops.read("i")], policy={"expressions": exp.Eq(exp.IntBin("i"), 6).compile()})
    assert info.value.code == 27


def test_metadata(client, record):
    import time
    _, meta, _ = client.get(record)
    lut_ns = time.time_ns()
    assert get_code(client, record, exp.GT(exp.LastUpdateTime(), lut_ns - 60 * 10**9)) == 0
    assert get_code(client, record, exp.LT(exp.LastUpdateTime(), lut_ns + 60 * 10**9)) == 0
    assert get_code(client, record, exp.LT(exp.SinceUpdateTime(), 60_000)) == 0
    assert get_code(client, record, exp.Eq(exp.IsTombstone(), False)) == 0
    assert get_code(client, record, exp.Eq(exp.SetName(), "exp")) == 0
    ttl = meta["ttl"]
    if ttl in (-1, 0xFFFFFFFF):  # the namespace default: never expires
        assert get_code(client, record, exp.Eq(exp.TTL(), -1)) == 0
        assert get_code(client, record, exp.Eq(exp.VoidTime(), -1)) == 0
    else:
        assert get_code(client, record, exp.LE(exp.TTL(), ttl)) == 0
    k = key("ttl")
    client.put(k, {"i": 1}, meta={"ttl": 1000})
    assert get_code(client, k, exp.And(exp.GT(exp.TTL(), 990), exp.LE(exp.TTL(), 1000))) == 0
    assert get_code(client, k, exp.GT(exp.VoidTime(), time.time_ns() + 990 * 10**9)) == 0
    # The digest's bytes 16-19 (little-endian) modulo 3, as Aerospike.
    digest = aerospike.calc_digest(NS, "exp", "ttl")
    expected = int.from_bytes(bytes(digest[16:20]), "little") % 3
    assert get_code(client, k, exp.Eq(exp.DigestMod(3), expected)) == 0
    assert get_code(client, k, exp.Eq(exp.DigestMod(3), (expected + 1) % 3)) == 27
    # record_size, and the deprecated device_size / memory_size: on a device namespace the
    # device size is the record size and the memory size 0 (Aerospike 8.1).
    client.put(k, {"i": 1})
    assert get_code(client, k, exp.Eq(exp.RecordSize(), 64)) == 0  # 35 + set 4 + bins 6 + end 4, to 64
    assert get_code(client, k, exp.Eq(exp.DeviceSize(), exp.RecordSize())) == 0
    assert get_code(client, k, exp.Eq(exp.MemorySize(), 0)) == 0
    client.remove(k)


def test_a_hot_keys_last_update_time_stays_on_the_clock(client):
    """Overwrites within one millisecond keep it (Aerospike's rule): 5,000 increments of one key
    leave its last_update within a second of the client's clock, where each taking the old LUT + 1
    once ran a hot key's LUT a minute ahead."""
    import time
    from aerospike_helpers.operations import expression_operations as eo
    k = key("hot")
    client.put(k, {"n": 0})
    for _ in range(5000):
        client.operate(k, [ops.increment("n", 1)])
    _, meta, bins = client.operate(k, [eo.expression_read("lut", exp.LastUpdateTime().compile())])
    ahead_ms = (bins["lut"] - time.time_ns()) / 1e6
    assert meta["gen"] == 5001
    assert -1000 < ahead_ms < 1000, f"last_update {ahead_ms:.0f} ms from the clock after 5,000 increments"
    client.remove(k)


def test_expression_read_and_write_ops(client, record):
    from aerospike_helpers.operations import expression_operations as eo
    add10 = exp.Add(exp.IntBin("i"), 10).compile()
    _, _, bins = client.operate(record, [eo.expression_read("sum", add10)])
    assert bins == {"sum": 15}
    # A write stores the value; a later op sees it (ops apply in order).
    triple = exp.Mul(exp.IntBin("i"), 3).compile()
    _, _, bins = client.operate(record, [eo.expression_write("j", triple), ops.read("j")])
    assert bins["j"] == 15
    assert client.get(record)[2]["j"] == 15
    # Unknown (a missing bin) is 26, or nothing with EVAL_NO_FAIL.
    missing = exp.IntBin("missing").compile()
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [eo.expression_read("x", missing)])
    assert info.value.code == 26
    _, _, bins = client.operate(record, [eo.expression_read("x", missing, aerospike.EXP_READ_EVAL_NO_FAIL), ops.read("i")])
    assert bins.get("i") == 5 and bins.get("x") is None
    # Write policies: CREATE_ONLY on an existing bin 6, UPDATE_ONLY on a missing one 17.
    i = exp.IntBin("i").compile()
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [eo.expression_write("i", i, aerospike.EXP_WRITE_CREATE_ONLY)])
    assert info.value.code == 6
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [eo.expression_write("new", i, aerospike.EXP_WRITE_UPDATE_ONLY)])
    assert info.value.code == 17
    # A nil result deletes the bin only with ALLOW_DELETE.
    nil = exp.Cond(exp.Eq(exp.IntBin("i"), 5), None, None).compile()
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(record, [eo.expression_write("j", nil)])
    assert info.value.code == 26
    client.operate(record, [eo.expression_write("j", nil, aerospike.EXP_WRITE_ALLOW_DELETE)])
    assert "j" not in client.get(record)[2]
    # A bit call on a copy, written to another bin.
    client.operate(record, [eo.expression_write("b2", exp.BitNot(None, 0, 8, exp.BlobBin("b")).compile())])
    assert client.get(record)[2]["b2"] == bytearray([0xFE, 0x42, 3, 4, 5])


def test_batch_rows_are_filtered_one_by_one(client, record):
    other = key("other")
    client.put(other, {"i": 6})
    passing = exp.Eq(exp.IntBin("i"), 5).compile()
    result = client.batch_read([record, other], policy={"expressions": passing})
    assert [r.result for r in result.batch_records] == [0, 27]
    assert result.batch_records[0].record[2]["i"] == 5
    client.remove(other)


def test_scans_skip_records_filtered_out(client):
    keys = [("test", "expscan", f"r{n}") for n in range(6)]
    for n, k in enumerate(keys):
        client.put(k, {"n": n, "s": "x"})
    query = client.query("test", "expscan")
    query.select("n")
    records = query.results(policy={"expressions": exp.GE(exp.IntBin("n"), 3).compile()})
    assert sorted(bins["n"] for _, _, bins in records) == [3, 4, 5]
    assert all(set(bins) == {"n"} for _, _, bins in records)
    scanned = client.scan("test", "expscan").results(policy={"expressions": exp.Eq(exp.IntBin("n"), 1).compile()})
    assert [bins for _, _, bins in scanned] == [{"n": 1, "s": "x"}]
    for k in keys:
        client.remove(k)


def test_select_and_modify_by_path_inside_expressions(client):
    """SelectByPath / ModifyByPath expressions (a call of CDT command 0xfe): read in a filter and
    an expression read, applied in an expression write."""
    from aerospike_helpers import cdt_ctx
    from aerospike_helpers.expressions import arithmetic as arith
    from aerospike_helpers.operations import expression_operations as eo

    k = key("path")
    client.put(k, {"l": [1, 5, 3, 8]})
    big = cdt_ctx.cdt_ctx_all_children_with_filter(exp.GT(exp.LoopVarInt(aerospike.EXP_LOOPVAR_VALUE), 2).compile())
    picked = exp.SelectByPath([big], exp.ResultType.LIST, aerospike.EXP_PATH_SELECT_VALUE, exp.ListBin("l"))
    _, _, bins = client.operate(k, [eo.expression_read("picked", picked.compile())])
    assert bins["picked"] == [5, 3, 8]
    # In a filter: the record passes when three values are above 2, else 27.
    from aerospike_helpers.expressions import list as lexp
    assert get_code(client, k, exp.Eq(lexp.ListSize(None, picked), 3)) == 0
    assert get_code(client, k, exp.Eq(lexp.ListSize(None, picked), 4)) == 27
    # Apply in a write expression: each value above 2 times 10, stored in the bin.
    times10 = arith.Mul(exp.LoopVarInt(aerospike.EXP_LOOPVAR_VALUE), 10)
    applied = exp.ModifyByPath([big], exp.ResultType.LIST, times10.compile(), aerospike.EXP_PATH_MODIFY_DEFAULT, exp.ListBin("l"))
    client.operate(k, [eo.expression_write("l", applied.compile())])
    assert client.get(k)[2]["l"] == [1, 50, 30, 80]
    # An unknown filter without NO_FAIL makes the call unknown: the read answers 26.
    text = cdt_ctx.cdt_ctx_all_children_with_filter(exp.Eq(exp.LoopVarStr(aerospike.EXP_LOOPVAR_VALUE), "x").compile())
    unknown = exp.SelectByPath([text], exp.ResultType.LIST, aerospike.EXP_PATH_SELECT_VALUE, exp.ListBin("l"))
    with pytest.raises(ex.OpNotApplicable):
        client.operate(k, [eo.expression_read("u", unknown.compile())])
    no_fail = exp.SelectByPath([text], exp.ResultType.LIST,
                               aerospike.EXP_PATH_SELECT_VALUE | aerospike.EXP_PATH_SELECT_NO_FAIL, exp.ListBin("l"))
    assert client.operate(k, [eo.expression_read("u", no_fail.compile())])[2]["u"] == []
    client.remove(k)
