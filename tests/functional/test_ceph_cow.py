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

"""Copy-on-write ceph-native snapshots, with real Ceph, nova and QEMU.

One throwaway cluster as a deployment has it: instance disks in ``vms``
(nova's clones, format 1, of a base image in Glance's rbd store
``cowimages`` on pool ``images``) and snapshots into store ``cowsnap`` on
pool ``snapshots``. nova's cephx user has ``rbd_move_parent_to_trash_on_remove
= true`` from the mon (``ceph config set client.nova``). Every nova step is
nova's own code (snapshot, clone, flatten, resize snapshots, instance
delete) and every Glance step Glance's (upload, download, delete through
glance_store); each test asserts from Ceph (parents, trash, snapshots) and
from Glance, and ends with nothing left in any pool or trash.
"""

import os
import subprocess
import sys

import pytest

from localenv import ceph as ceph_env
from nova_glance_multistore import rbd_cow
from tests.functional.ceph_cow_world import assert_nothing_left
from tests.functional.ceph_cow_world import images
from tests.functional.ceph_cow_world import MIB
from tests.functional.ceph_cow_world import parent_of
from tests.functional.ceph_cow_world import rbd_info
from tests.functional.ceph_cow_world import read
from tests.functional.ceph_cow_world import snaps
from tests.functional.ceph_cow_world import World
from tests.functional.ceph_cow_world import write
from tests.functional.ceph_helpers import assert_stored
from tests.functional.ceph_helpers import rbd_compute_host
from tests.functional.ceph_helpers import rbd_glance

pytestmark = pytest.mark.usefixtures('real_ceph')

DISK = 8 * MIB
COW = {('glance', 'store'): 'cowsnap',
       ('glance_multistore', 'ceph_native_snapshot'): 'copy-on-write'}


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    cluster = ceph_env.CephCluster(
        str(tmp_path_factory.mktemp('ceph-cow')), 'cow')
    cluster.start()
    for pool in ('vms', 'images', 'snapshots'):
        cluster.create_pool(pool)
    caps = {'mon': 'profile rbd', 'osd': 'profile rbd pool=vms, '
                                         'profile rbd pool=images, '
                                         'profile rbd pool=snapshots'}
    # Glance writes to the instance pool too: deleting the last image that
    # depends on a deleted disk purges that disk from the trash.
    cluster.create_user('glance', caps)
    cluster.create_user('nova', caps)
    cluster.config_set('client.nova', 'rbd_move_parent_to_trash_on_remove',
                       'true')
    yield cluster
    cluster.stop()


@pytest.fixture(scope='module')
def cow_glance(cluster, tmp_path_factory):
    server = rbd_glance(str(tmp_path_factory.mktemp('cow-glance')), [
        ('cowimages', cluster, 'images'), ('cowsnap', cluster, 'snapshots')])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def base_image(cow_glance):
    """A flat raw image in store ``cowimages``, as operators upload one."""
    content = os.urandom(DISK)
    image = cow_glance.create_image('cow-base', content, store='cowimages')
    yield image['id'], content
    cow_glance.delete_image(image['id'])


@pytest.fixture
def cow_compute(compute, cluster, cow_glance):
    with rbd_compute_host(compute, cluster, cow_glance.url, COW) as host:
        yield host


@pytest.fixture
def world(cow_compute, cluster, cow_glance, libvirtd, base_image):
    made = World(cow_compute, cluster, cow_glance, libvirtd)
    try:
        yield made
    finally:
        made.clean()


def test_copy_on_write_snapshot_copies_no_byte_and_keeps_its_bytes(
        world, cluster, cow_glance, base_image, caplog):
    instance, disk, content = world.boot(base_image[0], 'images')
    with caplog.at_level('INFO', 'nova_glance_multistore'):
        image_id = world.snapshot(instance)
    assert_stored(cow_glance, image_id, 'cowsnap', content)
    # A format 2 clone of the disk: the disk's snapshot waits in the
    # trash namespace, no user snapshot is left on the disk.
    assert parent_of(cluster, 'snapshots', image_id) == ('vms', disk, False)
    assert 'clone-child' in rbd_info(cluster, 'snapshots',
                                     image_id)['op_features']
    assert snaps(cluster, 'vms', disk) == ([], 1)
    assert snaps(cluster, 'snapshots', image_id) == (['snap'], 0)
    assert 'of store cowsnap (copy-on-write, location from' in caplog.text
    # No byte was copied: the clone holds no object of its own.
    assert sum(i['used_size'] for i in cluster.rbd(
        'du', 'snapshots/%s' % image_id)['images']) == 0
    # The guest writes on: the snapshot keeps the disk at snapshot time.
    write(cluster, 'vms', disk, 0, os.urandom(DISK))
    assert read(cluster, 'vms', disk) != content
    assert cow_glance.image_data(image_id) == content
    world.clean()
    assert_nothing_left(cluster)


