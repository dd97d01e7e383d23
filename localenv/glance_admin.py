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

"""A small Glance client for tests and the demo, as the local admin.

Plain ``urllib`` against the v2 API, so what a test checks is Glance's
answer itself, not a client library's reading of it. Mixed into
``localenv.glance.GlanceServer``: it needs ``url``, ``keystone`` (None with
the stand-in auth) and ``_listing_token``.
"""

import json
import urllib.error
import urllib.request

# Image statuses a finished snapshot never keeps.
UNFINISHED = ('queued', 'saving', 'importing')


class GlanceAdminClient:
    """Requests to one Glance, as admin unless a token is given."""

    def admin_token(self):
        """The token that sees every image: None with the stand-in auth."""
        if self.keystone is None:
            return None
        if self._listing_token is None:
            self._listing_token, _ = self.keystone.token('admin', 'admin')
        return self._listing_token

    def request(self, method, path, body=None, headers=None, token=None):
        """Send one request as the local admin; return (status, json)."""
        data = None
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, bytearray)):
            data = json.dumps(body).encode()
            headers.setdefault('Content-Type', 'application/json')
        elif body is not None:
            data = bytes(body)
        if token:
            headers['X-Auth-Token'] = token
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors='replace')

    def create_image(self, name, data=None, store=None, token=None,
                     disk_format='raw', **properties):
        body = dict(name=name, disk_format=disk_format,
                    container_format='bare', **properties)
        status, image = self.request('POST', '/v2/images', body, token=token)
        if status != 201:
            raise RuntimeError('create image: %s %s' % (status, image))
        if data is not None:
            headers = {'Content-Type': 'application/octet-stream'}
            if store:
                headers['x-image-meta-store'] = store
            status, answer = self.request(
                'PUT', '/v2/images/%s/file' % image['id'], data, headers,
                token=token)
            if status != 204:
                raise RuntimeError('upload: %s %s' % (status, answer))
        return self.image(image['id'], token=token)

    def image(self, image_id, token=None):
        """The image; any answer but 200 raises (absence is not None).

        Use ``assert_image_gone`` to check that an image is deleted.
        """
        status, image = self.request('GET', '/v2/images/%s' % image_id,
                                     token=token)
        if status != 200:
            raise RuntimeError('get image %s: %s %s' % (image_id, status,
                                                        image))
        return image

    def image_tasks(self, image_id, token=None):
        """The image's tasks (``GET /v2/images/<id>/tasks``), as admin."""
        status, body = self.request('GET', '/v2/images/%s/tasks' % image_id,
                                    token=token or self.admin_token())
        if status != 200:
            raise RuntimeError('image %s tasks: %s %s' % (image_id, status,
                                                          body))
        return body['tasks']

    def image_status(self, image_id, token=None):
        """The HTTP status Glance answers ``GET /v2/images/<id>`` with."""
        return self.request('GET', '/v2/images/%s' % image_id,
                            token=token or self.admin_token())[0]

    def assert_image_gone(self, image_id):
        """Glance, asked as admin, answers 404 for the image.

        A 401, 403 or 500 proves nothing was left behind no more than a
        404 to a user who may not see the image: only the admin's 404 does.
        """
        status, body = self.request('GET', '/v2/images/%s' % image_id,
                                    token=self.admin_token())
        if status != 404:
            raise AssertionError(
                'image %s is not gone: Glance answered %s %s' % (
                    image_id, status, body))

    def images(self, token=None):
        """Every image (all pages), as admin unless ``token`` is given."""
        token = token or self.admin_token()
        found = []
        path = '/v2/images?limit=1000'
        while path:
            status, body = self.request('GET', path, token=token)
            if status != 200:
                raise RuntimeError('list images: %s %s' % (status, body))
            found += body['images']
            path = body.get('next')
        return found

    def unfinished_images(self):
        """(id, name, status) of each image left queued, saving, importing."""
        return [(i['id'], i['name'], i['status']) for i in self.images()
                if i['status'] in UNFINISHED]

    def image_data(self, image_id, token=None):
        req = urllib.request.Request(
            self.url + '/v2/images/%s/file' % image_id,
            headers={'X-Auth-Token': token} if token else {})
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.read()

    def delete_image(self, image_id, token=None):
        """Delete as ``token`` (as admin when not given); the status."""
        return self.request('DELETE', '/v2/images/%s' % image_id,
                            token=token or self.admin_token())[0]
