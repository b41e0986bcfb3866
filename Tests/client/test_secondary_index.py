"""Secondary indexes through the official Python client: create, list, query, drop.

Cairn keeps the definitions and answers a query by walking the primary index, so a query
returns exactly the records the index would find (docs/data-model.md, "Secondary indexes")."""
import aerospike
import pytest
from aerospike import exception as ex
from aerospike import predicates as p

NS = "test"
SEND_KEY = {"key": aerospike.POLICY_KEY_SEND}


def fill(client, set_name):
    for i in range(20):
        client.put((NS, set_name, i), {
            "n": i, "s": f"v{i % 4}", "l": [i, i + 100, "x"],
            "m": {f"k{i}": i * 10, "common": "c"},
        }, policy=SEND_KEY)
    client.put((NS, set_name, 99), {"n": "not a number", "l": "not a list"}, policy=SEND_KEY)


def keys_of(records):
    return sorted(r[0][2] for r in records)


def test_create_query_and_drop(client):
    fill(client, "si")
    client.index_integer_create(NS, "si", "n", "si_n")
    client.index_string_create(NS, "si", "s", "si_s")
    client.index_list_create(NS, "si", "l", aerospike.INDEX_NUMERIC, "si_l")
    client.index_map_keys_create(NS, "si", "m", aerospike.INDEX_STRING, "si_mk")
    client.index_map_values_create(NS, "si", "m", aerospike.INDEX_NUMERIC, "si_mv")
    listed = client.info_random_node("sindex-list:ns=test")
    for name in ["si_n", "si_s", "si_l", "si_mk", "si_mv"]:
        assert f"indexname={name}:" in listed

    q = client.query(NS, "si")
    q.where(p.between("n", 5, 8))
    assert keys_of(q.results()) == [5, 6, 7, 8]

    q = client.query(NS, "si")
    q.select("s")
    q.where(p.equals("s", "v1"))
    records = q.results()
    assert keys_of(records) == [1, 5, 9, 13, 17]
    assert all(set(r[2]) == {"s"} for r in records)

    q = client.query(NS, "si")
    q.where(p.contains("l", aerospike.INDEX_TYPE_LIST, 103))
    assert keys_of(q.results()) == [3]

    q = client.query(NS, "si")
    q.where(p.contains("m", aerospike.INDEX_TYPE_MAPKEYS, "k7"))
    assert keys_of(q.results()) == [7]

    q = client.query(NS, "si")
    q.where(p.range("m", aerospike.INDEX_TYPE_MAPVALUES, 150, 180))
    assert keys_of(q.results()) == [15, 16, 17, 18]

    # A query with no index on its bin answers INDEX_NOT_FOUND, as Aerospike does.
    q = client.query(NS, "si")
    q.where(p.equals("nothing", 1))
    with pytest.raises(ex.IndexNotFound):
        q.results()

    for name in ["si_n", "si_s", "si_l", "si_mk", "si_mv"]:
        client.index_remove(NS, name)
    assert client.info_random_node("sindex-list:ns=test").strip() in ("sindex-list:ns=test", "")
    q = client.query(NS, "si")
    q.where(p.between("n", 5, 8))
    with pytest.raises(ex.IndexNotFound):
        q.results()


def test_same_name_other_definition_is_index_found(client):
    client.index_integer_create(NS, "si2", "a", "si2_a")
    client.index_integer_create(NS, "si2", "a", "si2_a")  # the same again: ok
    with pytest.raises(ex.IndexFoundError):
        client.index_string_create(NS, "si2", "b", "si2_a")
    client.index_remove(NS, "si2_a")