def test_deleting_the_instance_trashes_its_disk_until_the_image_goes(
        world, cluster, cow_glance, base_image):
    instance, disk, content = world.boot(base_image[0], 'images')
    image_id = world.snapshot(instance)
    world.delete_instance(instance)
    assert disk not in images(cluster, 'vms')
    assert cluster.trash('vms') == {disk: 'USER_PARENT'}
    assert parent_of(cluster, 'snapshots', image_id) == ('vms', disk, True)
    assert cow_glance.image_data(image_id) == content
    assert world.delete_image(image_id) == 204
    cow_glance.assert_image_gone(image_id)
    assert_nothing_left(cluster)


def test_deleting_the_image_first_leaves_the_disk_whole(
        world, cluster, cow_glance, base_image):
    instance, disk, content = world.boot(base_image[0], 'images')
    image_id = world.snapshot(instance)
    assert world.delete_image(image_id) == 204
    assert images(cluster, 'snapshots') == []
    assert snaps(cluster, 'vms', disk) == ([], 0)  # trash snapshot gone
    assert read(cluster, 'vms', disk) == content
    world.delete_instance(instance)
    assert_nothing_left(cluster)


def test_an_instance_booted_from_the_snapshot_outlives_its_source(
        world, cluster, cow_glance, base_image, libvirtd):
    from localenv import libvirt as libvirt_env
    source, _disk, content = world.boot(base_image[0], 'images')
    image_id = world.snapshot(source)
    booted, booted_disk, _ = world.boot(image_id, 'snapshots',
                                        guest_writes=0)
    assert parent_of(cluster, 'vms', booted_disk) == (
        'snapshots', image_id, False)
    world.delete_instance(source)
    assert libvirt_env.guest_state(libvirtd.uri, booted.name) == 'running'
    assert read(cluster, 'vms', booted_disk) == content
    # nova's clone is format 1: Glance refuses to delete an image in use.
    assert world.delete_image(image_id) == 409
    assert cow_glance.image_data(image_id) == content
    world.delete_instance(booted)
    assert world.delete_image(image_id) == 204
    assert_nothing_left(cluster)


def test_resize_revert_and_confirm_of_the_source_keep_the_snapshot(
        world, cluster, cow_glance, base_image):
    from nova.virt.libvirt import imagebackend
    instance, disk, content = world.boot(base_image[0], 'images')
    image_id = world.snapshot(instance)
    backend = imagebackend.Backend(False).by_name(instance, 'disk', 'rbd')
    # Resize, then revert (nova's order: snapshot, grow, roll back).
    backend.create_snap('nova-resize')
    backend.resize_image(DISK * 2)
    write(cluster, 'vms', disk, DISK, os.urandom(MIB))
    backend.rollback_to_snap('nova-resize')
    backend.remove_snap('nova-resize')
    assert read(cluster, 'vms', disk) == content
    # Resize, then confirm: the resize snapshot goes.
    backend.create_snap('nova-resize')
    backend.resize_image(DISK * 2)
    backend.remove_snap('nova-resize', ignore_errors=True)
    assert snaps(cluster, 'vms', disk) == ([], 1)
    assert cow_glance.image_data(image_id) == content
    world.clean()
    assert_nothing_left(cluster)


