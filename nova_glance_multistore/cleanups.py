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

"""Retries of the rbd leftovers a Ceph outage kept us from removing.

``uploads.StoreAwareUploads.retry_pending_cleanups`` runs it, within its
time budget, with the Glance images it retries itself.
"""

import time

from nova.storage import rbd_utils
from oslo_log import log as logging

from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import rbd_steps

LOG = logging.getLogger(__name__)


def retry_pending_rbd_cleanups(pending, entries, driver_factory=None,
                               deadline=None, clock=time.monotonic):
    """Remove the clones and disk snapshots a Ceph outage left behind.

    ``entries`` are ``pending.entries()`` as the caller read them. Only rbd
    entries of the cluster nova-compute's rbd driver reaches (same fsid)
    are touched; each one that still fails stays recorded. No new removal
    starts once ``clock()`` reaches ``deadline``.

    :returns: (keys attempted, keys still pending that were due)
    """
    entries = [(key, entry) for key, entry in entries
               if entry['kind'] != pending_cleanups.GLANCE_IMAGE]
    if not entries:
        return [], []
    try:
        driver = (driver_factory or rbd_utils.RBDDriver)()
        fsid = driver.get_fsid()
    except Exception as e:
        LOG.warning('%(count)d rbd leftovers stay pending: cannot reach '
                    'Ceph (%(error)s).', {'count': len(entries), 'error': e})
        keys = [key for key, _entry in entries]
        return keys, keys
    attempted, failed = [], []
    for key, entry in entries:
        if entry.get('fsid') != fsid:
            # Another cluster's: kept, and not looked at again at once.
            failed.append(key)
            continue
        if deadline is not None and clock() >= deadline:
            break
        attempted.append(key)
        try:
            if entry['kind'] == pending_cleanups.RBD_CLONE:
                rbd_steps.remove_clone_now(driver, entry['pool'],
                                           entry['image'])
            else:
                rbd_steps.remove_disk_snapshot_now(
                    driver, entry['pool'], entry['image'], entry['snapshot'])
        except Exception as e:
            LOG.warning('Pending rbd cleanup %(key)s failed again: '
                        '%(error)s', {'key': key, 'error': e})
            failed.append(key)
            continue
        LOG.info('Removed rbd leftover %(key)s of an earlier failed '
                 'snapshot.', {'key': key})
        pending.remove(key)
    return attempted, failed
