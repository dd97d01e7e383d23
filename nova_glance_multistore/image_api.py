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

import glanceclient.exc
from nova import exception as nova_exception
from nova.image import glance
from nova import utils


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
        # Same call path as nova's (retries, tpool offload); only the
        # request headers differ, and only for this request.
        utils.tpool_wrap(self._client.call)(
            context, 2, 'put', controller='http_client',
            args=('/v2/images/%s/file' % image_id,),
            kwargs={'headers': headers, 'data': data})
        return self._client.call(context, 2, 'get', args=(image_id,))

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
