import json
import os
import subprocess
import sys

from novaweb.embedded_pg import _forget_dead_handles


def test_dead_processes_are_dropped_from_the_servers_handle_list(tmp_path):
    """A process killed without unregistering must not keep the embedded server running forever."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([dead.pid, os.getpid()]))
    _forget_dead_handles(tmp_path)
    assert json.loads(handles.read_text()) == [os.getpid()]