def test_geo_queries_and_one_answer_per_record(client):
    for i in range(10):
        client.put((NS, "sigeo", i), {
            "p": aerospike.GeoJSON({"type": "Point", "coordinates": [i * 0.1, 0]}),
            "l": [i, i, i + 1],  # i twice: one index entry; i and i + 1: two
        }, policy=SEND_KEY)
    client.index_geo2dsphere_create(NS, "sigeo", "p", "sigeo_p")
    client.index_list_create(NS, "sigeo", "l", aerospike.INDEX_NUMERIC, "sigeo_l")
    square = aerospike.GeoJSON({"type": "Polygon", "coordinates": [[[-0.05, -1], [0.35, -1], [0.35, 1], [-0.05, 1], [-0.05, -1]]]})
    q = client.query(NS, "sigeo")
    q.where(p.geo_within_geojson_region("p", square.dumps()))
    assert keys_of(q.results()) == [0, 1, 2, 3]
    # Records whose list holds 3 or 4: each once, record 3 (3 and 4) too, as Aerospike
    # de-duplicates a range on a collection index.
    q = client.query(NS, "sigeo")
    q.where(p.range("l", aerospike.INDEX_TYPE_LIST, 3, 4))
    assert keys_of(q.results()) == [2, 3, 4]
    # A GeoJSON bin Aerospike cannot read is refused on write (160).
    with pytest.raises(ex.AerospikeError) as e:
        client.put((NS, "sigeo", "bad"), {"p": aerospike.GeoJSON({"type": "point", "coordinates": [0, 0]})})
    assert e.value.code == 160
    client.index_remove(NS, "sigeo_p")
    client.index_remove(NS, "sigeo_l")


def test_definitions_survive_a_restart(daemon):
    from conftest import connect
    c = connect(daemon)
    c.put((NS, "sirestart", 1), {"n": 7}, policy=SEND_KEY)
    c.index_integer_create(NS, "sirestart", "n", "sirestart_n")
    c.close()
    assert daemon.stop() == 0
    daemon.start()
    c = connect(daemon)
    assert "indexname=sirestart_n:" in c.info_random_node("sindex-list:ns=test")
    q = c.query(NS, "sirestart")
    q.where(p.equals("n", 7))
    assert keys_of(q.results()) == [1]
    c.index_remove(NS, "sirestart_n")
    c.close()
    assert daemon.stop() == 0
    daemon.start()
    c = connect(daemon)
    assert "sirestart_n" not in c.info_random_node("sindex-list:ns=test")
    c.close()


def test_context_and_expression_index_queries(client):
    """A context index indexes what its context reaches; an expression index what its
    expression evaluates to; a query finds either by its context, its expression or its name."""
    from aerospike_helpers import cdt_ctx
    from aerospike_helpers.expressions import base as exp
    from aerospike_helpers.expressions import arithmetic as arith

    for i in range(10):
        client.put((NS, "ctxi", i), {"doc": {"scores": [i, i * 10]}, "a": i, "b": 3}, policy=SEND_KEY)
    client.put((NS, "ctxi", 50), {"doc": {"other": [1]}, "a": "text"}, policy=SEND_KEY)
    first = [cdt_ctx.cdt_ctx_map_key("scores"), cdt_ctx.cdt_ctx_list_index(1)]
    client.index_single_value_create(NS, "ctxi", "doc", aerospike.INDEX_NUMERIC, "ctxi_second", None, first)
    total = arith.Add(exp.IntBin("a"), exp.IntBin("b")).compile()
    client.index_expr_create(NS, "ctxi", aerospike.INDEX_TYPE_DEFAULT, aerospike.INDEX_NUMERIC, total, "ctxi_sum")

    q = client.query(NS, "ctxi")
    q.where(p.between("doc", 30, 60), first)
    assert keys_of(q.results()) == [3, 4, 5, 6]

    q = client.query(NS, "ctxi")
    q.where_with_expr(total, p.between(None, 5, 7))
    assert keys_of(q.results()) == [2, 3, 4]

    q = client.query(NS, "ctxi")
    q.where_with_index_name("ctxi_sum", p.equals(None, 12))
    assert keys_of(q.results()) == [9]

    q = client.query(NS, "ctxi")
    q.where_with_index_name("ctxi_second", p.equals(None, 90))
    assert keys_of(q.results()) == [9]

    # A context no index has, or an index name that does not exist: INDEX_NOT_FOUND.
    q = client.query(NS, "ctxi")
    q.where(p.between("doc", 30, 60), [cdt_ctx.cdt_ctx_map_key("scores"), cdt_ctx.cdt_ctx_list_index(0)])
    with pytest.raises(ex.IndexNotFound):
        q.results()
    q = client.query(NS, "ctxi")
    q.where_with_index_name("no_such_index", p.equals(None, 1))
    with pytest.raises(ex.IndexNotFound):
        q.results()

    # Without b64=true, sindex-list shows the context and expression as Aerospike 8.1 does.
    listed = client.info_random_node("sindex-list:ns=test")
    assert "indexname=ctxi_second:set=ctxi:bin=doc:type=numeric:indextype=default" \
        ":context=[[map_key(<string#6>), list_index(1)]:exp=null:state=RW" in listed
    assert "indexname=ctxi_sum:set=ctxi:bin=null:type=numeric:indextype=default" \
        ":context=null:exp=add(bin_int(\"a\"), bin_int(\"b\")):state=RW" in listed
    with_b64 = client.info_random_node("sindex-list:ns=test;b64=true")
    item = next(i for i in with_b64.split(";") if "indexname=ctxi_second:" in i)
    assert ":context=lCKnA3Njb3JlcxAB:" in item  # [0x22, "scores", 0x10, 1], base64
    client.index_remove(NS, "ctxi_second")
    client.index_remove(NS, "ctxi_sum")


