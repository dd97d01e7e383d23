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

"""Store policy through nova's real API: the user's choice, the flavor's,
and copies to a second store."""

import time

from tempest.common import waiters
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_glance_multistore.tempest_plugin import store_info
from nova_glance_multistore.tempest_plugin.tests.api import base

CONF = config.CONF

KEY = 'glance_multistore:snapshot_store'
COPY_KEY = 'glance_multistore:copy_to_stores'
REFUSED = 'users may not choose that store'
# nova_glance_multistore.instance_events.EVENT
EVENT = 'compute_glance_multistore_store'


class StorePolicyTest(base.MultistoreComputeTest):
    """Who may name the store: user within limits, flavor; and copies."""

    credentials = ['primary', 'admin']
    # Instance action event details (the error a user sees): 2.84.
    min_microversion = '2.84'

    # A dedicated store would not change the order, but the
    # dedicated-store phase runs only its own tests.
    skip_with_dedicated_store = True

    admin_clients = {'admin_flavors_client': 'flavors_client'}

    @classmethod
    def resource_setup(cls):
        super(StorePolicyTest, cls).resource_setup()
        detail = cls.admin_stores_client.info_stores_detail()['stores']
        writable = store_info.writable_stores(cls.stores)
        # A store only the source under test can pick: neither Glance's
        # default nor the boot image's (file stores: quick to write).
        cls.policy_store = next(
            (s['id'] for s in detail if s.get('type') == 'file' and
             s['id'] in writable and
             s['id'] not in (cls.default_store, cls.boot_store)), None)
        if cls.policy_store is None:
            raise cls.skipException(
                'No writable file store besides the default (%s) and the '
                'boot image store (%s)' % (cls.default_store,
                                           cls.boot_store))
        allowed = CONF.nova_glance_multistore.user_selectable_stores
        cls.not_allowed = next(s for s in writable if s not in allowed)

    def _flavor(self, **extra_specs):
        """A copy of the tests' flavor with ``extra_specs``."""
        source = self.admin_flavors_client.show_flavor(
            CONF.compute.flavor_ref)['flavor']
        flavor = self.admin_flavors_client.create_flavor(
            name=data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                      name='ngm-policy'),
            ram=source['ram'], vcpus=source['vcpus'], disk=source['disk'],
            id=data_utils.rand_uuid())['flavor']
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.admin_flavors_client.delete_flavor,
                        flavor['id'])
        self.admin_flavors_client.set_flavor_extra_spec(flavor['id'],
                                                        **extra_specs)
        return flavor['id']

    @decorators.idempotent_id('6c1f7b0e-3d8a-4a52-9e27-51c0d2f3a8b4')
    def test_users_allowed_choice(self):
        allowed = CONF.nova_glance_multistore.user_selectable_stores
        if not allowed:
            raise self.skipException(
                'Users may not choose a store ([nova_glance_multistore] '
                'user_selectable_stores is empty)')
        server = self.create_server(metadata={KEY: allowed[0]})
        image = self.snapshot(server['id'])
        self.assertInStore(image, allowed[0],
                           'the server metadata %s names it' % KEY)
        self.assertReadsWhatGlanceHashed(image['id'], 'in the user\'s store')

    @decorators.idempotent_id('a4d2e9c1-7b35-4f60-8e1d-2c9b7f4a0d13')
    def test_users_choice_outside_the_allowed_stores_is_refused(self):
        server = self.create_server(metadata={KEY: self.not_allowed})
        resp = self.compute_images_client.create_image(
            server['id'], name=data_utils.rand_name(
                prefix=CONF.resource_name_prefix, name='ngm-refused'))
        image_id = base.image_id_from_response(resp)
        self._track_image(image_id)
        # The plugin deletes the image nova-api queued, before any upload.
        self.images_client.wait_for_resource_deletion(image_id)
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        request_id = resp.response['x-openstack-request-id']
        # nova 34's own compute_snapshot_instance event ends before the
        # snapshot runs: the plugin adds a failed event of its own.
        event = self._event(self.servers_client, server['id'], request_id)
        self.assertEqual('Error', event['result'], event)
        # Its details (the message) are for admins by default (policy
        # os_compute_api:os-instance-actions:events:details).
        event = self._event(self.os_admin.servers_client, server['id'],
                            request_id)
        self.assertIn(REFUSED, event.get('details') or '', event)
        self.assertIn(self.not_allowed, event['details'])

    @staticmethod
    def _event(client, server_id, request_id, timeout=60):
        """The plugin's finished event in the createImage action."""
        deadline = time.monotonic() + timeout
        while True:
            action = client.show_instance_action(
                server_id, request_id)['instanceAction']
            events = [e for e in action.get('events', [])
                      if e['event'] == EVENT and e.get('finish_time')]
            if events:
                return events[0]
            if time.monotonic() > deadline:
                raise lib_exc.TimeoutException(
                    'No finished %s event in createImage %s of server %s: '
                    '%s' % (EVENT, request_id, server_id, action))
            time.sleep(1)

    @decorators.idempotent_id('e0b8c3f5-1a64-4d7e-b9a2-83f6d5c1e7a0')
    def test_flavor_extra_spec_names_the_store(self):
        flavor = self._flavor(**{KEY: self.policy_store})
        server = self.create_server(flavor=flavor)
        image = self.snapshot(server['id'])
        self.assertInStore(image, self.policy_store,
                           'the flavor extra spec %s names it' % KEY)
        self.assertReadsWhatGlanceHashed(image['id'], 'in the flavor\'s '
                                                      'store')

    @decorators.idempotent_id('3f7a9d2b-c6e1-4b08-a5f4-9e2d1c7b6a85')
    def test_flavor_copies_the_snapshot_to_a_second_store(self):
        flavor = self._flavor(**{COPY_KEY: self.policy_store})
        server = self.create_server(flavor=flavor)
        image = self.snapshot(server['id'])
        expected = {self.boot_store, self.policy_store}
        deadline = time.monotonic() + 120
        while (store_info.image_stores(image) != expected and
               not image.get('os_glance_failed_import') and
               time.monotonic() < deadline):
            time.sleep(1)
            image = self.images_client.show_image(image['id'])
        self.assertEqual(
            expected, store_info.image_stores(image),
            'Image %s was not copied to %s (failed: %s)' % (
                image['id'], self.policy_store,
                image.get('os_glance_failed_import') or 'none'))
        self.assertEqual('active', image['status'])
        self.assertReadsWhatGlanceHashed(image['id'], 'after its copy')
