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

"""Base class: servers booted from an image the test put in a chosen store."""

import hashlib
import io
import json

from oslo_log import log as logging
from tempest.api.compute import base
from tempest.common import compute
from tempest.common import waiters
from tempest import config
from tempest.lib.common import api_version_utils
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils
from tempest.lib import exceptions as lib_exc

from nova_glance_multistore.tempest_plugin import store_info

CONF = config.CONF
LOG = logging.getLogger(__name__)

# The boot image: 1 MiB of zeros as a raw disk. The guest has no OS (it
# stays in the BIOS), which is all nova and libvirt need to reach ACTIVE
# and to snapshot the disk.
BOOT_IMAGE_BYTES = 1024 * 1024


class StoresClientMixin(object):
    """What every test class of the plugin shares.

    The class-level skips (plugin or Glance not available, or what the
    class declares it needs: ``required_services``, ``required_options``;
    with ``skip_with_dedicated_store``, a dedicated store configured) and
    the clients: ``stores_client``, the plugin's image-stores client for
    the primary user, and with ``admin`` credentials
    ``admin_stores_client`` and the ``admin_clients`` the class names.
    Put it first among the bases so its ``super()`` calls reach tempest's.
    """

    # Tests of where images go when nova-compute has no [glance] store.
    skip_with_dedicated_store = False
    # [service_available] options the class needs besides the plugin's.
    required_services = ()
    # ([nova_glance_multistore] option, what is missing without it): the
    # class is skipped while the option is empty or False.
    required_options = ()
    # Class attribute -> name of the admin client it is (os_admin.<name>).
    admin_clients = {}

    @classmethod
    def skip_checks(cls):
        super(StoresClientMixin, cls).skip_checks()
        for service in ('nova_glance_multistore', 'glance') + tuple(
                cls.required_services):
            if not getattr(CONF.service_available, service):
                raise cls.skipException(
                    '%s is not available ([service_available] %s = False)'
                    % (service, service))
        group = CONF.nova_glance_multistore
        for option, missing in cls.required_options:
            value = getattr(group, option)
            if not value:
                raise cls.skipException('%s ([nova_glance_multistore] %s %s)'
                                        % (missing, option, 'is empty' if
                                           value is not False else
                                           '= False'))
        dedicated = group.dedicated_store
        if cls.skip_with_dedicated_store and dedicated:
            raise cls.skipException(
                'nova-compute sends every image to the dedicated store %s '
                '([nova_glance_multistore] dedicated_store)' % dedicated)

    @classmethod
    def setup_clients(cls):
        super(StoresClientMixin, cls).setup_clients()
        cls.stores_client = (
            cls.os_primary.nova_glance_multistore.ImageStoresClient())
        if 'admin' in cls.credentials:
            cls.admin_stores_client = (
                cls.os_admin.nova_glance_multistore.ImageStoresClient())
            for attribute, client in cls.admin_clients.items():
                setattr(cls, attribute, getattr(cls.os_admin, client))


def image_id_from_response(resp):
    """The image id of a createImage/createBackup answer (any version)."""
    if api_version_utils.compare_version_header_to_response(
            'OpenStack-API-Version', 'compute 2.45', resp.response, 'lt'):
        return resp['image_id']
    return data_utils.parse_image_id(resp.response['location'])


