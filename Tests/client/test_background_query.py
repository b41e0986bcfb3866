"""Background queries with write operations (`execute_background` with ops) through the official
Python client: the job starts, is followed through `job_info` (query-show), updates exactly the
records the query and its filter select, never creates one, and can be aborted."""
import time

import aerospike
import pytest
from aerospike import exception as ex
from aerospike import predicates as p
from aerospike_helpers import expressions as exp
from aerospike_helpers.operations import operations as op

NS = "test"


def statistic(client, name):
    stats = client.info_random_node(f"namespace/{NS}").split("\t", 1)[1].strip()
    return int(dict(item.split("=", 1) for item in stats.split(";"))[name])


def fill(client, set_name, count=50):
    for i in range(count):
        client.put((NS, set_name, i), {"n": i, "tag": "even" if i % 2 == 0 else "odd"})


def wait_done(client, job_id, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = client.job_info(job_id, aerospike.JOB_QUERY)
        if info["status"] == aerospike.JOB_STATUS_COMPLETED:
            return info
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not done after {timeout} s: {info}")


def test_background_ops_update_every_record_of_the_set(client):
    fill(client, "bg1")
    client.put((NS, "bg1other", 1), {"n": 1})
    completed = statistic(client, "pi_query_ops_bg_complete")
    q = client.query(NS, "bg1")
    q.add_ops([op.write("done", 1), op.increment("n", 1000)])
    job_id = q.execute_background()
    info = wait_done(client, job_id)
    assert info["records_read"] == 50
    for i in range(50):
        _, _, bins = client.get((NS, "bg1", i))
        assert bins["done"] == 1 and bins["n"] == i + 1000
    _, _, other = client.get((NS, "bg1other", 1))
    assert "done" not in other, "a record of another set was updated"
    shown = client.info_random_node(f"query-show:trid={job_id}")
    assert f"trid={job_id}:ns=test:set=bg1:" in shown
    assert ":status=done(ok):" in shown and ":recs-succeeded=50:" in shown and ":job-type=background-ops:" in shown
    assert f"trid={job_id}:" in client.info_random_node("query-show")
    assert statistic(client, "pi_query_ops_bg_complete") == completed + 1


def test_background_ops_with_a_filter_and_an_index(client):
    fill(client, "bg2")
    q = client.query(NS, "bg2")
    q.add_ops([op.write("seen", "filtered")])
    policy = {"expressions": exp.Eq(exp.StrBin("tag"), "even").compile()}
    job_id = q.execute_background(policy)
    info = wait_done(client, job_id)
    assert info["records_read"] == 25
    shown = client.info_random_node(f"query-show:trid={job_id}")
    assert ":recs-filtered-bins=25:" in shown
    for i in range(50):
        _, _, bins = client.get((NS, "bg2", i))
        assert ("seen" in bins) == (i % 2 == 0)

    client.index_integer_create(NS, "bg2", "n", "bg2_n")
    q = client.query(NS, "bg2")
    q.where(p.between("n", 10, 19))
    q.add_ops([op.write("ranged", True)])
    indexed = statistic(client, "si_query_ops_bg_complete")
    job_id = q.execute_background()
    wait_done(client, job_id)
    assert statistic(client, "si_query_ops_bg_complete") == indexed + 1
    for i in range(50):
        _, _, bins = client.get((NS, "bg2", i))
        assert ("ranged" in bins) == (10 <= i <= 19)
    assert ":sindex-name=bg2_n:" in client.info_random_node(f"query-show:trid={job_id}")
    client.index_remove(NS, "bg2_n")


def test_background_ops_are_refused_as_aerospike_refuses_them(client):
    fill(client, "bg3", 3)
    q = client.query(NS, "bg3")
    q.add_ops([op.read("n")])  # a read op in a background query: PARAMETER
    with pytest.raises(ex.ParamError):
        q.execute_background()
    q = client.query(NS, "bg3never")  # a set never written: NOT_FOUND
    q.add_ops([op.write("x", 1)])
    with pytest.raises(ex.RecordNotFound):
        q.execute_background()
    # Info errors as Aerospike answers them (the client raises them by their code).
    with pytest.raises(ex.RecordNotFound, match="job not found"):
        client.info_random_node("query-show:trid=123456789")
    with pytest.raises(ex.InvalidRequest, match="bad id"):
        client.info_random_node("query-show:trid=zz")
    with pytest.raises(ex.RecordNotFound, match="id not active"):
        client.info_random_node("query-abort:trid=123456789")


def test_a_throttled_job_can_be_aborted(client):
    fill(client, "bg4", 200)
    q = client.query(NS, "bg4")
    q.add_ops([op.write("slow", 1)])
    q.records_per_second = 20  # 10 s for 200 records
    job_id = q.execute_background()
    time.sleep(0.5)
    shown = client.info_random_node(f"query-show:trid={job_id}")
    assert ":status=active(ok):" in shown and ":rps=20:" in shown
    assert client.info_random_node(f"query-abort:trid={job_id}").strip().endswith("\tok")
    info = wait_done(client, job_id, timeout=5)
    assert info["records_read"] < 200
    assert ":status=done(user-aborted):" in client.info_random_node(f"query-show:trid={job_id}")
    assert statistic(client, "pi_query_ops_bg_abort") >= 1