def test_bad_index_context_is_parameter_error(client):
    import base64

    def create(context):
        with pytest.raises(ex.AerospikeError) as e:
            client.info_random_node(
                f"sindex-create:ns=test;set=ctxi;indexname=bad_ctx;bin=doc;type=numeric;context={context}")
        return e.value.code, e.value.msg

    # A map key type on a list level (0x12) is not a read context: 4.
    code, msg = create(base64.b64encode(bytes([0x92, 0x12, 0x01])).decode())
    assert code == 4 and "'context' invalid cdt context" in msg
    # Not the smallest msgpack forms (0xcc 0x10 for 16): 4, not normalized.
    code, msg = create(base64.b64encode(bytes([0x92, 0xcc, 0x10, 0x01])).decode())
    assert code == 4 and "'context' not normalized msgpack" in msg


def test_expression_index_checked_at_create_and_calls_displayed(client):
    """As Aerospike 8.1: an expression index whose expression does not build, reads no bin, or
    whose result type is not the index's is refused (4, bad 'exp'), nothing created; a call in an
    expression is listed as Aerospike's display writes it."""
    from aerospike_helpers.expressions import base as exp
    from aerospike_helpers.expressions import arithmetic as arith
    from aerospike_helpers.expressions import list as list_exp

    total = arith.Add(exp.IntBin("a"), exp.IntBin("b")).compile()
    with pytest.raises(ex.AerospikeError) as e:
        client.index_expr_create(NS, "expi", aerospike.INDEX_TYPE_DEFAULT, aerospike.INDEX_STRING, total, "expi_bad")
    assert e.value.code == 4
    assert "bad 'exp' - expression type 'numeric' does not match expected type 'string'" in e.value.msg
    with pytest.raises(ex.AerospikeError) as e:
        client.index_expr_create(NS, "expi", aerospike.INDEX_TYPE_DEFAULT, aerospike.INDEX_NUMERIC,
                                 exp.TTL().compile(), "expi_bad")
    assert e.value.code == 4 and "bad 'exp'" in e.value.msg
    assert "expi_bad" not in client.info_random_node("sindex-list:ns=test")

    size = list_exp.ListSize(None, exp.ListBin("l")).compile()
    client.index_expr_create(NS, "expi", aerospike.INDEX_TYPE_DEFAULT, aerospike.INDEX_NUMERIC, size, "expi_size")
    listed = client.info_random_node("sindex-list:ns=test")
    assert "indexname=expi_size:set=expi:bin=null:type=numeric:indextype=default" \
        ":context=null:exp=list_size(NULL, bin_list(\"l\")):state=RW" in listed
    client.index_remove(NS, "expi_size")