def test_nova_own_direct_snapshot_and_a_second_snapshot_of_the_disk(
        world, cluster, cow_glance, base_image, cow_compute):
    from nova.virt.libvirt import imagebackend
    instance, disk, content = world.boot(base_image[0], 'images')
    first = world.snapshot(instance)
    write(cluster, 'vms', disk, 0, os.urandom(MIB))
    later = read(cluster, 'vms', disk)
    second = world.snapshot(instance)
    assert snaps(cluster, 'vms', disk) == ([], 2)
    # nova's own direct snapshot (format 1 clone into the base image's
    # pool, flattened), as with our plugin not loaded.
    backend = imagebackend.Backend(False).by_name(instance, 'disk', 'rbd')
    ctxt = cow_compute.context()
    own = cow_glance.create_image('nova-own')['id']
    world.images.append(own)
    url = backend.direct_snapshot(ctxt, 'nova-own', 'raw', own,
                                  base_image[0])
    assert url == 'rbd://%s/images/%s/snap' % (cluster.fsid, own)
    assert read(cluster, 'images', own, 'snap') == later
    backend.cleanup_direct_snapshot({'url': url}, also_destroy_volume=True)
    assert cow_glance.image_data(first) == content
    assert cow_glance.image_data(second) == later
    world.delete_instance(instance)
    assert world.delete_image(first) == 204
    assert cluster.trash('vms') == {disk: 'USER_PARENT'}  # second holds it
    assert cow_glance.image_data(second) == later
    world.clean()
    assert_nothing_left(cluster)


def test_shelve_and_unshelve(world, cluster, cow_glance, base_image,
                             libvirtd):
    """nova's unshelve clones the shelve image, then flattens the disk."""
    from localenv import libvirt as libvirt_env
    from nova.virt.libvirt import imagebackend
    instance, disk, content = world.boot(base_image[0], 'images')
    image_id = world.snapshot(instance, kind='shelve')
    world.delete_instance(instance)  # shelve offload
    unshelved, new_disk, _ = world.boot(image_id, 'snapshots',
                                        guest_writes=0, running=False)
    backend = imagebackend.Backend(False).by_name(unshelved, 'disk', 'rbd')
    backend.flatten()  # _try_fetch_image_cache, SHELVED_OFFLOADED
    assert parent_of(cluster, 'vms', new_disk) is None
    libvirtd.define_rbd_guest(unshelved.name, unshelved.uuid,
                              'vms/%s' % new_disk, cluster.conf)
    assert libvirt_env.guest_state(libvirtd.uri,
                                   unshelved.name) == 'running'
    assert read(cluster, 'vms', new_disk) == content
    # The end of unshelve: nova deletes the shelve image.
    assert world.delete_image(image_id) == 204
    assert images(cluster, 'snapshots') == []
    assert cluster.trash('vms') == {}
    assert read(cluster, 'vms', new_disk) == content
    world.clean()
    assert_nothing_left(cluster)


def test_chain_deeper_than_the_limit_is_flattened_before_registering(
        world, cluster, cow_glance, base_image, cow_compute, caplog):
    source, _, _ = world.boot(base_image[0], 'images')
    first = world.snapshot(source)  # first -> disk -> base: depth 2
    booted, booted_disk, content = world.boot(first, 'snapshots')
    cow_compute.set('glance_multistore', 'copy_on_write_max_chain_depth', 4)
    deep = world.snapshot(booted)  # deep -> disk -> first -> disk -> base
    assert parent_of(cluster, 'snapshots', deep) == ('vms', booted_disk,
                                                     False)
    cow_compute.set('glance_multistore', 'copy_on_write_max_chain_depth', 3)
    with caplog.at_level('INFO', 'nova_glance_multistore'):
        flat = world.snapshot(booted)
    assert parent_of(cluster, 'snapshots', flat) is None
    assert 'chain of 4 images, more than' in caplog.text
    assert flat in caplog.text
    for image_id in (deep, flat):
        assert_stored(cow_glance, image_id, 'cowsnap', content)
    world.clean()
    assert_nothing_left(cluster)


