"""What survives kill -9 of a real cairnd, through the official client."""
import os
import signal
import time

import aerospike

from conftest import Daemon, connect, free_port


def kill9_and_restart(d):
    os.kill(d.process.pid, signal.SIGKILL)
    d.process.wait()
    d.process = None
    d.start()


def test_without_commit_to_device_writes_older_than_flush_max_ms_survive_kill9(tmp_path):
    # flush-max-ms is 100 in the fixture config: a partly filled block must reach the device
    # within it even when no further write comes (the flusher must not sleep until a block fills).
    d = Daemon(str(tmp_path), free_port(), commit_to_device=False)
    d.start()
    try:
        c = connect(d)
        keys = [("test", "kill9", i) for i in range(50)]
        for i, k in enumerate(keys):
            c.put(k, {"v": i})
        c.remove(keys[0], policy={"durable_delete": True})
        c.close()
        time.sleep(1.0)  # ten flush-max-ms windows
        kill9_and_restart(d)
        c = connect(d)
        got = {r.key[2]: r.record[2]["v"] for r in c.batch_read(keys).batch_records
               if r.record is not None and r.record[2] is not None}
        assert got == {i: i for i in range(1, 50)}
        c.close()
    finally:
        d.stop()


def test_with_commit_to_device_every_acknowledged_write_survives_kill9(tmp_path):
    d = Daemon(str(tmp_path), free_port(), commit_to_device=True)
    d.start()
    try:
        c = connect(d)
        keys = [("test", "kill9c", i) for i in range(50)]
        for i, k in enumerate(keys):
            c.put(k, {"v": i})
        c.remove(keys[0], policy={"durable_delete": True})
        c.close()
        kill9_and_restart(d)  # at once: nothing may depend on a timer
        c = connect(d)
        got = {r.key[2]: r.record[2]["v"] for r in c.batch_read(keys).batch_records
               if r.record is not None and r.record[2] is not None}
        assert got == {i: i for i in range(1, 50)}
        c.close()
    finally:
        d.stop()
