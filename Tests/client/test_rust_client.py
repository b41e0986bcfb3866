"""The Rust-core client (aerospike-py) connects and does put/get/batch/scan against cairnd."""
import aerospike_py


def test_rust_core_client_put_get_batch_scan(daemon):
    c = aerospike_py.client({"hosts": [("127.0.0.1", daemon.port)]}).connect()
    try:
        for i in range(30):
            c.put(("test", "rust", f"k{i}"), {"i": i, "s": f"v{i}"})
        record = c.get(("test", "rust", "k3"))
        assert record.bins == {"i": 3, "s": "v3"}
        assert record.meta.gen == 1
        batch = c.batch_read([("test", "rust", "k1"), ("test", "rust", "missing"), ("test", "rust", "k2")])
        # Batch rows carry (key, meta, bins) tuples; a missing key has no bins.
        found = [r.record[2]["i"] for r in batch.batch_records if r.record is not None and r.record[2]]
        assert sorted(found) == [1, 2]
        scanned = c.query("test", "rust").results()
        assert sorted(r.bins["i"] for r in scanned) == list(range(30))
    finally:
        c.close()
