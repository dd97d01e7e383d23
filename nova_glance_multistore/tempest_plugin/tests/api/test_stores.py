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

"""The Glance stores the deployment expects are enabled."""

from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc
from tempest import test

from nova_glance_multistore.tempest_plugin import store_info
from nova_glance_multistore.tempest_plugin.tests.api import base

CONF = config.CONF


class ExpectedStoresTest(base.StoresClientMixin, test.BaseTestCase):

    credentials = ['primary']

    required_options = (('expected_stores', 'No stores expected'),)

    @decorators.idempotent_id('eb91dc35-9405-4fbb-bbe0-2cec900ff853')
    def test_expected_stores_enabled(self):
        expected = CONF.nova_glance_multistore.expected_stores
        try:
            stores = self.stores_client.info_stores()['stores']
        except lib_exc.NotFound:
            self.fail('Glance multi-store is off (GET /v2/info/stores: 404) '
                      'but stores are expected: %s' % ', '.join(expected))
        missing = store_info.missing_stores(stores, expected)
        self.assertEqual([], missing,
                         'Expected Glance stores not enabled: %s (enabled: '
                         '%s)' % (', '.join(missing), ', '.join(
                             store_info.store_ids(stores))))
