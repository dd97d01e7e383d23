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

"""nova's LibvirtDriver.snapshot() of a real QEMU guest on its rbd disk.

Into a store of the disk's cluster the snapshot is ceph-native (and a copy
to the other cluster is Glance's copy-image); into the other cluster's
store it streams, whatever kind of image nova makes.
"""

import logging

import pytest

from tests.functional.ceph_helpers import assert_only_the_image_left
from tests.functional.ceph_helpers import assert_stored
from tests.functional.ceph_helpers import pool_state
from tests.functional.ceph_helpers import read_image
from tests.functional.ceph_helpers import snap_of

pytestmark = pytest.mark.usefixtures('real_ceph')


def test_nova_snapshot_of_rbd_guest_is_ceph_native_into_target_store(
        clusters, ceph_glance, rbd_guest):
    c0, c1 = clusters
    image_id = rbd_guest.snapshot_into('ceph0snap')
    image = assert_stored(ceph_glance, image_id, 'ceph0snap',
                          rbd_guest.content)
    assert image['size'] == len(rbd_guest.content)
    assert_only_the_image_left(c0, image_id, rbd_guest.name)
    _, parent = snap_of(c0, 'snapshots', image_id)
    assert parent is None  # a flattened clone made by us
    assert rbd_guest.state == 'running'


def test_ceph_native_snapshot_copied_to_another_cluster_through_glance(
        rbd_compute, clusters, ceph_glance, rbd_guest, caplog):
    """The upload stays ceph-native; its copy to c1 is Glance's copy-image."""
    c0, c1 = clusters
    content = rbd_guest.content
    rbd_guest.instance.flavor.extra_specs = {
        'glance_multistore:copy_to_stores': 'ceph1'}
    with caplog.at_level(logging.INFO):
        image_id = rbd_guest.snapshot_into('ceph0snap')
        assert rbd_compute.driver._store_aware_uploads.copies.wait(120)
    assert any('ceph-native snapshot into pool snapshots' in r.getMessage()
               and image_id in r.getMessage() for r in caplog.records)
    image = ceph_glance.image(image_id)
    assert set(image['stores'].split(',')) == {'ceph0snap', 'ceph1'}, image
    data, _ = read_image(c1, 'images', image_id, len(content))
    assert data == content
    assert ceph_glance.image_data(image_id) == content


@pytest.mark.parametrize('kind', ['snapshot', 'backup', 'shelve'])
def test_other_cluster_target_streams_from_rbd_guest(
        clusters, ceph_glance, rbd_guest, kind):
    """The second site's rbd store: streamed, whole, and gone on delete."""
    c0, c1 = clusters
    before = pool_state(c0)
    before_c1 = pool_state(c1)['images']
    image_id = rbd_guest.snapshot_into('ceph1', kind=kind)
    image = assert_stored(ceph_glance, image_id, 'ceph1', rbd_guest.content)
    assert image['image_type'] == ('backup' if kind == 'backup'
                                   else 'snapshot')
    assert pool_state(c0) == before
    assert pool_state(c1)['images'] == dict(before_c1, **{image_id: ['snap']})
    assert rbd_guest.state == 'running'
    ceph_glance.delete_image(image_id)
    ceph_glance.assert_image_gone(image_id)
    assert pool_state(c1)['images'] == before_c1
