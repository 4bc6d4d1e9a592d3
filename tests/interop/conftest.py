"""Fixtures: the oss-local endpoint (started by `cargo xtask interop`, or here when run by
hand with OSS_LOCAL_BIN set) and one client per (SDK, signature version, addressing style)."""

import os
import subprocess

import pytest

from clients import AK, BUCKET, SK, SUFFIX, V2, Oss2

MATRIX = [(sdk, sig, style)
          for sdk in (V2, Oss2)
          for sig in ("v4", "v1")
          for style in ("path", "vhost")]


@pytest.fixture(scope="session")
def port():
    endpoint = os.environ.get("OSS_LOCAL_ENDPOINT")
    if endpoint:
        yield int(endpoint.rsplit(":", 1)[1])
        return
    binary = os.environ["OSS_LOCAL_BIN"]
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--access-key-id", AK, "--access-key-secret", SK,
         "--bucket", BUCKET, "--virtual-host-suffix", SUFFIX, "--no-fsync"],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on http://"), line
    yield int(line.rsplit(":", 1)[1])
    proc.kill()
    proc.wait()


@pytest.fixture(params=MATRIX, ids=lambda p: f"{p[0].sdk}-{p[1]}-{p[2]}")
def client(request, port):
    sdk, sig, style = request.param
    return sdk(port, sig, style)


@pytest.fixture
def make_client(request, port):
    """Builds a client like `client` but with other credentials or bucket."""
    def make(like, **kwargs):
        return type(like)(port, like.sig, like.style, **kwargs)
    return make


@pytest.fixture
def prefix(client, request):
    """A key prefix unique to this test and client, so tests never see each other."""
    return f"{request.node.name.split('[')[0]}/{client.sdk}-{client.sig}-{client.style}/"
