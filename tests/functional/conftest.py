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

import contextlib
import logging
import os
import subprocess

import pytest

from localenv import ceph as ceph_env
from localenv import glance as glance_env
from localenv import http_recorder
from localenv import libvirt as libvirt_env
from localenv import nova_compute
from tests import figures
from tests.functional import realparts

# Debian's rados/rbd bindings must be importable before nova's rbd_utils
# is first imported (it records their absence at import time).
if ceph_env.missing_reason() is None:
    ceph_env.import_bindings()


def pytest_configure(config):
    """realparts' fixtures (``real_ceph``, ...) and strict-mode hooks."""
    if not config.pluginmanager.has_plugin('ngm-realparts'):
        config.pluginmanager.register(realparts, 'ngm-realparts')


STORE_ORDER = ['fast', 'cheap', 'archive', 'web']
WRITABLE = ['fast', 'cheap', 'archive']


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


class Guest:
    """A real running (or shut off) guest and the nova Instance for it."""

    def __init__(self, compute, libvirtd, image_ref, running=True,
                 task_state='image_snapshot', seed=None, size_mib=None):
        self.compute = compute
        self.libvirtd = libvirtd
        self.instance = compute.make_instance(image_ref,
                                              task_state=task_state)
        self.disk, self.content = libvirt_env.create_guest_disk(
            os.path.join(compute.instances_path, self.instance.uuid),
            os.path.join(compute.instances_path, '_base'),
            seed=seed or self.instance.uuid,
            **({'size_mib': size_mib} if size_mib else {}))
        libvirtd.define_guest(self.instance.name, self.instance.uuid,
                              self.disk, running)

    @property
    def state(self):
        return libvirt_env.guest_state(self.libvirtd.uri, self.instance.name)

    def snapshot(self, kind='snapshot', on_task_state=None):
        """nova-api's queued image, then the driver's snapshot(); image id."""
        task_state = {'snapshot': 'image_snapshot',
                      'backup': 'image_backup',
                      'shelve': 'shelving'}[kind]
        self.instance.task_state = task_state
        ctxt = self.compute.context()
        image_id = self.compute.create_queued_image(ctxt, self.instance,
                                                    kind)
        self.last_image_id = image_id
        self.compute.snapshot(ctxt, self.instance, image_id, on_task_state)
        return image_id


@pytest.fixture
def boot(compute, libvirtd):
    def _boot(image_ref, running=True, **kwargs):
        return Guest(compute, libvirtd, image_ref, running, **kwargs)
    return _boot


def base_image(glance, stores, size=4096):
    """An image whose data is in ``stores``.

    The first store gets it by upload, the others by Glance's copy-image
    import.
    """
    import time

    image = glance.create_image('base-in-%s' % '-'.join(stores),
                                os.urandom(size), store=stores[0])
    if len(stores) > 1:
        status, body = glance.request(
            'POST', '/v2/images/%s/import' % image['id'],
            {'method': {'name': 'copy-image'}, 'stores': stores[1:]})
        assert status == 202, (status, body)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            image = glance.image(image['id'])
            if set(stores) <= set(image['stores'].split(',')):
                break
            time.sleep(0.2)
        else:
            raise AssertionError('copy-image did not finish: %s' % image)
    return image


def image_raw_content(glance, image_id, workdir):
    """The guest-visible bytes of an image (converted to raw)."""
    data = glance.image_data(image_id)
    src = os.path.join(workdir, '%s.img' % image_id)
    raw = src + '.raw'
    with open(src, 'wb') as handle:
        handle.write(data)
    subprocess.run(['qemu-img', 'convert', '-O', 'raw', src, raw],
                   check=True)
    with open(raw, 'rb') as handle:
        content = handle.read()
    os.unlink(src)
    os.unlink(raw)
    return data, content


@contextlib.contextmanager
def compute_on_glance(compute, glance):
    """The compute host asking ``glance`` (one with stores of its own).

    Afterwards back to the session's Glance: a fresh driver on the default
    configuration (clearing the override would leave none at all).
    """
    key = ('glance', 'api_servers')
    compute.overrides[key] = [glance.url]
    compute.start()
    try:
        yield compute
    finally:
        del compute.overrides[key]
        compute.start()


def snapshot_into(compute, glance, libvirtd, kind, store, size_mib=None,
                  base_store='reliable'):
    """A real guest's ``kind`` image sent to ``store``: (guest, image id).

    The guest is booted from an image in ``base_store``; ``[glance]
    store`` is reset after each test (``_reset_overrides``).
    """
    base = glance.create_image('base', os.urandom(4096), store=base_store)
    compute.set('glance', 'store', store)
    guest = Guest(compute, libvirtd, base['id'], running=kind != 'shelve',
                  size_mib=size_mib)
    try:
        image_id = guest.snapshot(kind)
    finally:
        libvirtd.remove_guest(guest.instance.name)
    glance.delete_image(base['id'])
    return guest, image_id


def assert_guest_bytes(glance, image_id, guest, workdir):
    """Glance reads back the guest's disk (raw or qcow2); its record.

    Compared a MiB at a time: snapshots of a GiB and more stay cheap.
    """
    image = glance.image(image_id)
    data, content = image_raw_content(glance, image_id, workdir)
    assert image['size'] == len(data) > 0
    view = memoryview(content)
    assert view[:len(guest.content)] == guest.content
    zeros = bytes(1 << 20)
    for start in range(len(guest.content), len(view), len(zeros)):
        chunk = view[start:start + len(zeros)]
        assert chunk == zeros[:len(chunk)], 'non-zero bytes at %d' % start
    return image


def assert_landed(glance, image_id, store, guest=None, workdir=None):
    """Glance says: active, in exactly ``store``, data of the guest disk."""
    image = glance.image(image_id)
    assert image['status'] == 'active', image
    assert image['stores'] == store, image
    if store in WRITABLE:
        assert image_id in glance.store_files(store)
    if guest is not None:
        data, content = image_raw_content(glance, image_id, workdir)
        assert image['size'] == len(data) > 0
        assert content[:len(guest.content)] == guest.content
        assert not content[len(guest.content):].strip(b'\0')
    return image


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


@contextlib.contextmanager
def debug_logging(caplog, *names):
    """DEBUG on the root logger and ``names``, captured by ``caplog``.

    oslo.log quiets keystoneauth, glanceclient and others by default; a
    leaked secret would hide there, so a scan must lift that.
    """
    loggers = [logging.getLogger(name) for name in ('',) + names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG):
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
