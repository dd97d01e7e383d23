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

"""What the functional tests do with guests and images.

A real guest and its nova Instance (``Guest``), base images in given
stores, a snapshot into a store, and the assertions on what Glance holds
afterwards; the services they run against are conftest.py's fixtures.
"""

import contextlib
import logging
import os
import subprocess
import time

from localenv import libvirt as libvirt_env
from localenv import nova_compute


STORE_ORDER = ['fast', 'cheap', 'archive', 'web']
WRITABLE = ['fast', 'cheap', 'archive']


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
        self.instance.task_state = nova_compute.TASK_STATES[kind]
        ctxt = self.compute.context()
        image_id = self.compute.create_queued_image(ctxt, self.instance,
                                                    kind)
        self.last_image_id = image_id
        self.compute.snapshot(ctxt, self.instance, image_id, on_task_state)
        return image_id


def base_image(glance, stores, size=4096):
    """An image whose data is in ``stores``.

    The first store gets it by upload, the others by Glance's copy-image
    import.
    """
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
