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

"""Snapshots into Glance cinder stores: a real Cinder 29 on Ceph RBD.

One throwaway Ceph cluster, MariaDB, RabbitMQ and Keystone for a real
Cinder (api, scheduler, volume) with two RBD backends and volume types
``glance-fast`` and ``glance-slow``, and a Glance 33 whose stores are the
seed's ``fast:cinder, slow:cinder`` beside ``reliable`` (file, Glance's
default). Glance writes the volumes through librbd in user space (os-brick's
RBD connector): this kernel has no device-mapper, SCSI, LIO or NVMe-oF, so
Cinder's LVM/iSCSI backends cannot run here (../shared/notes/cinder.md).
nova's real driver snapshots real guests into each store; the test reads
the bytes back from Glance, asks Cinder for the image's volume and its
type, deletes the image and finds the volume gone.
"""

import contextlib
import os
import re

import pytest

from localenv import ceph as ceph_env
from localenv import cinder as cinder_env
from localenv import glance as glance_env
from localenv import keystone as keystone_env
from localenv import mariadb as mariadb_env
from localenv import rabbitmq as rabbitmq_env
from tests.functional import guest_images as env

pytestmark = pytest.mark.usefixtures('real_cinder', 'real_libvirt')

VOLUME_TYPES = {'fast': 'glance-fast', 'slow': 'glance-slow'}


@pytest.fixture(scope='module')
def cinder(tmp_path_factory, real_keystone):
    base = tmp_path_factory.mktemp('cinder')
    cluster = ceph_env.CephCluster(str(base / 'ceph'), 'cinder', msgr1=True,
                                   mgr=True)
    os.makedirs(cluster.workdir)
    keystone = keystone_env.KeystoneServer(str(base / 'keystone'))
    database = mariadb_env.MariaDB(str(base / 'mariadb'))
    mq = rabbitmq_env.RabbitMQ(str(base / 'rabbitmq'))
    with contextlib.ExitStack() as stack:
        stack.enter_context(cluster)
        for service in (database, mq, keystone):
            stack.callback(service.stop)
            service.start()
        service = stack.enter_context(cinder_env.CinderService(
            str(base / 'cinder'), cluster, keystone, database, mq))
        assert os.path.exists(service.etc_keyring)
        yield service
    # os-brick's keyring was the only file outside the work directories.
    assert not os.path.exists(service.etc_keyring)


@pytest.fixture(scope='module')
def cinder_glance(cinder, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('cinder-glance'))
    server = glance_env.GlanceServer(workdir, stores=[
        glance_env.StoreSpec('reliable', 'file', 'file store (default)')] + [
        cinder_env.cinder_store(cinder, store, volume_type, workdir)
        for store, volume_type in VOLUME_TYPES.items()],
        default_store='reliable',
        extra_pythonpath=[ceph_env.bindings_dir()])
    server.extra_conf.update(cinder_env.privsep_extra_conf(
        server.venv, server.conf_path))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cinder_compute(compute, cinder_glance):
    """The compute host asking the Glance of cinder stores."""
    with env.compute_on_glance(compute, cinder_glance):
        yield compute


def image_volume(cinder, image_id):
    """The volume Glance wrote the image to (named image-<id>)."""
    found = [v for v in cinder.volumes() if v['name'] == 'image-' + image_id]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize('store,kind', [
    ('fast', 'snapshot'), ('fast', 'backup'), ('fast', 'shelve'),
    ('slow', 'snapshot')])
def test_image_lands_in_a_volume_of_the_stores_type_and_leaves_none(
        cinder_compute, cinder_glance, cinder, libvirtd, tmp_path, store,
        kind):
    guest, image_id = env.snapshot_into(cinder_compute, cinder_glance,
                                        libvirtd, kind, store)
    image = env.assert_guest_bytes(cinder_glance, image_id, guest,
                                   str(tmp_path))
    assert (image['status'], image['stores']) == ('active', store)
    volume = image_volume(cinder, image_id)
    assert volume['volume_type'] == VOLUME_TYPES[store]
    assert volume['metadata']['glance_image_id'] == image_id
    assert int(volume['metadata']['image_size']) == image['size']
    cinder_glance.delete_image(image_id)
    cinder_glance.assert_image_gone(image_id)
    cinder.wait_volume_gone(volume['id'])


