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

"""Copies of a finished snapshot to more stores, by Glance's copy-image.

An edge site's snapshot lands in the site's store; operators then copy it
to a central store by hand so that it outlives the site. This does it for
them, as Glance itself would: ``POST /v2/images/{id}/import`` with the
``copy-image`` method and ``all_stores_must_succeed = false``.

Best effort by design: the snapshot the user asked for is done when its
upload is. The copy runs in the background (a green thread under
eventlet), waits for the image to be active (a ceph-native snapshot's
location is added by a Glance task), asks Glance with nova's service user
(Glance's ``copy_image`` policy: admin by default) and logs how it ended.
Nothing here raises into nova.
"""

import threading
import time

import glanceclient.exc
from oslo_log import log as logging

from nova_glance_multistore import glance_client
from nova_glance_multistore import validation

LOG = logging.getLogger(__name__)

# Glance's image properties that follow an import (glance.api.v2.images).
IMPORTING = 'os_glance_importing_to_stores'
FAILED = 'os_glance_failed_import'
# States after which an image never becomes active by itself.
FINAL_STATUSES = ('killed', 'deleted', 'deactivated', 'pending_delete')
POLL_INTERVAL = 0.5
MAX_POLL_INTERVAL = 5.0


def property_stores(image, name):
    """A comma-separated store list property of an image, as a list."""
    value = (image or {}).get(name) or ''
    return [s.strip() for s in str(value).split(',') if s.strip()]


def usable_copy_stores(image_id, upload_target, stores, instance=None):
    """The copy stores Glance can take; each other one logged as an ERROR.

    Validated as targets are (unknown, read-only, reserved, multi-store
    off), and never the store the image goes to.
    """
    usable = []
    for store in upload_target.copy_to:
        if store == upload_target.store:
            continue
        reason = validation.refusal_reason(store, stores)
        if reason is not None:
            LOG.error('Image %(image_id)s will not be copied to Glance store '
                      '%(store)s (named by %(source)s): %(reason)s. Valid '
                      'stores: %(valid)s.',
                      {'image_id': image_id,
                       'store': validation.printable(store),
                       'source': upload_target.copy_source, 'reason': reason,
                       'valid': validation.valid_store_ids(stores)},
                      instance=instance)
            continue
        usable.append(store)
    return usable


