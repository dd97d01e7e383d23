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

"""The ``service`` role Glance asks of an rbd location, and nova without it.

Without the role nova streams into the target store; with it, but refused
by Glance, its clone is removed and nova streams. Against a real Keystone
the role comes from nova's service token (``ks_compute``: sent or not),
for a plain project member.
"""

import pytest

from tests.functional.ceph_helpers import assert_only_the_image_left
from tests.functional.ceph_helpers import assert_stored
from tests.functional.ceph_helpers import CLONED
from tests.functional.ceph_helpers import demo_context
from tests.functional.ceph_helpers import stored_object_size
from tests.functional.ceph_helpers import STREAMED
from tests.functional.ceph_helpers import USER_TOKEN
from tests.functional.ceph_helpers import wait_active

pytestmark = pytest.mark.usefixtures('real_ceph')


def test_without_service_role_nova_streams_into_target_store(
        clusters, ceph_glance, rbd_guest):
    c0, _ = clusters
    image_id = rbd_guest.snapshot_into('ceph0snap', USER_TOKEN)
    assert_stored(ceph_glance, image_id, 'ceph0snap', rbd_guest.content)
    # Only Glance's own copy is in the pool; our clone was removed.
    assert_only_the_image_left(c0, image_id, rbd_guest.name)
    assert rbd_guest.state == 'running'


def test_glance_refusing_the_location_removes_the_clone_and_streams(
        rbd_compute, clusters, ceph_glance, rbd_guest):
    # nova believes it holds the service role, Glance does not agree: the
    # clone made in the target pool is removed and the disk is streamed.
    c0, _ = clusters
    rbd_compute.set('glance', 'store', 'ceph0snap')
    rbd_compute.set('glance_multistore', 'rbd_store_locations',
                    ['ceph0snap:%s:snapshots' % c0.fsid])
    ctxt = rbd_compute.context()
    ctxt.auth_token = USER_TOKEN
    ctxt.roles = ['member', 'reader', 'service']
    image_id = rbd_guest.snapshot(ctxt)
    assert_stored(ceph_glance, image_id, 'ceph0snap', rbd_guest.content)
    assert_only_the_image_left(c0, image_id, rbd_guest.name)
    assert stored_object_size(c0, 'snapshots', image_id) == STREAMED
    assert rbd_guest.state == 'running'


def test_keystone_service_token_gates_the_ceph_native_path(
        ks_compute, clusters, keystone, ks_glance, ks_guest):
    compute, service_token = ks_compute
    c0, _ = clusters
    ctxt = demo_context(compute, keystone)
    assert 'service' not in ctxt.roles
    image_id = ks_guest.snapshot(ctxt)
    admin_token, _ = keystone.token('admin', 'admin')
    image = assert_stored(ks_glance, image_id, 'ceph0snap', ks_guest.content,
                          token=admin_token)
    assert image['owner'] == ctxt.project_id
    assert_only_the_image_left(c0, image_id, ks_guest.name)
    assert stored_object_size(c0, 'snapshots', image_id) == (
        CLONED if service_token else STREAMED)
    assert ks_guest.state == 'running'


def test_store_detail_read_by_nova_service_user_for_a_member(
        ks_compute, clusters, keystone, ks_glance, ks_guest):
    """No ``rbd_store_locations``: a member may not read stores/detail.

    nova's service user reads it instead, so the store's cluster and pool
    are known; the snapshot is then ceph-native when nova sends its service
    token, and streamed when it does not (Glance refuses the location).
    """
    compute, service_token = ks_compute
    c0, _ = clusters
    compute.set('glance_multistore', 'rbd_store_locations', [])
    ctxt = demo_context(compute, keystone)
    status, _ = ks_glance.request('GET', '/v2/info/stores/detail',
                                  token=ctxt.auth_token)
    assert status == 403
    image_id = ks_guest.snapshot(ctxt)
    admin_token, _ = keystone.token('admin', 'admin')
    image = wait_active(ks_glance, image_id, token=admin_token)
    assert image['stores'] == 'ceph0snap'
    assert stored_object_size(c0, 'snapshots', image_id) == (
        CLONED if service_token else STREAMED)