class MultistoreComputeTest(StoresClientMixin, base.BaseV2ComputeTest):
    """Boots servers from an image in ``boot_store`` and snapshots them.

    ``resource_setup`` reads ``GET /v2/info/stores`` and skips the class
    when multi-store is off or fewer than two writable stores exist, then
    uploads the boot image into ``boot_store`` (``[nova_glance_multistore]
    boot_image_store``, else the first writable non-default store).
    After each test, ``tearDown`` fails it if an image it made (or nova made
    for one of its servers) is still ``queued`` or ``saving``.
    """

    # Stores the boot image must not be in (e.g. the dedicated store, so
    # that "lands in the dedicated store" cannot pass by following the base
    # image).
    avoid_boot_stores = ()

    @classmethod
    def skip_checks(cls):
        super(MultistoreComputeTest, cls).skip_checks()
        if not CONF.compute_feature_enabled.snapshot:
            raise cls.skipException(
                'Compute snapshots are disabled '
                '([compute-feature-enabled] snapshot = False)')

    @classmethod
    def resource_setup(cls):
        super(MultistoreComputeTest, cls).resource_setup()
        try:
            cls.stores = cls.stores_client.info_stores()['stores']
        except lib_exc.NotFound:
            raise cls.skipException(
                'Glance multi-store is off (GET /v2/info/stores: 404)')
        writable = store_info.writable_stores(cls.stores)
        if len(writable) < 2:
            raise cls.skipException(
                'Fewer than two writable Glance stores (writable: %s)'
                % (', '.join(writable) or 'none'))
        cls.default_store = store_info.default_store(cls.stores)
        cls.check_stores()
        try:
            cls.boot_store = store_info.choose_boot_store(
                cls.stores, CONF.nova_glance_multistore.boot_image_store,
                avoid=cls.avoid_boot_stores)
        except ValueError as exc:
            raise lib_exc.InvalidConfiguration(str(exc))
        if cls.boot_store == cls.default_store:
            LOG.warning('The boot image is in Glance\'s default store %s: '
                        'a snapshot following its base image and one sent '
                        'to the default store cannot be told apart',
                        cls.boot_store)
        cls.boot_image = cls.create_store_image(cls.boot_store)

    @classmethod
    def check_stores(cls):
        """Hook for subclasses: more preconditions on ``cls.stores``."""

    @classmethod
    def create_store_image(cls, store):
        """Upload the boot image into ``store``; return its image record."""
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name=cls.__name__ + '-boot-' + store)
        image = cls.images_client.create_image(
            name=name, container_format='bare', disk_format='raw',
            visibility='private')
        cls.addClassResourceCleanup(test_utils.call_and_ignore_notfound_exc,
                                    cls.images_client.delete_image,
                                    image['id'])
        cls.stores_client.store_image_file(
            image['id'], io.BytesIO(b'\0' * BOOT_IMAGE_BYTES), store)
        waiters.wait_for_image_status(cls.images_client, image['id'],
                                      'active')
        image = cls.images_client.show_image(image['id'])
        stores = store_info.image_stores(image)
        if stores != {store}:
            raise lib_exc.TempestException(
                'Boot image %s was uploaded with x-image-meta-store %s but '
                'Glance filed it in %s' % (image['id'], store,
                                           sorted(stores)))
        return image

    def setUp(self):
        super(MultistoreComputeTest, self).setUp()
        self.created_image_ids = []
        self.created_server_ids = []

    def tearDown(self):
        # Runs before the cleanups delete anything: an image left queued or
        # saving is visible here.
        unfinished = []
        for status in store_info.UNFINISHED_STATUSES:
            images = self.images_client.list_images(
                params={'status': status, 'limit': 1000})['images']
            unfinished.extend(store_info.unfinished_images(
                images, self.created_image_ids, self.created_server_ids))
        super(MultistoreComputeTest, self).tearDown()
        if unfinished:
            self.fail('Images left unfinished after the test: %s' % ', '.join(
                '%s (%s)' % (img['id'], img['status']) for img in unfinished))

    def create_server(self, image_id=None, volume_backed=False, **kwargs):
        """Boot an ACTIVE server, deleted at the end of the test.

        ``kwargs`` go to nova's create server request (e.g.
        ``availability_zone``).
        """
        tenant_network = self.get_tenant_network()
        # Since 2.37 'networks' is required; 'none' boots without a port.
        if (not self.is_requested_microversion_compatible('2.36')
                and not tenant_network):
            kwargs['networks'] = 'none'
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name=self.__class__.__name__ + '-server')
        _, servers = compute.create_test_server(
            self.os_primary, tenant_network=tenant_network,
            wait_until='ACTIVE', name=name, volume_backed=volume_backed,
            image_id=image_id or self.boot_image['id'], **kwargs)
        server = servers[0]
        self.created_server_ids.append(server['id'])
        self.addCleanup(waiters.wait_for_server_termination,
                        self.servers_client, server['id'])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.servers_client.delete_server, server['id'])
        return server

    def _track_image(self, image_id):
        self.created_image_ids.append(image_id)
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.images_client.delete_image, image_id)

    def _wait_for_image(self, image_id, server_id):
        try:
            waiters.wait_for_image_status(self.images_client, image_id,
                                          'active')
        except lib_exc.NotFound:
            # nova deletes the image when the upload fails (and the plugin
            # does when it refuses the store): show the instance fault.
            server = self.servers_client.show_server(server_id)['server']
            self.fail('Image %s was deleted before becoming active; '
                      'instance fault: %s'
                      % (image_id, server.get('fault', 'none recorded')))
        # Locations added through Glance's new location API are async.
        waiters.wait_for_image_tasks_status(self.images_client, image_id,
                                            'success')
        waiters.wait_for_server_status(self.servers_client, server_id,
                                       'ACTIVE')
        return self.images_client.show_image(image_id)

    def snapshot(self, server_id):
        """createImage; return the active image's record."""
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name=self.__class__.__name__ + '-snap')
        resp = self.compute_images_client.create_image(server_id, name=name)
        image_id = image_id_from_response(resp)
        self._track_image(image_id)
        return self._wait_for_image(image_id, server_id)

    def backup(self, server_id):
        """createBackup (daily, rotation 1); return the active image."""
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name=self.__class__.__name__ + '-backup')
        resp = self.servers_client.create_backup(
            server_id, backup_type='daily', rotation=1, name=name)
        image_id = image_id_from_response(resp)
        self._track_image(image_id)
        return self._wait_for_image(image_id, server_id)

    def assertInStore(self, image, store, why):
        self.assertEqual(
            {store}, store_info.image_stores(image),
            'Image %s (%s) is in stores %r; expected %r: %s'
            % (image['id'], image.get('name'), image.get('stores'), store,
               why))

    def assertReadsWhatGlanceHashed(self, image_id, when):
        """The image's data has the size and hash Glance recorded."""
        image = self.images_client.show_image(image_id)
        data = self.images_client.show_image_file(image_id).data
        self.assertEqual(image['size'], len(data),
                         'Image %s reads %d bytes, not its size %d, %s' % (
                             image_id, len(data), image['size'], when))
        self.assertEqual(
            image['os_hash_value'],
            hashlib.new(image['os_hash_algo'], data).hexdigest(),
            'Image %s does not read what Glance hashed on upload, %s' % (
                image_id, when))

    def cleanup_volume_snapshots(self, image):
        """Delete the volume snapshots a volume-backed snapshot made."""
        bdms = image.get('block_device_mapping')
        if isinstance(bdms, str):
            bdms = json.loads(bdms)
        client = self.os_primary.snapshots_client_latest
        for bdm in bdms or ():
            snapshot_id = bdm.get('snapshot_id')
            if not snapshot_id:
                continue
            self.addCleanup(client.wait_for_resource_deletion, snapshot_id)
            self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                            client.delete_snapshot, snapshot_id)


