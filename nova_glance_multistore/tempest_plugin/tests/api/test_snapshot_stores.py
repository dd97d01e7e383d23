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

"""Which Glance store nova's snapshot and backup images land in."""

from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_glance_multistore.tempest_plugin import store_info
from nova_glance_multistore.tempest_plugin.tests.api import base
from nova_glance_multistore.tempest_plugin.tests.api import rbd_checks

CONF = config.CONF


class BaseImageStoreSnapshotTest(base.MultistoreComputeTest):
    """No dedicated store: images follow the instance's base image."""

    skip_with_dedicated_store = True

    @decorators.idempotent_id('c1ba12eb-ee69-4d15-b867-c36b66ad9b10')
    def test_snapshot_lands_in_base_image_store(self):
        server = self.create_server()
        image = self.snapshot(server['id'])
        self.assertInStore(image, self.boot_store,
                           'the store of the base image %s'
                           % self.boot_image['id'])

    @decorators.idempotent_id('d315f2bc-5c19-4e99-adfa-040343f23b7a')
    def test_backup_lands_in_base_image_store(self):
        server = self.create_server()
        image = self.backup(server['id'])
        self.assertEqual('backup', image.get('image_type'))
        self.assertInStore(image, self.boot_store,
                           'the store of the base image %s'
                           % self.boot_image['id'])


class DedicatedStoreSnapshotTest(base.MultistoreComputeTest):
    """nova-compute's ``[glance] store`` receives every image."""

    required_options = (('dedicated_store',
                         'No dedicated snapshot store configured'),)

    @classmethod
    def skip_checks(cls):
        super(DedicatedStoreSnapshotTest, cls).skip_checks()
        cls.dedicated_store = CONF.nova_glance_multistore.dedicated_store
        # Boot from another store, so following the base image would fail.
        cls.avoid_boot_stores = (cls.dedicated_store,)

    @classmethod
    def check_stores(cls):
        try:
            store_info.check_target_store(cls.stores, cls.dedicated_store,
                                          'dedicated_store')
        except ValueError as exc:
            raise lib_exc.InvalidConfiguration(str(exc))

    def _assert_lands_in_dedicated_store(self, make_image):
        image = make_image(self.create_server()['id'])
        self.assertInStore(image, self.dedicated_store,
                           "nova-compute's [glance] store")

    @decorators.idempotent_id('2fa1a1a9-5417-473b-8d67-2b05516ed88f')
    def test_dedicated_store_snapshot(self):
        self._assert_lands_in_dedicated_store(self.snapshot)

    @decorators.idempotent_id('f25bd8a4-1c53-4aad-b98c-225c2f059503')
    def test_dedicated_store_backup(self):
        self._assert_lands_in_dedicated_store(self.backup)


class CephNativeSnapshotTest(rbd_checks.CephNativeChecksMixin,
                             base.MultistoreComputeTest):
    """rbd disks: the snapshot is an rbd clone filed under the target."""

    credentials = ['primary', 'admin']

    required_options = (('ceph_native', 'No ceph-native snapshots expected'),)

    @classmethod
    def resource_setup(cls):
        super(CephNativeSnapshotTest, cls).resource_setup()
        cls.target_store = (CONF.nova_glance_multistore.dedicated_store
                            or cls.boot_store)
        cls.target_pool = cls.rbd_store_pool(cls.target_store)

    @decorators.idempotent_id('fc7eb38b-503c-4cc4-9a14-166a9f540057')
    def test_snapshot_has_rbd_location_in_target_store(self):
        server = self.create_server()
        image = self.snapshot(server['id'])
        self.assertCephNative(image, self.target_store, self.target_pool)


class CopyOnWriteSnapshotTest(base.MultistoreComputeTest):
    """Copy-on-write: the image depends on the disk, and must not show it."""

    @classmethod
    def skip_checks(cls):
        super(CopyOnWriteSnapshotTest, cls).skip_checks()
        group = CONF.nova_glance_multistore
        if not group.ceph_native or group.ceph_native_snapshot != (
                'copy-on-write'):
            raise cls.skipException(
                'No copy-on-write snapshots expected ([nova_glance_multistore]'
                ' ceph_native = %s, ceph_native_snapshot = %s)' % (
                    group.ceph_native, group.ceph_native_snapshot))

    @decorators.idempotent_id('7230fa96-fb64-4f43-88b9-15b452bf2a65')
    def test_server_booted_from_snapshot_outlives_its_source(self):
        source = self.create_server()
        image = self.snapshot(source['id'])
        booted = self.create_server(image_id=image['id'])
        self.servers_client.delete_server(source['id'])
        waiters.wait_for_server_termination(self.servers_client,
                                            source['id'])
        server = self.servers_client.show_server(booted['id'])['server']
        self.assertEqual('ACTIVE', server['status'],
                         'Server %s booted from copy-on-write snapshot %s '
                         'did not outlive the source server %s' % (
                             booted['id'], image['id'], source['id']))
        # The image still reads what Glance hashed when it was registered,
        # though the disk it depends on is deleted.
        self.assertReadsWhatGlanceHashed(
            image['id'], 'after its source server %s was deleted'
            % source['id'])


class ObjectStoreSnapshotTest(base.BaseImageStoresTest):
    """S3 and Swift stores: the snapshot follows its base image in, whole."""

    stores_option = 'object_stores'
    store_types = ('s3', 'swift')

    @decorators.idempotent_id('0b9e3f38-5a3e-4c8e-9d0c-7f1b8c2e6a41')
    def test_snapshot_follows_base_image_into_each_object_store(self):
        for store in CONF.nova_glance_multistore.object_stores:
            self.snapshot_following_base_image(store)
