"""pytest plugin that runs the official oss2 SDK's own test suite against oss-local.

`cargo xtask interop` downloads the oss2 source package from PyPI (its `tests/` are not
copied into this repository), sets the suite's OSS_TEST_* environment to a running
oss-local, and loads this plugin with `-p oss2_harness`. The plugin:

- deselects the tests listed in `excluded.txt` (each needs a cloud service oss-local
  cannot stand in for, and says which), and fails the run if an entry names no test of the
  collected files, so the list cannot go stale;
- refuses every connection to a host other than the loopback address, so no test can reach
  a real Alibaba Cloud endpoint (KMS, STS, another region) even if it is not excluded.
"""

import os
import socket

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOOPBACK:
        raise socket.gaierror(socket.EAI_NONAME, "oss2 harness: refusing to contact " + str(name))
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


def _excluded():
    """`path::Class::test  # reason` lines; blank lines and `#` comments are skipped."""
    entries = {}
    with open(os.path.join(_HERE, "excluded.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test_id, _, reason = line.partition("#")
            if not reason.strip():
                raise pytest.UsageError("excluded.txt: no reason given for " + test_id.strip())
            entries[test_id.strip()] = reason.strip()
    return entries


def pytest_collection_modifyitems(session, config, items):
    excluded = _excluded()
    collected_files = {item.nodeid.split("::")[0] for item in items}
    seen = set()
    kept, dropped = [], []
    for item in items:
        if item.nodeid in excluded:
            seen.add(item.nodeid)
            dropped.append(item)
        else:
            kept.append(item)
    stale = [t for t in excluded if t.split("::")[0] in collected_files and t not in seen]
    if stale:
        raise pytest.UsageError("excluded.txt names tests that do not exist: " + ", ".join(stale))
    items[:] = kept
    config.hook.pytest_deselected(items=dropped)
