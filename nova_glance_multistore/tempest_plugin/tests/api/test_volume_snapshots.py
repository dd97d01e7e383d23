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

"""Cinder: images kept in cinder stores, and volume-backed servers."""

import json

from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_glance_multistore.tempest_plugin.tests.api import base

CONF = config.CONF


class CinderStoreSnapshotTest(base.BaseImageStoresTest):
    """Cinder stores: the snapshot follows its base image into a volume."""

    stores_option = 'cinder_stores'
    store_types = ('cinder',)

    required_services = ('cinder',)
    admin_clients = {'admin_volumes_client': 'volumes_client_latest'}

    @classmethod
    def check_stores(cls):
        cls.volume_types = {}
        super(CinderStoreSnapshotTest, cls).check_stores()

    @classmethod
    def check_store_entry(cls, store, entry):
        volume_type = (entry.get('properties') or {}).get('volume_type')
        if not volume_type:
            raise lib_exc.InvalidConfiguration(
                'cinder store %s has no volume type in Glance (stores/'
                'detail: %s)' % (store, entry))
        cls.volume_types[store] = volume_type

    def _image_volume(self, image_id):
        """The Cinder volume holding the image (Glance names it)."""
        volumes = self.admin_volumes_client.list_volumes(
            detail=True, params={'all_tenants': 1,
                                 'name': 'image-%s' % image_id})['volumes']
        self.assertEqual(1, len(volumes),
                         'Cinder holds %d volumes named image-%s: %s' % (
                             len(volumes), image_id, volumes))
        return volumes[0]

    def _assert_snapshot_in(self, store):
        image = self.snapshot_following_base_image(store)
        volume = self._image_volume(image['id'])
        self.assertEqual(self.volume_types[store], volume['volume_type'],
                         'Image %s of store %s is in volume %s of type %s'
                         % (image['id'], store, volume['id'],
                            volume['volume_type']))
        self.images_client.delete_image(image['id'])
        self.images_client.wait_for_resource_deletion(image['id'])
        self.admin_volumes_client.wait_for_resource_deletion(volume['id'])

    @decorators.idempotent_id('5eb2af2c-8d8f-43e4-b67b-47d76786d57e')
    def test_snapshot_follows_base_image_into_each_cinder_store(self):
        for store in CONF.nova_glance_multistore.cinder_stores:
            self._assert_snapshot_in(store)


class VolumeBackedSnapshotTest(base.MultistoreComputeTest):
    """nova-api snapshots volume-backed servers; the plugin is not asked."""

    required_services = ('cinder',)

    @decorators.idempotent_id('46ce160a-fae1-4b37-832e-061180f02d18')
    def test_volume_backed_snapshot_is_nova_apis_image_of_volume_snapshots(
            self):
        server = self.create_server(volume_backed=True)
        resp = self.compute_images_client.create_image(
            server['id'], name=server['name'] + '-snap')
        image_id = base.image_id_from_response(resp)
        self._track_image(image_id)
        waiters.wait_for_image_status(self.images_client, image_id,
                                      'active')
        image = self.images_client.show_image(image_id)
        self.cleanup_volume_snapshots(image)
        bdms = image.get('block_device_mapping')
        if isinstance(bdms, str):
            bdms = json.loads(bdms)
        self.assertTrue(
            [b for b in bdms or () if b.get('source_type') == 'snapshot'
             and b.get('snapshot_id')],
            'Image %s of volume-backed server %s maps no volume snapshot: '
            '%s' % (image_id, server['id'], bdms))
        self.assertFalse(image.get('size'),
                         'Image %s of volume-backed server %s holds %s '
                         'bytes: nova-compute uploaded data' % (
                             image_id, server['id'], image.get('size')))
