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

"""nova's LibvirtDriver with store-aware snapshot, backup and shelve.

Load it with ``[DEFAULT] compute_driver = glance_multistore.LibvirtDriver``.
Only ``snapshot()`` changes: the store is chosen and validated before the
guest is paused, and the upload goes to that store.
"""

from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

from nova_glance_multistore import ceph_native
from nova_glance_multistore import checks
from nova_glance_multistore import glance_client
from nova_glance_multistore import opts
from nova_glance_multistore import rbd_cow
from nova_glance_multistore import uploads

LOG = logging.getLogger(__name__)
CONF = libvirt_driver.CONF


def _log_findings(findings, log_failure, consequence):
    """Start-up check lines: INFO when they hold, else what follows."""
    for ok, message in findings:
        if ok:
            LOG.info(message)
        else:
            log_failure('%s: %s.', message, consequence)


class StoreAwareSnapshotMixin:
    """Adds store-aware uploads to a nova compute driver's snapshot()."""

    def _init_store_aware_uploads(self, conf):
        opts.register_opts(conf)
        self._store_aware_uploads = uploads.StoreAwareUploads(conf)
        self._image_api = self._store_aware_uploads.image_api()
        uploads_ = self._store_aware_uploads
        self.image_backend = ceph_native.StoreAwareImageBackend(
            self.image_backend, ceph_native.Collaborators(
                conf, uploads_.targets, uploads_.glance, uploads_.pending))

    def _check_configured_store(self):
        try:
            ctxt = glance_client.service_context(CONF)
            findings = checks.configured_stores(
                CONF, self._store_aware_uploads.catalog, ctxt)
        except Exception as e:
            LOG.warning('Could not check [glance] store at start-up: %s', e)
            return
        _log_findings(findings, LOG.error, 'snapshots, backups and shelves '
                      'of this host will fail until it is fixed')

    def _check_copy_on_write(self):
        """Say at start-up whether copy-on-write snapshots are in force.

        Each snapshot checks again (cached): a fixed setting needs no
        restart, a missing one makes flattened snapshots with a WARNING.
        """
        if (CONF.glance_multistore.ceph_native_snapshot !=
                rbd_cow.COPY_ON_WRITE or CONF.libvirt.images_type != 'rbd'):
            return
        from nova.storage import rbd_utils
        try:
            findings = rbd_cow.in_native_thread(
                checks.copy_on_write, CONF, rbd_utils.RBDDriver())
        except Exception as e:
            LOG.warning('Could not check the copy-on-write preconditions at '
                        'start-up: %s', e)
            return
        _log_findings(findings, LOG.warning, 'ceph-native snapshots of this '
                      'host are flattened until it is fixed')

    def snapshot(self, context, instance, image_id, update_task_state):
        with self._store_aware_uploads.upload(context, instance, image_id):
            super().snapshot(context, instance, image_id, update_task_state)


class LibvirtDriver(StoreAwareSnapshotMixin, libvirt_driver.LibvirtDriver):
    """nova's LibvirtDriver, uploading images to the right Glance store."""

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self._init_store_aware_uploads(CONF)

    def init_host(self, host):
        super().init_host(host)
        self._check_configured_store()
        self._check_copy_on_write()
        # Leftovers of outages before a restart are not forgotten.
        self._store_aware_uploads.retry_pending_cleanups()


__all__ = ['LibvirtDriver', 'StoreAwareSnapshotMixin']
