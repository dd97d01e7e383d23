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

"""nova's image API, with a per-upload store.

nova's ``GlanceImageServiceV2._upload_data`` sends image data with no store
header. We keep all of nova's code and replace that one step: when an
upload target is registered for the image being uploaded, the data goes out
with ``x-image-meta-store`` and ``X-OpenStack-Base-Image-Ref`` on that PUT
request and nowhere else. Targets are looked up by image id, so concurrent
snapshots on one host never see each other's headers, and the glanceclient
object is never modified (cinder's ``additional_headers`` approach leaks the
headers into every later call of the client).
"""

import contextlib
import threading
import time

import glanceclient.exc
from nova import exception as nova_exception
from nova.image import glance
from nova import utils
from oslo_log import log as logging

from nova_glance_multistore import offloaded_reads
from nova_glance_multistore import upload_framing

LOG = logging.getLogger(__name__)
CONF = glance.CONF

# What nova's GlanceClientWrapper.call retries.
RETRY_ERRORS = (glanceclient.exc.HTTPServiceUnavailable,
                glanceclient.exc.InvalidEndpoint,
                glanceclient.exc.CommunicationError,
                IOError)


def _tell(data):
    """The start offset of a seekable upload, else None (cannot retry)."""
    try:
        return data.tell() if data.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


class UploadTargets:
    """Thread-safe registry: image id -> the UploadTarget of its upload."""

    def __init__(self):
        self._lock = threading.Lock()
        self._targets = {}

    def get(self, image_id):
        with self._lock:
            return self._targets.get(image_id)

    @contextlib.contextmanager
    def registered(self, image_id, upload_target):
        with self._lock:
            self._targets[image_id] = upload_target
        try:
            yield upload_target
        finally:
            with self._lock:
                self._targets.pop(image_id, None)

    def __len__(self):
        with self._lock:
            return len(self._targets)


class StoreAwareImageService(glance.GlanceImageServiceV2):
    """GlanceImageServiceV2 whose data upload honours a registered target."""

    def __init__(self, targets, client=None):
        super().__init__(client=client)
        self._targets = targets

    def _upload_data(self, context, image_id, data):
        upload_target = self._targets.get(image_id)
        headers = upload_target.headers() if upload_target else {}
        if not headers:
            return super()._upload_data(context, image_id, data)
        headers['Content-Type'] = 'application/octet-stream'
        size = upload_framing.remaining_size(data)
        framing = upload_framing.choose(upload_target.store_detail, size)
        headers.update(framing.headers(size))
        LOG.debug('Image %(image_id)s: %(size)s bytes to store %(store)s, '
                  '%(framing)s.', {'image_id': image_id, 'size': size,
                                   'store': upload_target.store,
                                   'framing': framing.reason})
        if not utils.concurrency_mode_threading():
            # Not nova's tpool_wrap of the whole upload: see offloaded_reads.
            data = offloaded_reads.OffloadedReader(
                data, utils.get_eventlet().tpool.execute)
        self._put_with_retries(
            context, '/v2/images/%s/file' % image_id, headers, data)
        return self._client.call(context, 2, 'get', args=(image_id,))

    def _put_with_retries(self, context, url, headers, data):
        """PUT the data, retrying as ``[glance] num_retries`` says.

        Like nova's GlanceClientWrapper.call, with one difference: each
        attempt starts from the first byte. nova retries with the file
        already read by the failed attempt, so a retried upload sends a
        truncated image (Glance then refuses it, or worse).
        """
        start = _tell(data)
        attempts = 1 + CONF.glance.num_retries
        for attempt in range(1, attempts + 1):
            client = (self._client.client or
                      self._client._create_onetime_client(context, 2))
            if attempt > 1:
                data.seek(start)
            try:
                return client.http_client.put(url, headers=headers,
                                              data=data)
            except RETRY_ERRORS as e:
                server = getattr(self._client, 'api_server', '?')
                if attempt == attempts or start is None:
                    LOG.error('Uploading to Glance server %(server)s '
                              'failed (%(error)s); done trying.',
                              {'server': server, 'error': e})
                    raise nova_exception.GlanceConnectionFailed(
                        server=str(server), reason=str(e))
                LOG.warning('Uploading to Glance server %(server)s failed '
                            '(%(error)s); retrying from the first byte '
                            '(attempt %(next)d of %(attempts)d).',
                            {'server': server, 'error': e,
                             'next': attempt + 1, 'attempts': attempts})
                time.sleep(1)

    def _add_location(self, context, image_id, location):
        """Registering a location Glance refuses is not a failed snapshot.

        nova turns Glance's 403 into ImageNotAuthorized and fails the whole
        snapshot; as Forbidden, nova's snapshot() removes the rbd clone and
        streams the disk into the store instead.
        """
        try:
            return super()._add_location(context, image_id, location)
        except glanceclient.exc.HTTPForbidden as e:
            raise nova_exception.Forbidden(
                'Glance refused to register location of image %s: %s' % (
                    image_id, getattr(e, 'details', e)))


class StoreAwareImageAPI(glance.API):
    """nova's image API returning store-aware sessions."""

    def __init__(self, targets):
        self._targets = targets

    def _get_session_and_image_id(self, context, id_or_uri):
        session, image_id = super()._get_session_and_image_id(
            context, id_or_uri)
        return StoreAwareImageService(
            self._targets, client=session._client), image_id

    def _get_session(self, context):
        return StoreAwareImageService(self._targets)
