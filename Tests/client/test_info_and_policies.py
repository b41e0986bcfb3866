"""Info answers the C client's test harness needs, and Aerospike's answers to a few policies,
through the official Python client against a real cairnd."""
import aerospike
import pytest
from aerospike import exception as ex

NS = "test"


def info(client, command):
    answer = client.info_random_node(command)
    # "<command>\t<value>\n"
    return answer.split("\t", 1)[1].rstrip("\n") if "\t" in answer else answer.rstrip("\n")


@pytest.mark.parametrize("request_line", ["get-config:context=namespace;id=test",
                                          "get-config:context=namespace;namespace=test"])
def test_namespace_config_has_nsup_period(client, request_line):
    pairs = dict(p.split("=", 1) for p in info(client, request_line).split(";"))
    assert pairs["nsup-period"] == "120"


def test_help_and_features(client):
    commands = info(client, "help").split(";")
    assert "help" in commands and "get-config" in commands
    features = info(client, "features").split(";")
    for present in ("cdt-list", "cdt-map", "blob-bits", "hll", "geo", "sindex-exists", "udf"):
        assert present in features
    for missing in ("cdt-index",):
        assert missing not in features
    assert {"udf-put", "udf-get", "udf-list", "udf-remove"} <= set(commands)


def test_generation_policy_on_missing_record_is_not_found(client):
    k = (NS, "policies", "missing")
    with pytest.raises(ex.RecordNotFound):
        client.put(k, {"a": 1}, meta={"gen": 1}, policy={"gen": aerospike.POLICY_GEN_EQ})
    with pytest.raises(ex.RecordNotFound):
        client.put(k, {"a": 1}, meta={"gen": 0}, policy={"gen": aerospike.POLICY_GEN_GT})
    client.put(k, {"a": 1})
    client.put(k, {"a": 2}, meta={"gen": 1}, policy={"gen": aerospike.POLICY_GEN_EQ})
    client.remove(k)
