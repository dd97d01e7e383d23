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

"""direct_snapshot() of nova's ``Rbd`` image backend, store-aware.

Into a store on the disk's own cluster it clones and flattens (into the
store's pool); into another cluster's or a non-rbd store it declines and
nova streams; a Ceph step that fails leaves nothing behind. The CLI's
``check`` tells the same of each store beforehand.
"""

import os

import pytest

from localenv import ceph as ceph_env
from nova_glance_multistore import rbd_steps
from tests.functional.ceph_helpers import pool_state
from tests.functional.ceph_helpers import read_image
from tests.functional.ceph_helpers import snap_of
from tests.functional.ceph_helpers import wait_active

pytestmark = pytest.mark.usefixtures('real_ceph')


def test_same_cluster_clones_into_target_store_pool(
        clusters, ceph_glance, rbd_disk, backend_disk):
    c0, c1 = clusters
    _, name, content = rbd_disk
    image_id, url = backend_disk().snapshot('ceph0snap')
    assert url == 'rbd://%s/snapshots/%s/snap' % (c0.fsid, image_id)
    state = pool_state(c0)
    assert state['snapshots'] == {image_id: ['snap']}
    assert state['vms'][name] == []  # the source snapshot is gone
    assert state['images'] == {}
    data, _ = read_image(c0, 'snapshots', image_id, len(content), 'snap')
    assert data == content
    protected, parent = snap_of(c0, 'snapshots', image_id)
    assert protected
    assert parent is None  # flattened: no parent
    # What nova does next: register the location; Glance files it under
    # the store whose fsid and pool match. (Adding an rbd location takes
    # the service role.)
    status, body = ceph_glance.request(
        'POST', '/v2/images/%s/locations' % image_id, {'url': url},
        headers={'X-Service-Roles': 'service'})
    assert status == 202, (status, body)  # async: a task adds it
    image = wait_active(ceph_glance, image_id)
    assert image['stores'] == 'ceph0snap'
    assert image['size'] == len(content)


def test_mapping_from_config_when_detail_is_not_readable(
        rbd_compute, clusters, ceph_glance, backend_disk):
    c0, _ = clusters
    status, _ = ceph_glance.request('GET', '/v2/info/stores/detail',
                                    token='roles:member,reader')
    assert status == 403
    backend = backend_disk(token='roles:member,reader')
    with pytest.raises(NotImplementedError):
        backend.snapshot('ceph0snap')
    rbd_compute.set('glance_multistore', 'rbd_store_locations',
                    ['ceph0snap:%s:snapshots' % c0.fsid])
    image_id, url = backend.snapshot('ceph0snap')
    assert url == 'rbd://%s/snapshots/%s/snap' % (c0.fsid, image_id)
    assert pool_state(c0)['snapshots'][image_id] == ['snap']
    disk = backend.disk
    assert rbd_steps.remove_clone(disk.driver, c0.fsid, 'snapshots',
                                  image_id, disk._with.pending)
    assert image_id not in pool_state(c0)['snapshots']


@pytest.mark.parametrize('store', ['ceph1', 'fast'])
def test_other_cluster_or_non_rbd_store_streams(
        clusters, ceph_glance, backend_disk, store):
    c0, c1 = clusters
    before = (pool_state(c0), pool_state(c1))
    backend = backend_disk()
    with pytest.raises(NotImplementedError):  # nova then streams
        backend.snapshot(store)
    assert (pool_state(c0), pool_state(c1)) == before


def test_failed_ceph_step_leaves_nothing_behind(
        clusters, ceph_glance, backend_disk):
    from nova import exception as nova_exception
    c0, c1 = clusters
    before = pool_state(c0)
    # nova's cephx user may not write to pool "images": the clone fails.
    backend = backend_disk()
    with pytest.raises(nova_exception.ImageUnacceptable) as failed:
        backend.snapshot('ceph0')
    assert 'ceph-native snapshot failed' in str(failed.value)
    assert pool_state(c0) == before


def test_cli_check_reports_which_rbd_stores_can_be_fast_snapshotted(
        clusters, ceph_glance, tmp_path):
    import subprocess
    import sys
    c0, c1 = clusters
    conf = tmp_path / 'nova.conf'
    conf.write_text('\n'.join([
        '[glance]', 'endpoint_override = %s' % ceph_glance.url,
        '[libvirt]', 'images_type = rbd', 'images_rbd_pool = vms',
        'images_rbd_ceph_conf = %s' % c0.conf, 'rbd_user = nova', '']))
    env = dict(os.environ, PYTHONPATH=ceph_env.bindings_dir())
    done = subprocess.run(
        [sys.executable, '-m', 'nova_glance_multistore.cli',
         '--config-file', str(conf), 'check'], capture_output=True,
        text=True, timeout=120, env=env, cwd=str(tmp_path))
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'OK   instance disks are on Ceph cluster %s (pool vms, ' \
           'client.nova)' % c0.fsid in lines
    assert 'OK   rbd store ceph0snap: ceph-native snapshots into pool ' \
           'snapshots' in lines
    assert 'OK   rbd store ceph1 is on another cluster (%s): snapshots to ' \
           'it stream' % c1.fsid in lines
    fails = [line for line in lines if line.startswith('FAIL')]
    assert len(fails) == 1 and 'rbd store ceph0: pool images is not ' \
        'usable by client.nova' in fails[0], done.stdout
