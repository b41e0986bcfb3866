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


def test_geo_queries_and_one_answer_per_matching_value(client):
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
    # Records whose list holds 3 or 4: record 3 (3, 4) twice, records 2 (3) and 4 (4) once.
    q = client.query(NS, "sigeo")
    q.where(p.range("l", aerospike.INDEX_TYPE_LIST, 3, 4))
    assert keys_of(q.results()) == [2, 3, 3, 4]
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
