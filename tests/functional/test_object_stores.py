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

"""Snapshots into object stores: S3 and Swift on a real Ceph RGW.

One throwaway Ceph cluster with radosgw, a real Keystone for Swift's
tokens, and a Glance 33 whose stores are the deployment sample's: ``fast``
and ``cheap`` (S3, one RGW user and bucket each), ``swift-0`` (Swift), and
``reliable`` (file, Glance's default). nova's real driver snapshots real
guests into each; the test reads the bytes back from Glance and the
objects from RGW, deletes the image, runs RGW's garbage collection and
finds nothing left in RADOS.

Sizes are small on purpose: ``fast`` takes multipart from 1 MiB (so a
snapshot's etag ends in ``-<parts>`` only when Glance knew its size), and
``swift-0`` segments at 1 024 000 bytes, so a snapshot's last segment is
short: the size at which glance_store 5.7 hangs a sized upload.
"""

import contextlib
import math
import os

import pytest

from localenv import ceph as ceph_env
from localenv import glance as glance_env
from localenv import keystone as keystone_env
from localenv import rgw as rgw_env
from tests.functional import guest_images as env

pytestmark = pytest.mark.usefixtures('real_rgw', 'real_libvirt')

SWIFT_UNIT = 1024000  # glance_store's Swift size unit


@pytest.fixture(scope='module')
def gateway(tmp_path_factory, real_keystone):
    base = tmp_path_factory.mktemp('rgw')
    cluster = ceph_env.CephCluster(str(base / 'ceph'), 'rgw')
    os.makedirs(cluster.workdir)
    keystone = keystone_env.KeystoneServer(str(base / 'keystone'))
    with contextlib.ExitStack() as stack:
        stack.enter_context(cluster)
        stack.callback(keystone.stop)
        keystone.start()
        yield stack.enter_context(rgw_env.RadosGateway(cluster, keystone))


@pytest.fixture(scope='module')
def object_glance(gateway, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('object-glance'))
    server = glance_env.GlanceServer(workdir, stores=[
        glance_env.StoreSpec('reliable', 'file', 'file store (default)'),
        rgw_env.s3_store(gateway, 'fast', large_object_mib=1, chunk_mib=5),
        rgw_env.s3_store(gateway, 'cheap'),
        rgw_env.swift_store(gateway, workdir, 'swift-0',
                            large_object_size=1, chunk_size=1),
    ], default_store='reliable')
    server.start()
    yield server
    server.stop()


@pytest.fixture
def object_compute(compute, object_glance):
    """The compute host asking the Glance of object stores."""
    with env.compute_on_glance(compute, object_glance):
        yield compute


def _objects(gateway, store):
    """{object name: size} RGW holds for a store's bucket or container."""
    bucket = ('glance-%s' if store.startswith('swift') else
              'bucket-for-%s') % store
    return gateway.objects(bucket)


def _assert_gone_from_rgw(gateway, glance, image_id, store):
    glance.delete_image(image_id)
    glance.assert_image_gone(image_id)
    assert not [name for name in _objects(gateway, store)
                if name.startswith(image_id)]
    gateway.collect_garbage()
    assert not [name for name in gateway.rados_objects() if image_id in name]


@pytest.mark.parametrize('store', ['fast', 'cheap', 'swift-0'])
@pytest.mark.parametrize('kind', ['snapshot', 'backup', 'shelve'])
def test_image_lands_in_the_object_store_and_leaves_nothing(
        object_compute, object_glance, gateway, libvirtd, tmp_path, kind,
        store):
    guest, image_id = env.snapshot_into(object_compute, object_glance,
                                        libvirtd, kind, store)
    image = env.assert_guest_bytes(object_glance, image_id, guest,
                                   str(tmp_path))
    assert (image['status'], image['stores']) == ('active', store)
    size = image['size']
    objects = _objects(gateway, store)
    if store.startswith('swift'):
        # A manifest and its segments; together, the image.
        segments = {name: length for name, length in objects.items()
                    if name.startswith(image_id + '-')}
        assert objects.get(image_id) == 0, objects
        assert len(segments) == math.ceil(size / SWIFT_UNIT)
        assert sum(segments.values()) == size
    else:
        assert objects[image_id] == size
    _assert_gone_from_rgw(gateway, object_glance, image_id, store)


def test_s3_upload_carries_its_size_so_glance_uses_multipart(
        object_compute, object_glance, gateway, libvirtd):
    """Chunked (nova's framing), glance_store builds one object in memory.

    Sized, it uploads parts: the object's etag ends in ``-<parts>``.
    """
    _, image_id = env.snapshot_into(object_compute, object_glance,
                                    libvirtd, 'snapshot', 'fast')
    size = object_glance.image(image_id)['size']
    assert size > 1 << 20  # over fast's large_object_size
    etag = gateway.etags('bucket-for-fast')[image_id]
    assert etag.endswith('-%d' % math.ceil(size / (5 << 20))), etag
    _assert_gone_from_rgw(gateway, object_glance, image_id, 'fast')


