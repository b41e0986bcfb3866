"""What survives kill -9 of a real cairnd, through the official client."""
import time

import pytest

from conftest import Daemon, connect, free_port


@pytest.mark.parametrize("commit_to_device", [False, True])
def test_kill9_keeps_what_the_durability_rules_promise(tmp_path, commit_to_device):
    # commit-to-device: every acknowledged write survives, kill at once (nothing may depend on a
    # timer). Without it: writes older than flush-max-ms (100 in the fixture config) survive, even
    # when no further write comes to fill the block (the flusher must not sleep until it fills).
    d = Daemon(str(tmp_path), free_port(), commit_to_device=commit_to_device)
    d.start()
    try:
        c = connect(d)
        keys = [("test", "kill9", i) for i in range(50)]
        for i, k in enumerate(keys):
            c.put(k, {"v": i})
        c.remove(keys[0], policy={"durable_delete": True})
        c.close()
        if not commit_to_device:
            time.sleep(1.0)  # ten flush-max-ms windows
        d.kill()
        d.start()
        c = connect(d)
        got = {r.key[2]: r.record[2]["v"] for r in c.batch_read(keys).batch_records
               if r.record is not None and r.record[2] is not None}
        assert got == {i: i for i in range(1, 50)}
        c.close()
    finally:
        d.stop()
        d.cleanup()
