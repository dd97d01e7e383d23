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

"""Ceph going wrong under the ceph-native path, and Ceph's secrets.

An OSD stopped after the clone is made (on a cluster of its own), a Ceph
step nova's cephx user may not take, and no cephx key in any log or error
on the way.
"""

import os

import pytest

from tests.functional.ceph_helpers import assert_stored
from tests.functional.ceph_helpers import pool_state
from tests.functional.ceph_helpers import SERVICE_TOKEN
from tests.functional.ceph_helpers import wait_active
from tests.functional import guest_images as env

pytestmark = pytest.mark.usefixtures('real_ceph')


def pending_entries(compute):
    import nova.conf
    from nova_glance_multistore import pending_cleanups as pc
    return pc.PendingCleanups(
        nova.conf.CONF.glance_multistore.pending_cleanups_file).entries()


def test_osd_stopped_during_ceph_native_path(
        fault_compute, fault_cluster, fault_guest, monkeypatch):
    """An OSD stopped after the clone is made.

    The snapshot fails with an error that says so (streaming would collide
    with the clone Ceph could not remove), no image is left in Glance, the
    guest runs on, and the clone and disk snapshot are recorded and removed
    once the OSD is back and nova-compute restarts; the next snapshot is
    ceph-native again.
    """
    from nova.storage import rbd_utils
    from nova_glance_multistore import exception
    cluster, glance = fault_cluster
    host, name = fault_compute, fault_guest.name
    real_flatten = rbd_utils.RBDDriver.flatten

    def flatten_with_osd_down(driver, volume, pool=None):
        cluster.stop_osd()
        return real_flatten(driver, volume, pool=pool)

    monkeypatch.setattr(rbd_utils.RBDDriver, 'flatten',
                        flatten_with_osd_down)
    ctxt = host.context()
    ctxt.auth_token = SERVICE_TOKEN
    ctxt.roles = ['member', 'reader', 'service']
    image_id = host.create_queued_image(ctxt, fault_guest.instance)
    with pytest.raises(exception.CephCloneLeftBehind) as failed:
        host.snapshot(ctxt, fault_guest.instance, image_id)
    monkeypatch.undo()
    message = str(failed.value)
    assert image_id in message and 'snapshots' in message
    assert 'timeout' in message.lower()
    glance.assert_image_gone(image_id)  # no orphan image
    assert fault_guest.state == 'running'
    recorded = pending_entries(host)
    assert sorted(entry['kind'] for _, entry in recorded) == [
        'rbd_clone', 'rbd_snapshot']
    assert all(entry['fsid'] == cluster.fsid for _, entry in recorded)

    cluster.start_osd()
    left = pool_state(cluster)
    assert image_id in left['snapshots']
    assert left['vms'][name] != []  # the disk snapshot, too
    host.start()  # a restarted nova-compute: init_host cleans up
    assert pending_entries(host) == []
    assert pool_state(cluster) == {'vms': {name: []}, 'snapshots': {}}

    image_id = fault_guest.snapshot(ctxt)
    assert_stored(glance, image_id, 'faultsnap', fault_guest.content)
    state = pool_state(cluster)
    assert state['snapshots'] == {image_id: ['snap']}
    assert state['vms'] == {name: []}


def cephx_secrets(cluster):
    """The base64 keys of every keyring of a cluster.

    Admin, nova, glance, mon and osd keys: none may ever be logged.
    """
    import glob
    secrets = []
    for path in glob.glob(os.path.join(cluster.workdir, '*.keyring')):
        with open(path) as handle:
            secrets += [line.split('=', 1)[1].strip() for line in handle
                        if line.strip().startswith('key')]
    return secrets


def test_ceph_keys_never_logged(rbd_compute, clusters, ceph_glance,
                                rbd_guest, backend_disk, caplog):
    """No cephx key in logs, nova-compute.log or errors.

    DEBUG everywhere, a ceph-native snapshot and a failing Ceph step.
    """
    from nova import exception as nova_exception
    c0, _ = clusters
    secrets = cephx_secrets(c0)
    assert len(secrets) >= 3  # admin, nova, glance (a vacuous scan fails)
    logfile = os.path.join(rbd_compute.workdir, 'nova-compute.log')
    offset = os.path.getsize(logfile) if os.path.exists(logfile) else 0
    with env.debug_logging(caplog, 'nova', 'nova.storage.rbd_utils',
                           'nova_glance_multistore', 'glanceclient',
                           'keystoneauth'):
        image_id = rbd_guest.snapshot_into('ceph0snap')
        # nova's cephx user may not write pool "images" (store ceph0).
        backend = backend_disk()
        with pytest.raises(nova_exception.ImageUnacceptable) as err:
            backend.snapshot('ceph0')
    assert wait_active(ceph_glance, image_id)['stores'] == 'ceph0snap'
    assert 'rbd' in caplog.text.lower()  # the Ceph steps were logged
    with open(logfile, errors='replace') as handle:
        handle.seek(offset)
        compute_log = handle.read()
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in compute_log
        assert secret not in str(err.value)
