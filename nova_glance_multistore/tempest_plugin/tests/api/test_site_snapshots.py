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

"""Sites: each availability zone snapshots into its own cluster's store."""

from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_glance_multistore.tempest_plugin import store_info
from nova_glance_multistore.tempest_plugin.tests.api import base
from nova_glance_multistore.tempest_plugin.tests.api import rbd_checks

CONF = config.CONF


class SiteSnapshotTest(rbd_checks.CephNativeChecksMixin,
                       base.MultistoreComputeTest):
    """One Ceph cluster and rbd store per site (edge), snapshots stay home.

    A server in each zone of ``site_stores`` snapshots ceph-native into
    that zone's store: a clone on the site's own cluster (the fsid of its
    rbd:// location differs from every other site's), never a copy across
    sites.
    """

    credentials = ['primary', 'admin']

    required_options = (('site_stores', 'No sites to test'),)

    @classmethod
    def resource_setup(cls):
        super(SiteSnapshotTest, cls).resource_setup()
        try:
            cls.sites = store_info.site_stores(
                CONF.nova_glance_multistore.site_stores)
        except ValueError as exc:
            raise lib_exc.InvalidConfiguration(str(exc))
        cls.site_pools = {store: cls.rbd_store_pool(store)
                          for _, store in cls.sites}

    def _snapshot_in_zone(self, zone, store):
        server = self.create_server(availability_zone=zone)
        shown = self.servers_client.show_server(server['id'])['server']
        self.assertEqual(zone, shown.get('OS-EXT-AZ:availability_zone'),
                         'Server %s was asked for zone %s' % (server['id'],
                                                              zone))
        image = self.snapshot(server['id'])
        rbd = self.assertCephNative(image, store, self.site_pools[store])
        self.assertReadsWhatGlanceHashed(image['id'],
                                         'from site %s\'s store %s' % (
                                             zone, store))
        return {store_info.rbd_url_parts(loc['url'])['fsid'] for loc in rbd}

    @decorators.idempotent_id('6409230d-3c70-45ab-bd7c-4f169eae1659')
    def test_each_site_snapshots_into_its_own_store(self):
        clusters = {}
        for zone, store in self.sites:
            clusters[zone] = self._snapshot_in_zone(zone, store)
        fsids = [fsid for found in clusters.values() for fsid in found]
        self.assertEqual(len(fsids), len(set(fsids)),
                         'Sites share a Ceph cluster (rbd:// fsids by zone: '
                         '%s): a site\'s snapshot is not on its own cluster'
                         % clusters)