class ImageCopies:
    """Starts and follows the copies of one nova-compute's uploads."""

    def __init__(self, conf, glance, clock=time.monotonic, sleep=time.sleep):
        self.conf = conf
        self.glance = glance
        self._clock = clock
        self._sleep = sleep
        self._threads = []
        self._lock = threading.Lock()

    def start(self, image_id, stores, instance=None):
        """Copy ``image_id`` to ``stores`` in the background; the thread."""
        if not stores:
            return None
        thread = threading.Thread(
            target=self.copy, args=(image_id, list(stores), instance),
            name='copy-%s' % image_id, daemon=True)
        try:
            thread.start()
        except Exception as e:
            LOG.error('Image %(image_id)s is not copied to Glance store(s) '
                      '%(stores)s: %(error)s',
                      {'image_id': image_id, 'stores': ', '.join(stores),
                       'error': e}, instance=instance)
            return None
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        return thread

    def wait(self, timeout=None):
        """Wait for the copies started so far (tests, a clean stop)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

    def copy(self, image_id, stores, instance=None):
        """Wait for active, ask Glance to copy, log the outcome."""
        info = {'image_id': image_id, 'stores': ', '.join(stores)}
        LOG.debug('Copy of image %(image_id)s to Glance store(s) %(stores)s: '
                  'waiting for the image to be active.', info,
                  instance=instance)
        try:
            context = glance_client.service_context(self.conf)
            deadline = self._clock() + self.conf.glance_multistore.\
                copy_wait_timeout
            image = self._wait(context, image_id, deadline,
                               lambda img: img.get('status') == 'active')
            status = image.get('status') if image else 'gone'
            if status != 'active':
                LOG.error('Image %(image_id)s is not copied to Glance '
                          'store(s) %(stores)s: it is %(status)s.',
                          dict(info, status=status), instance=instance)
                return False
            self._ask_for_copy(context, image_id, stores, deadline)
            LOG.info('Copying image %(image_id)s to Glance store(s) '
                     '%(stores)s (copy-image import).', info,
                     instance=instance)
            # Settled once each store holds the image or failed: Glance's
            # task sets os_glance_importing_to_stores only after the 202.
            image = self._wait(
                context, image_id, deadline,
                lambda img: set(stores) <= set(
                    property_stores(img, 'stores') +
                    property_stores(img, FAILED)))
            return self._report(image, image_id, stores, instance)
        except glanceclient.exc.HTTPForbidden as e:
            LOG.error('Glance refused to copy image %(image_id)s to store(s) '
                      '%(stores)s: %(error)s. Its copy_image policy must let '
                      "nova's service user ([service_user]) copy images of "
                      'any project (the admin role by default).',
                      dict(info, error=glance_client.http_reason(e)),
                      instance=instance)
        except Exception as e:
            LOG.error('Image %(image_id)s was not copied to Glance store(s) '
                      '%(stores)s: %(error)s', dict(info, error=e),
                      instance=instance)
        return False

    def _ask_for_copy(self, context, image_id, stores, deadline):
        """The copy-image request, again while Glance answers 409.

        An active image may still hold Glance's import lock: a ceph-native
        snapshot's location is added by a Glance task ("Image has active
        task") that ends shortly after the image turns active.
        """
        interval = POLL_INTERVAL
        while True:
            try:
                return self.glance.copy_image(context, image_id, stores)
            except glanceclient.exc.HTTPConflict as e:
                if self._clock() >= deadline:
                    raise
                LOG.debug('Image %(image_id)s is busy in Glance (%(error)s): '
                          'asking for its copy again.',
                          {'image_id': image_id,
                           'error': glance_client.http_reason(e)})
            self._sleep(interval)
            interval = min(interval * 2, MAX_POLL_INTERVAL)

    def _wait(self, context, image_id, deadline, done):
        """Poll until ``done(image)``: the last record (None: gone)."""
        interval = POLL_INTERVAL
        while True:
            image = self.glance.image(context, image_id)
            if image is None or image.get('status') in FINAL_STATUSES:
                return image
            if done(image) or self._clock() >= deadline:
                return image
            self._sleep(interval)
            interval = min(interval * 2, MAX_POLL_INTERVAL)

    def _report(self, image, image_id, stores, instance):
        if image is None:
            LOG.warning('Image %(image_id)s was deleted before its copy to '
                        'Glance store(s) %(stores)s finished.',
                        {'image_id': image_id, 'stores': ', '.join(stores)},
                        instance=instance)
            return False
        held = set(property_stores(image, 'stores'))
        failed = set(property_stores(image, FAILED)) & set(stores)
        pending = set(stores) - held - failed
        landed = [s for s in stores if s in held]
        if landed:
            LOG.info('Image %(image_id)s is copied to Glance store(s) '
                     '%(stores)s.', {'image_id': image_id,
                                     'stores': ', '.join(landed)},
                     instance=instance)
        if failed:
            LOG.error('Copy of image %(image_id)s to Glance store(s) '
                      '%(stores)s failed (Glance\'s %(prop)s; glance-api\'s '
                      'log says why).',
                      {'image_id': image_id, 'prop': FAILED,
                       'stores': ', '.join(sorted(failed))},
                      instance=instance)
        if pending:
            LOG.warning('Copy of image %(image_id)s to Glance store(s) '
                        '%(stores)s still running after %(timeout)d s; not '
                        'followed any longer.',
                        {'image_id': image_id,
                         'stores': ', '.join(sorted(pending)),
                         'timeout': self.conf.glance_multistore.
                         copy_wait_timeout}, instance=instance)
        return bool(landed) and not failed and not pending
