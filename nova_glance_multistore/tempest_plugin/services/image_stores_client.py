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

"""Glance multi-store calls tempest's own image client does not make."""

import functools

from oslo_serialization import jsonutils as json
from tempest.lib.common import rest_client

CHUNKSIZE = 1024 * 64


class ImageStoresClient(rest_client.RestClient):
    """Store discovery and store-aware uploads (image API v2)."""

    api_version = 'v2'

    def info_stores(self):
        """GET /v2/info/stores; NotFound when multi-store is off."""
        resp, body = self.get('info/stores')
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body))

    def info_stores_detail(self):
        """GET /v2/info/stores/detail (admin): store types and properties."""
        resp, body = self.get('info/stores/detail')
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body))

    def store_image_file(self, image_id, data, store):
        """Upload image data into one store (``x-image-meta-store``).

        :param data: a file-like object, sent in chunks.
        """
        headers = {'Content-Type': 'application/octet-stream',
                   'x-image-meta-store': store}
        chunks = iter(functools.partial(data.read, CHUNKSIZE), b'')
        resp, body = self.request('PUT', 'images/%s/file' % image_id,
                                  headers=headers, body=chunks, chunked=True)
        self.expected_success(204, resp.status)
        return rest_client.ResponseBody(resp, body)

    def show_image_locations(self, image_id):
        """GET /v2/images/{id}/locations (Glance 2.17+; service role)."""
        resp, body = self.get('images/%s/locations' % image_id)
        self.expected_success(200, resp.status)
        return rest_client.ResponseBodyList(resp, json.loads(body))

    def show_image_tasks(self, image_id):
        """GET /v2/images/{id}/tasks (Glance 2.12+): the image's tasks.

        Glance's add-location API (2.17+) runs a ``location_import`` task
        for the image; an upload (``PUT /file``) runs none.
        """
        resp, body = self.get('images/%s/tasks' % image_id)
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body))