def test_image_larger_than_a_gib_lands_whole_in_one_volume_of_its_size(
        cinder_compute, cinder_glance, cinder, libvirtd, tmp_path):
    """Sized, Glance makes the volume big enough at once.

    Unsized (nova's own framing), glance_store starts with 1 GiB and
    extends the volume offline for every further GiB it writes.
    """
    # A raw snapshot of a 1100 MiB disk (qcow2 would hold only the
    # written part).
    cinder_compute.set('libvirt', 'snapshot_image_format', 'raw')
    try:
        guest, image_id = env.snapshot_into(cinder_compute, cinder_glance,
                                            libvirtd, 'snapshot', 'slow',
                                            size_mib=1100)
    finally:
        cinder_compute.clear('libvirt', 'snapshot_image_format')
    image = env.assert_guest_bytes(cinder_glance, image_id, guest,
                                   str(tmp_path))
    assert (image['status'], image['stores']) == ('active', 'slow')
    assert image['size'] > 1 << 30
    volume = image_volume(cinder, image_id)
    assert volume['size'] == 2
    with open(cinder_glance.logfile, errors='replace') as handle:
        extended = [line for line in handle if re.search(
            r'Extending .*volume %s' % volume['id'], line)]
    assert not extended, extended
    cinder_glance.delete_image(image_id)
    cinder.wait_volume_gone(volume['id'])


def test_cli_shows_each_cinder_stores_volume_type_and_streams_into_it(
        cinder_glance, tmp_path):
    import subprocess
    import sys
    conf = tmp_path / 'nova.conf'
    conf.write_text('[glance]\nendpoint_override = %s\n' % cinder_glance.url)
    cli = [sys.executable, '-m', 'nova_glance_multistore.cli',
           '--config-file', str(conf)]
    done = subprocess.run(cli + ['stores', '--detail'], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split('|')[1].strip(): line
            for line in done.stdout.splitlines() if line.startswith('| ')}
    for store, volume_type in VOLUME_TYPES.items():
        assert 'cinder: volume type %s' % volume_type in rows[store]
    done = subprocess.run(cli + ['check'], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for store, volume_type in VOLUME_TYPES.items():
        assert ('OK   store %s (cinder: volume type %s): snapshots stream '
                'into it with their size' % (store, volume_type)
                ) in done.stdout.splitlines()


def test_devstack_plugin_configures_cinder_stores(cinder, tmp_path):
    """The plugin's post-config with Cinder enabled, and a real Glance.

    Glance stores into each cinder store, a volume of its type, gone with
    the image; tempest is told the cinder stores.
    """
    from localenv import devstack
    from tests.functional.test_devstack_plugin import oslo_sections
    from tests.functional.test_devstack_plugin import PluginDeployment
    keystone = cinder.keystone
    plugin = PluginDeployment(
        tmp_path, NGM_GLANCE_CINDER_STORES='tier1:glance-fast,'
                                           'tier2:glance-slow',
        SERVICE_PASSWORD=keystone.passwords['glance'],
        SERVICE_PROJECT_NAME='service',
        KEYSTONE_SERVICE_URI=keystone.url[:-len('/v3')])
    plugin.files.services += ('c-api', 'c-sch', 'c-vol')
    glance = plugin.glance
    glance.extra_pythonpath.append(ceph_env.bindings_dir())
    glance.extra_conf.update(cinder_env.privsep_extra_conf(
        glance.venv, glance.conf_path))
    glance.start()
    try:
        devstack.run_phase(plugin.files, 'stack', 'test-config')
        tempest = oslo_sections(plugin.files.tempest_config)
        assert tempest['nova_glance_multistore']['cinder_stores'] == [
            'tier1,tier2']
        data = os.urandom(3 << 20)
        for store, volume_type in (('tier1', 'glance-fast'),
                                   ('tier2', 'glance-slow')):
            image = glance.create_image('plugin-' + store, data, store=store)
            assert (image['status'], image['stores']) == ('active', store)
            assert glance.image_data(image['id']) == data
            volume = image_volume(cinder, image['id'])
            assert volume['volume_type'] == volume_type
            glance.delete_image(image['id'])
            glance.assert_image_gone(image['id'])
            cinder.wait_volume_gone(volume['id'])
    finally:
        glance.stop()


def test_devstack_plugin_leaves_cinder_stores_out_without_cinder(tmp_path):
    from tests.functional.test_devstack_plugin import oslo_sections
    from tests.functional.test_devstack_plugin import PluginDeployment
    plugin = PluginDeployment(tmp_path,
                              NGM_GLANCE_CINDER_STORES='tier1:glance-fast')
    os.makedirs(os.path.dirname(plugin.files.glance_api_conf), exist_ok=True)
    plugin.post_config()
    glance = oslo_sections(plugin.files.glance_api_conf)
    assert 'cinder' not in glance['DEFAULT']['enabled_backends'][0]
    assert 'tier1' not in glance