def test_missing_trash_option_flattens_with_one_warning(
        world, cluster, cow_glance, base_image, caplog):
    instance, disk, content = world.boot(base_image[0], 'images')
    cluster.config_rm('client.nova', 'rbd_move_parent_to_trash_on_remove')
    try:
        with caplog.at_level('WARNING', 'nova_glance_multistore'):
            image_id = world.snapshot(instance)
    finally:
        cluster.config_set('client.nova',
                           'rbd_move_parent_to_trash_on_remove', 'true')
    warnings = [r for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1, caplog.text
    message = warnings[0].getMessage()
    assert image_id in message
    assert 'rbd_move_parent_to_trash_on_remove: false for client.nova' in \
        message and 'ceph config set client.nova' in message
    assert parent_of(cluster, 'snapshots', image_id) is None
    assert_stored(cow_glance, image_id, 'cowsnap', content)
    world.clean()
    assert_nothing_left(cluster)


def run_cli(tmp_path, cluster, glance, *args):
    conf = tmp_path / 'nova.conf'
    conf.write_text('\n'.join([
        '[glance]', 'endpoint_override = %s' % glance.url,
        '[libvirt]', 'images_type = rbd', 'images_rbd_pool = vms',
        'images_rbd_ceph_conf = %s' % cluster.conf, 'rbd_user = nova',
        '[glance_multistore]', 'ceph_native_snapshot = copy-on-write', '']))
    env = dict(os.environ, PYTHONPATH=ceph_env.bindings_dir())
    return subprocess.run(
        [sys.executable, '-m', 'nova_glance_multistore.cli',
         '--config-file', str(conf)] + list(args), capture_output=True,
        text=True, timeout=120, env=env, cwd=str(tmp_path))


def test_cli_lists_the_images_that_pin_deleted_disks(
        world, cluster, cow_glance, base_image, tmp_path):
    instance, disk, _ = world.boot(base_image[0], 'images')
    image_id = world.snapshot(instance)
    used = [i['used_size'] for i in cluster.rbd(
        'du', 'vms/%s' % disk)['images'] if not i.get('snapshot')]
    assert used[0] > 0  # the guest's write
    done = run_cli(tmp_path, cluster, cow_glance, 'pinned')
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'No snapshot image keeps a deleted instance disk' in done.stdout
    world.delete_instance(instance)
    done = run_cli(tmp_path, cluster, cow_glance, 'pinned')
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if image_id in line]
    assert len(rows) == 1 and 'cowsnap' in rows[0] and disk in rows[0] \
        and '%.1f MiB' % (used[0] / MIB) in rows[0], done.stdout
    assert '1 snapshot image(s) keep 1 deleted instance disk(s)' in \
        done.stdout
    world.clean()
    assert_nothing_left(cluster)


def test_cli_check_reports_the_mode_and_each_precondition(
        cluster, cow_glance, tmp_path):
    done = run_cli(tmp_path, cluster, cow_glance, 'check')
    lines = done.stdout.splitlines()
    assert 'OK   ceph-native snapshots: copy-on-write in force (chains of ' \
           'up to 4 images)' in lines, done.stdout
    for name in ('clone format 2', 'deep-flatten',
                 'rbd_move_parent_to_trash_on_remove'):
        assert any(line.startswith('OK   copy-on-write precondition %s:'
                                   % name) for line in lines), done.stdout
    cluster.config_rm('client.nova', 'rbd_move_parent_to_trash_on_remove')
    try:
        done = run_cli(tmp_path, cluster, cow_glance, 'check')
    finally:
        cluster.config_set('client.nova',
                           'rbd_move_parent_to_trash_on_remove', 'true')
    assert done.returncode == 1
    fails = [line for line in done.stdout.splitlines()
             if line.startswith('FAIL')]
    assert len(fails) == 2, done.stdout
    assert 'NOT in force' in fails[0]
    assert 'rbd_move_parent_to_trash_on_remove: false' in fails[1]


def test_preconditions_read_as_nova_sees_them(cluster, cow_compute):
    from nova.storage import rbd_utils
    checks = rbd_cow.check_preconditions(rbd_utils.RBDDriver())
    assert [(p.name, p.ok) for p in checks] == [
        ('clone format 2', True), ('deep-flatten', True),
        ('rbd_move_parent_to_trash_on_remove', True)]
    assert 'pacific' in checks[0].detail


def test_start_up_says_whether_copy_on_write_is_in_force(
        cow_compute, cluster, caplog):
    with caplog.at_level('INFO', 'nova_glance_multistore'):
        cow_compute.start()
    assert 'ceph-native snapshots: copy-on-write in force' in caplog.text
    assert not [r for r in caplog.records if r.levelname == 'WARNING' and
                r.name.startswith('nova_glance_multistore')], caplog.text
    caplog.clear()
    cluster.config_rm('client.nova', 'rbd_move_parent_to_trash_on_remove')
    try:
        with caplog.at_level('INFO', 'nova_glance_multistore'):
            cow_compute.start()
    finally:
        cluster.config_set('client.nova',
                           'rbd_move_parent_to_trash_on_remove', 'true')
    warnings = [r.getMessage() for r in caplog.records
                if r.levelname == 'WARNING' and
                r.name.startswith('nova_glance_multistore')]
    assert len(warnings) == 2, caplog.text
    assert 'configured but NOT in force' in warnings[0]
    assert ('precondition rbd_move_parent_to_trash_on_remove: false for '
            'client.nova') in warnings[1]
    assert 'flattened until it is fixed' in warnings[1]
