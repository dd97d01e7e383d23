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

"""The host checks, shared by nova-compute's start and the CLI's ``check``.

Each check answers findings, ``(ok, message)`` pairs: ``init_host`` logs
them, ``nova-glance-multistore check`` prints them and fails on any that
does not hold. One place, so both say the same thing about the same host.
"""

import uuid

from nova.storage import rbd_utils

from nova_glance_multistore import exception
from nova_glance_multistore import glance_client
from nova_glance_multistore.hooks import pipeline
from nova_glance_multistore import rbd_cow
from nova_glance_multistore import rbd_stores
from nova_glance_multistore import store_details
from nova_glance_multistore import store_kinds
from nova_glance_multistore import store_policy
from nova_glance_multistore import stores as stores_mod
from nova_glance_multistore import validation


def all_findings(conf):
    """Everything ``check`` reports about this host, in order."""
    findings = []
    glance = glance_client.GlanceFacts()
    context = None
    try:
        context = glance_client.service_context(conf)
        findings.extend(glance_answers(glance, context))
    except Exception as e:
        findings.append((False, 'Glance cannot be reached: %s' % e))
    try:
        hooks = pipeline.UploadHookPipeline(conf)
        findings.append((True, 'upload hooks load: %s' % ', '.join(
            hooks.names)))
        if context is not None:
            catalog = stores_mod.StoreCatalog(
                glance.stores_info, conf.glance_multistore.stores_cache_ttl)
            findings.extend(configured_stores(conf, catalog, context))
    except exception.GlanceMultistoreError as e:
        findings.append((False, str(e)))
    if context is not None:
        findings.extend(fast_snapshot_targets(conf, glance, context))
        findings.extend(object_stores(conf, glance, context))
    if conf.libvirt.images_type == 'rbd':
        findings.extend(copy_on_write(conf, rbd_utils.RBDDriver()))
    return findings


def glance_answers(glance, context):
    """Glance answers, and whether it runs several stores."""
    body = glance.stores_info(context)
    findings = [(True, 'Glance answers at its [glance] endpoint')]
    if body is None:
        return findings + [(False, 'Glance multi-store is off '
                                   '(GET /v2/info/stores answered 404)')]
    stores = stores_mod.StoreList.from_api(body)
    return findings + [(True, 'Glance multi-store is on: %s' % ', '.join(
        s.id + (' (default)' if s.default else '') +
        (' (read-only)' if s.read_only else '') for s in stores.stores))]


def configured_stores(conf, catalog, context):
    """Every store nova.conf names: ``[glance] store`` and the two lists."""
    store = conf.glance.store
    try:
        stores = catalog.get(context)
    except Exception as e:
        return [(False, 'Cannot read the Glance store list: %s' % e)]
    policy = store_policy.option_findings(conf, stores)
    if not store:
        return [(True, '[glance] store is not set: snapshots go to the '
                       "base image's store or Glance's default store")
                ] + policy
    return [validation.store_finding('[glance] store', store, stores)
            ] + policy


def object_stores(conf, glance, context):
    """How snapshots reach each store that is not rbd (stores/detail)."""
    body = store_details.stores_detail(conf, glance, context)
    if body is None:
        return [(True, '%s is not readable: the type of each store is '
                       'unknown, uploads are sent with their size' %
                 store_details.DETAIL)]
    return [finding for finding in (
        store_kinds.target_finding(entry)
        for _, entry in sorted(store_details.entries(body).items()))
        if finding is not None]


def fast_snapshot_targets(conf, glance, context):
    """Can this host clone into each rbd store?

    Uses nova's own RBD driver and ``[libvirt]`` Ceph credentials; a store
    is usable when its cluster is the instance disks' cluster and nova's
    cephx user can read and write its pool.
    """
    if conf.libvirt.images_type != 'rbd':
        return [(True, '[libvirt] images_type is %s: snapshots stream (no '
                       'ceph-native path on this host)' %
                 conf.libvirt.images_type)]
    try:
        driver = rbd_utils.RBDDriver()
        fsid = driver.get_fsid()
    except Exception as e:
        return [(False, 'Ceph cluster of the instance disks cannot be '
                        'reached as client.%s: %s' % (
                            conf.libvirt.rbd_user or 'admin', e))]
    findings = [(True, 'instance disks are on Ceph cluster %s (pool %s, '
                       'client.%s)' % (fsid, driver.pool,
                                       conf.libvirt.rbd_user or 'admin'))]
    locations = rbd_stores.known_locations(conf, glance, context)
    if not locations:
        findings.append((True, 'no rbd store is known (neither %s nor %s '
                               'name one): snapshots stream' % (
                                   rbd_stores.DETAIL,
                                   rbd_stores.CONFIG)))
    for store, (location, _source) in sorted(locations.items()):
        if location.fsid != fsid:
            findings.append((True, 'rbd store %s is on another cluster '
                                   '(%s): snapshots to it stream' % (
                                       store, location.fsid)))
            continue
        try:
            _probe_pool(driver, location.pool)
        except Exception as e:
            findings.append((False, 'rbd store %s: pool %s is not usable '
                                    'by client.%s: %s' % (
                                        store, location.pool,
                                        conf.libvirt.rbd_user or 'admin',
                                        e)))
        else:
            findings.append((True, 'rbd store %s: ceph-native snapshots '
                                   'into pool %s' % (store, location.pool)))
    return findings


def _probe_pool(driver, pool):
    """Read and write access to ``pool`` with nova's cephx user."""
    with rbd_utils.RADOSClient(driver, pool) as client:
        rbd_utils.RbdProxy().list(client.ioctx)
        name = 'nova-glance-multistore-check-%s' % uuid.uuid4().hex
        client.ioctx.write_full(name, b'check')
        client.ioctx.remove_object(name)


def copy_on_write(conf, driver):
    """The ceph-native snapshot mode in force, and each precondition."""
    group = conf.glance_multistore
    mode = group.ceph_native_snapshot
    if mode != rbd_cow.COPY_ON_WRITE:
        return [(True, 'ceph-native snapshots are flattened clones '
                       '([glance_multistore] ceph_native_snapshot = %s)'
                 % mode)]
    try:
        checks = rbd_cow.check_preconditions(driver)
    except Exception as e:
        return [(False, 'ceph-native snapshots: copy-on-write preconditions '
                        'cannot be read: %s; snapshots are flattened' % e)]
    missing = [p for p in checks if not p.ok]
    state = ('in force' if not missing else 'configured but NOT in force: '
             'snapshots are flattened')
    lines = [(not missing, 'ceph-native snapshots: copy-on-write %s (chains '
                           'of up to %d images)' % (
                               state, group.copy_on_write_max_chain_depth))]
    lines += [(p.ok, 'copy-on-write precondition %s' % p.describe())
              for p in checks]
    return lines