def test_swift_upload_with_a_short_last_segment_does_not_hang(
        object_compute, object_glance, gateway, libvirtd):
    """A size over large_object_size, not a whole number of segments.

    Sized, glance_store 5.7 declares the short last segment full length
    and RGW waits for bytes that never come (Glance: 500 after ~67 s).
    """
    _, image_id = env.snapshot_into(object_compute, object_glance,
                                    libvirtd, 'snapshot', 'swift-0')
    size = object_glance.image(image_id)['size']
    assert size > SWIFT_UNIT and size % SWIFT_UNIT, size
    objects = _objects(gateway, 'swift-0')
    last = '%s-%05d' % (image_id, math.ceil(size / SWIFT_UNIT))
    assert objects[last] == size % SWIFT_UNIT
    _assert_gone_from_rgw(gateway, object_glance, image_id, 'swift-0')


def test_cli_describes_each_object_store_and_how_snapshots_reach_it(
        object_glance, tmp_path):
    import subprocess
    import sys
    conf = tmp_path / 'nova.conf'
    conf.write_text('[glance]\nendpoint_override = %s\n' % object_glance.url)
    cli = [sys.executable, '-m', 'nova_glance_multistore.cli',
           '--config-file', str(conf)]
    done = subprocess.run(cli + ['stores', '--detail'], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split('|')[1].strip(): line
            for line in done.stdout.splitlines() if line.startswith('| ')}
    assert 's3: multipart from 1 MiB in 5 MiB parts' in rows['fast']
    assert 's3: multipart from 5 MiB in 5 MiB parts' in rows['cheap']
    assert ('swift: container glance-swift-0, segments of 1024000 bytes '
            'from 1024000 bytes') in rows['swift-0']
    assert 'file: ' in rows['reliable']
    done = subprocess.run(cli + ['check'], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert ('OK   store swift-0 (swift): snapshots stream into it with '
            'their size, except sizes of at least 1024000 bytes ending in a '
            'short segment (glance_store 5.7 hangs those)') in lines
    assert ('OK   store fast (s3: multipart from 1 MiB in 5 MiB parts): '
            'snapshots stream into it with their size') in lines


def test_devstack_plugin_configures_s3_and_swift_stores(gateway, tmp_path):
    """The plugin's post-config, on devstack-plugin-ceph's cluster and RGW.

    An RGW user per S3 store (made by radosgw-admin), a Swift store as
    Glance's service user with its credentials in a 0600 file; a real
    Glance starts from what the plugin wrote and stores into both.
    """
    from tests.functional.test_devstack_plugin import PluginDeployment
    keystone = gateway.keystone
    keystone.user('glance', 'service', ['member'])
    plugin = PluginDeployment(
        tmp_path, NGM_GLANCE_RBD_STORES='',
        NGM_GLANCE_S3_STORES='objs3', NGM_GLANCE_SWIFT_STORES='objswift',
        NGM_S3_ENDPOINT=gateway.url, NGM_S3_LARGE_OBJECT_MIB=1,
        NGM_S3_CHUNK_MIB=5, NGM_SWIFT_LARGE_OBJECT_SIZE=1,
        NGM_SWIFT_CHUNK_SIZE=1, CEPH_CONF_FILE=gateway.cluster.conf,
        SERVICE_PASSWORD=keystone.passwords['glance'],
        SERVICE_PROJECT_NAME='service',
        KEYSTONE_SERVICE_URI=keystone.url[:-len('/v3')])
    plugin.files.plugins = ('devstack-plugin-ceph', 'nova-glance-multistore')
    glance = plugin.glance
    glance.start()
    try:
        refs = os.path.join(os.path.dirname(glance.conf_path),
                            'glance-swift-objswift.conf')
        assert os.stat(refs).st_mode & 0o777 == 0o600
        with open(glance.conf_path) as handle:
            assert keystone.passwords['glance'] not in handle.read()
        # Whole segments: Glance is told this size (Content-Length), and a
        # short last segment would hang glance_store (see the test above).
        data = os.urandom(3 * SWIFT_UNIT)
        for store, bucket in (('objs3', 'bucket'), ('objswift', 'swift')):
            image = glance.create_image('plugin-' + store, data, store=store)
            assert (image['status'], image['stores']) == ('active', store)
            assert glance.image_data(image['id']) == data
            objects = gateway.objects('glance-%s' % store)
            assert sum(size for name, size in objects.items()
                       if name.startswith(image['id'])) == len(data)
            glance.delete_image(image['id'])
            glance.assert_image_gone(image['id'])
            assert not gateway.objects('glance-%s' % store)
    finally:
        glance.stop()
