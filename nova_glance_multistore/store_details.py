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

"""Each Glance store's type and properties, from stores/detail, cached.

``GET /v2/info/stores/detail`` is the only place Glance says what a store
is (rbd with its cluster and pool, s3 with its multipart sizes, swift with
its segment sizes). Glance lets only the admin and service roles read it,
and checks the *user's* roles, not those of nova's service token: when the
user may not read it, nova's service user (``[service_user]``) asks. The
answer changes only when glance-api is reconfigured, so it is kept for
``[glance_multistore] stores_cache_ttl`` seconds, as the store list is.
"""

import threading
import weakref

from oslo_log import log as logging

from nova_glance_multistore import glance_client
from nova_glance_multistore import ttl_cache

LOG = logging.getLogger(__name__)

DETAIL = 'GET /v2/info/stores/detail'

# GlanceFacts -> TtlCache: one per Glance client, gone with it.
_DETAIL_CACHES = weakref.WeakKeyDictionary()
_DETAIL_CACHES_LOCK = threading.Lock()


def _detail_cache(glance):
    with _DETAIL_CACHES_LOCK:
        cache = _DETAIL_CACHES.get(glance)
        if cache is None:
            cache = _DETAIL_CACHES[glance] = ttl_cache.TtlCache()
        return cache


def stores_detail(conf, glance, context):
    """The body of stores/detail, or None when nobody may read it."""
    return _detail_cache(glance).get(
        conf.glance_multistore.stores_cache_ttl,
        lambda: _fetch_stores_detail(conf, glance, context))


def _fetch_stores_detail(conf, glance, context):
    try:
        return glance.stores_info_detail(context)
    except Exception as e:
        error = e
    if conf.service_user.auth_type:
        try:
            service = glance_client.service_context(conf)
            return glance.stores_info_detail(service)
        except Exception as e:
            error = e
    LOG.debug('%s not readable (%s).', DETAIL, error)
    return None


def entries(body):
    """{store id: entry} of a stores/detail body (None: {})."""
    return {entry['id']: entry for entry in (body or {}).get('stores') or []
            if isinstance(entry, dict) and isinstance(entry.get('id'), str)}


def store_entry(conf, glance, context, store_id):
    """One store's ``{"id", "type", "properties", ...}``, or None."""
    return entries(stores_detail(conf, glance, context)).get(store_id)
