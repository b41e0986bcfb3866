"""The official Python client against both network I/O models (`network-io-model io_uring`, the
default, and `epoll`): single-record transactions served from memory and from the device,
commit-to-device writes, batches, scans, info, a clean stop and a warm restart."""
import os
import threading

import aerospike
import pytest
from aerospike_helpers import batch

from conftest import Daemon, device_storage, free_port

NS, SET = "test", "models"
# Generous timeouts: a loaded CI machine must not turn a slow answer into a failure; a request
# that is never answered still fails.
POLICIES = {"read": {"total_timeout": 20_000}, "write": {"total_timeout": 20_000},
            "batch": {"total_timeout": 20_000}, "scan": {"total_timeout": 60_000}}


def connect(port):
    return aerospike.client({"hosts": [("127.0.0.1", port)], "policies": POLICIES}).connect()


@pytest.mark.parametrize("model", ["io_uring", "epoll"])
def test_client_api_over_each_network_model(tmp_path, model):
    storage = device_storage(f"file {tmp_path}/test.dat\n        filesize 256M\n        post-write-cache 0", True)
    d = Daemon(str(tmp_path), free_port(), storage=storage, service_extra=f"network-io-model {model}")
    d.start()
    try:
        client = connect(d.port)
        try:
            config = dict(kv.split("=", 1) for kv in
                          client.info_all("get-config:context=service").popitem()[1][1].strip().split(";"))
            assert config["network-io-model"] == model
            value = bytearray(os.urandom(1500))
            for i in range(3000):
                client.put((NS, SET, i), {"v": value, "i": i})
            # Filler pushes the first records' blocks out of memory: their reads go to the device.
            for i in range(40):
                client.put((NS, "filler", i), {"b": bytearray(200_000)})
            before = client.info_all("namespace/test").popitem()[1][1]
            for i in range(0, 3000, 7):
                _, meta, bins = client.get((NS, SET, i))
                assert bins["i"] == i and bins["v"] == value and meta["gen"] == 1
            after = client.info_all("namespace/test").popitem()[1][1]
            reads = lambda text: int(dict(kv.split("=", 1) for kv in text.strip().split(";"))["device_record_reads"])
            assert reads(after) - reads(before) >= 400, (reads(before), reads(after))
            # Read-modify-write of device-resident records, from several threads at once.
            errors = []

            def updater(offset):
                try:
                    c = connect(d.port)
                    for i in range(offset, 3000, 16):
                        c.increment((NS, SET, i), "i", 1000)
                    c.close()
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))
            threads = [threading.Thread(target=updater, args=(k,)) for k in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            records = client.batch_read([(NS, SET, i) for i in range(0, 3000, 3)]).batch_records
            assert all(r.result == 0 and r.record[2]["i"] == r.key[2] + 1000 for r in records)
            seen = []
            client.scan(NS, SET).foreach(lambda rec: seen.append(rec[2]["i"]))
            assert sorted(seen) == [i + 1000 for i in range(3000)]
            client.remove((NS, SET, 5))
            assert client.exists((NS, SET, 5))[1] is None
        finally:
            client.close()
        assert d.stop() == 0, d.log_text()[-2000:]
        d.start()
        client = connect(d.port)
        try:
            assert client.get((NS, SET, 6))[2]["i"] == 1006
            assert client.exists((NS, SET, 5))[1] is None
        except Exception as e:
            raise AssertionError(f"after the restart: {e!r}\n{d.log_text()[-4000:]}") from e
        finally:
            client.close()
        assert "warm" in d.log_text().lower()
    finally:
        d.stop()
        d.cleanup()
