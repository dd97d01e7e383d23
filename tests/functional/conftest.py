# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The real services every functional test runs against.

One Glance 33 (several stores: ``fast`` is the default, ``cheap`` and
``archive`` are other file stores, ``web`` is a read-only http store), a
recording proxy in front of it, one libvirtd with real QEMU guests, and
nova's real compute driver code loaded as nova-compute loads it.
"""

import os

import pytest

from localenv import ceph as ceph_env
from localenv import glance as glance_env
from localenv import http_recorder
from localenv import libvirt as libvirt_env
from localenv import nova_compute
from tests import figures
from tests.functional import guest_images
from tests.functional import realparts

# Debian's rados/rbd bindings must be importable before nova's rbd_utils
# is first imported (it records their absence at import time).
if ceph_env.missing_reason() is None:
    ceph_env.import_bindings()


def pytest_configure(config):
    """realparts' fixtures (``real_ceph``, ...) and strict-mode hooks."""
    if not config.pluginmanager.has_plugin('ngm-realparts'):
        config.pluginmanager.register(realparts, 'ngm-realparts')


@pytest.fixture(scope='session')
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('ngm'))


@pytest.fixture(scope='session')
def glance(workdir, real_glance):
    server = glance_env.GlanceServer(os.path.join(workdir, 'glance'))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def proxy(glance):
    recorder = http_recorder.RecordingProxy(glance.url).start()
    yield recorder
    recorder.stop()


@pytest.fixture(scope='session')
def libvirtd(workdir, real_libvirt):
    daemon = libvirt_env.Libvirtd(os.path.join(workdir, 'libvirt'))
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope='session')
def compute_host(workdir, proxy):
    """nova's CONF and contexts on a compute host: no driver, no libvirtd.

    For the tests of nova's Glance client alone; ``compute`` is the same
    host with the driver started on a real libvirtd.
    """
    host = nova_compute.NovaCompute(
        os.path.join(workdir, 'nova'), proxy.url, None,
        libvirt_env.virt_type())
    host.configure()
    return host


@pytest.fixture(scope='session')
def compute(libvirtd, compute_host):
    host = compute_host
    host.libvirt_uri = libvirtd.uri
    host.start()
    yield host
    host.stop()


@pytest.fixture(autouse=True)
def _reset_overrides(request):
    """Each test starts with no [glance] store and the default policy."""
    yield
    if 'compute' in request.fixturenames:
        host = request.getfixturevalue('compute')
        host.set('glance', 'store', None)
        host.set('glance_multistore', 'on_unusable_store', 'refuse')
        for name in ('user_selectable_stores', 'copy_to_stores'):
            host.clear('glance_multistore', name)


@pytest.fixture(autouse=True)
def _remove_guests_made(request):
    """The guests a test defined go when it ends.

    Left running they kept spinning in their BIOS to the end of the run
    (45 QEMU processes at the last test, some 2% of a CPU each), and the
    session's teardown destroyed them one by one (166 s).
    """
    if 'libvirtd' not in request.fixturenames:
        yield
        return
    daemon = request.getfixturevalue('libvirtd')
    before = set(daemon.guests)
    yield
    for name in sorted(set(daemon.guests) - before):
        daemon.remove_guest(name)


@pytest.fixture(autouse=True)
def _fresh_proxy(request):
    """Each test starts with no queued fault and no record.

    It may leave no fault that no request met: the fault it meant was
    never tried.
    """
    if 'proxy' not in request.fixturenames:
        yield
        return
    recorder = request.getfixturevalue('proxy')
    recorder.reset()
    yield
    pending = recorder.pending_faults()
    recorder.reset()
    assert pending == 0, '%d injected faults were never met' % pending


def _running_glances():
    return [server for server in list(glance_env.GlanceServer.started)
            if server.process is not None]


def _unfinished_in_every_glance():
    """(url, id, name, status) of each unfinished image of every Glance.

    Every Glance started in this process: listed now if it runs, else as
    it was when it stopped.
    """
    left = []
    for server in list(glance_env.GlanceServer.started):
        if server.process is not None:
            found = server.unfinished_images()
        else:
            glance_env.GlanceServer.started.discard(server)
            found = server.left_at_stop
            if found is None:
                found = [('?', 'killed and never started again', '?')]
        left += [(server.url,) + tuple(entry) for entry in found]
    return left


def _delete_images_made_since(before):
    failed = []
    for server in _running_glances():
        for image in server.images():
            if image['id'] not in before.get(server, ()):
                status = server.delete_image(image['id'])
                if status != 204:
                    failed.append((server.url, image['id'], status))
    assert not failed, 'test images not deleted: %s' % failed


@pytest.fixture(autouse=True)
def _no_unfinished_images(request):
    """After every test, no Glance holds a queued or saving image.

    Every Glance this process started is looked at (tests start their
    own), and the images the test made are deleted afterwards, even when
    it failed.
    """
    before = {server: {i['id'] for i in server.images()}
              for server in _running_glances()}
    yield
    try:
        left = _unfinished_in_every_glance()
        figures.ORPHANS[request.node.nodeid] += len(left)
        assert not left, 'unfinished images left behind: %s' % left
    finally:
        _delete_images_made_since(before)


@pytest.fixture
def boot(compute, libvirtd):
    def _boot(image_ref, running=True, **kwargs):
        return guest_images.Guest(compute, libvirtd, image_ref, running,
                                  **kwargs)
    return _boot


@pytest.fixture(scope='session')
def web_server(workdir):
    """A loopback HTTP server holding image data for the http store."""
    import functools
    import http.server
    import threading

    root = os.path.join(workdir, 'web')
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'image.raw'), 'wb') as handle:
        handle.write(os.urandom(8192))
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def web_image(glance, web_server):
    """An image whose only location is in the read-only http store."""
    image = glance.create_image('base-in-web')
    status, body = glance.request(
        'POST', '/v2/images/%s/locations' % image['id'],
        {'url': web_server + '/image.raw'},
        headers={'X-Service-Roles': 'service'})
    assert status == 202, (status, body)  # async: a task adds it
    import time
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        image = glance.image(image['id'])
        if image['status'] == 'active':
            return image
        time.sleep(0.2)
    raise AssertionError('http image never became active: %s' % image)
