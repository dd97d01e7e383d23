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

"""Checks that a snapshot is ceph-native: an rbd clone Glance registered."""

import time

from tempest import config
from tempest.lib import exceptions as lib_exc

from nova_glance_multistore.tempest_plugin import store_info

CONF = config.CONF


class CephNativeChecksMixin(object):
    """``assertCephNative`` for test classes with admin credentials.

    Put it before ``MultistoreComputeTest`` among the bases and list
    ``admin`` in the class's ``credentials``. A class naming
    ``admin_clients`` of its own keeps ``admin_images_client`` in them.
    """

    admin_clients = {'admin_images_client': 'image_client_v2'}

    @classmethod
    def rbd_store_pool(cls, store):
        """The pool of rbd store ``store`` from stores/detail, or None.

        :raises InvalidConfiguration: when ``store`` is not an rbd store.
        """
        detail = cls.admin_stores_client.info_stores_detail()['stores']
        found = [s for s in detail if s['id'] == store]
        if not found or found[0].get('type') != 'rbd':
            raise lib_exc.InvalidConfiguration(
                'ceph-native snapshots into %s are expected but it is not '
                'an rbd store (stores/detail: %s)' % (store, ', '.join(
                    '%s:%s' % (s['id'], s.get('type')) for s in detail)))
        return (found[0].get('properties') or {}).get('pool')

    def _locations(self, image_id):
        """The image's locations as admin sees them, or skip."""
        image = self.admin_images_client.show_image(image_id)
        if image.get('locations'):
            return image['locations']
        try:
            return list(self.admin_stores_client.show_image_locations(
                image_id))
        except (lib_exc.NotFound, lib_exc.Forbidden):
            pass
        url = image.get('direct_url')
        if url:
            # direct_url is the first location; one store holds it.
            return [{'url': url, 'metadata': {
                'store': ','.join(sorted(store_info.image_stores(image)))}}]
        raise self.skipException(
            'Glance shows no image locations to admin (set '
            'show_multiple_locations or show_image_direct_url)')

    def _location_imports(self, image_id, urls):
        """Glance's ``location_import`` tasks for ``urls``, once finished.

        Glance may still be hashing the clone's data when the image is
        active; wait (``[image] build_timeout``) until each task is done.
        """
        deadline = time.time() + CONF.image.build_timeout
        while True:
            tasks = self.admin_stores_client.show_image_tasks(
                image_id)['tasks']
            found = store_info.location_import_tasks(tasks, urls)
            if (not found or time.time() > deadline or
                    all(t['status'] in ('success', 'failure')
                        for t in found)):
                return found, tasks
            time.sleep(CONF.image.build_interval)

    def assertCephNative(self, image, store, pool=None):
        """``image`` is a clone in ``store`` (``pool``); its rbd locations.

        An upload streamed into an rbd store has an rbd:// location in the
        pool too; only a location registered through Glance's add-location
        API (nova's ceph-native path) has Glance's location_import task.
        """
        self.assertInStore(image, store, 'the target store')
        locations = self._locations(image['id'])
        rbd = store_info.rbd_locations(locations, store)
        self.assertTrue(rbd, 'Image %s has no rbd:// location in store %s: '
                             '%s' % (image['id'], store, locations))
        if pool:
            pools = {store_info.rbd_url_parts(loc['url'])['pool']
                     for loc in rbd}
            self.assertIn(pool, pools, 'The clone of image %s is not in '
                                       'store %s\'s pool' % (image['id'],
                                                             store))
        found, tasks = self._location_imports(
            image['id'], [loc['url'] for loc in rbd])
        self.assertTrue(found, 'Image %s was streamed into store %s, not '
                               'cloned: Glance ran no location_import task '
                               'for its location %s (image tasks: %s)' % (
                                   image['id'], store, rbd, tasks))
        self.assertEqual(['success'], [t['status'] for t in found],
                         'Glance did not register the clone %s as the '
                         'location of image %s: %s' % (
                             rbd, image['id'], found))
        return rbd