class BaseImageStoresTest(MultistoreComputeTest):
    """Stores of some types, each named by an option: snapshots follow in.

    A server booted from an image in one of them snapshots into it, and
    the image reads back what Glance hashed. Subclasses name the option
    (``stores_option``, a list in ``[nova_glance_multistore]``), the
    store types it may name, and may check more of each stores/detail
    entry (``check_store_entry``).
    """

    credentials = ['primary', 'admin']
    stores_option = None
    store_types = ()
    skip_with_dedicated_store = True

    @classmethod
    def target_stores(cls):
        return getattr(CONF.nova_glance_multistore, cls.stores_option)

    @classmethod
    def skip_checks(cls):
        super(BaseImageStoresTest, cls).skip_checks()
        if not cls.target_stores():
            raise cls.skipException(
                'No %s to test ([nova_glance_multistore] %s is empty)' % (
                    cls.stores_option.replace('_', ' '), cls.stores_option))

    @classmethod
    def check_stores(cls):
        detail = {s['id']: s for s in
                  cls.admin_stores_client.info_stores_detail()['stores']}
        for store in cls.target_stores():
            entry = detail.get(store) or {}
            if entry.get('type') not in cls.store_types:
                raise lib_exc.InvalidConfiguration(
                    '%s names %s, which is %s in Glance, not a store of '
                    'type %s' % (cls.stores_option, store, entry.get('type'),
                                 ' or '.join(cls.store_types)))
            cls.check_store_entry(store, entry)

    @classmethod
    def check_store_entry(cls, store, entry):
        """Hook: more preconditions on one store's stores/detail entry."""

    def snapshot_following_base_image(self, store):
        """A snapshot of a server booted from an image in ``store``."""
        base_image = self.create_store_image(store)
        server = self.create_server(image_id=base_image['id'])
        image = self.snapshot(server['id'])
        self.assertInStore(image, store, 'the store of the base image %s'
                           % base_image['id'])
        self.assertReadsWhatGlanceHashed(image['id'],
                                         'from store %s' % store)
        return image
