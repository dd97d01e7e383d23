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

"""The few Glance facts we need, asked through nova's own Glance client.

Going through ``nova.image.glance.GlanceClientWrapper`` means the same
``[glance]`` endpoint, TLS, ``num_retries`` and service-token settings as
the rest of nova-compute.
"""

import enum
import hashlib
import threading
import weakref

import glanceclient.exc
from nova import context as nova_context
from nova.image import glance
from oslo_config import cfg
from oslo_log import log as logging

from nova_glance_multistore import exception

LOG = logging.getLogger(__name__)

UNFINISHED_STATUSES = ('queued', 'saving')


class DiscardResult(str, enum.Enum):
    """What ``GlanceFacts.discard_unfinished_image`` did.

    A ``str`` Enum: the values read as before in logs and the pending
    cleanups file.
    """

    DELETED = 'deleted'
    KEPT = 'kept'  # gone already, or holds data
    FAILED = 'failed'  # Glance could not be asked: try again later
    # Glance refused these credentials (401/403: an expired token, a user
    # who may not see or delete it): try again with other ones.
    REFUSED = 'refused'


class GlanceFacts:
    """Reads store facts from Glance and deletes unfinished images."""

    def __init__(self, client=None):
        self._client = client or glance.GlanceClientWrapper()

    def _call(self, context, method, *args, **kwargs):
        controller = kwargs.pop('controller', None)
        return self._client.call(context, 2, method, controller=controller,
                                 args=args, kwargs=kwargs)

    def stores_info(self, context):
        """The body of ``GET /v2/info/stores``; None when multi-store is off.

        :raises StoreCatalogUnavailable: any other failure.
        """
        try:
            return dict(self._call(context, 'get_stores_info'))
        except glanceclient.exc.HTTPNotFound:
            return None
        except glanceclient.exc.HTTPException as e:
            raise exception.StoreCatalogUnavailable(reason=http_reason(e))
        except Exception as e:
            # A malformed or truncated answer surfaces as anything from a
            # TypeError to a "connection" error (requests' JSON errors are
            # IOErrors) or a glanceclient crash on an odd error body.
            raise exception.StoreCatalogUnavailable(
                reason='%s: %s' % (type(e).__name__, e))

    def stores_info_detail(self, context):
        """The body of ``GET /v2/info/stores/detail`` (admin/service)."""
        return dict(self._call(context, 'get_stores_info_detail'))

    def image(self, context, image_id):
        """The image record, or None when it is not found or not visible.

        A plain GET: glanceclient's ``images.get`` would first fetch the
        image schema, doubling the calls each snapshot costs.
        """
        try:
            return self._image(context, image_id)
        except (glanceclient.exc.HTTPNotFound, glanceclient.exc.HTTPForbidden):
            return None

    def _image(self, context, image_id):
        _resp, body = self._call(context, 'get', '/v2/images/%s' % image_id,
                                 controller='http_client')
        return body if isinstance(body, dict) else None

    def image_stores(self, context, image_id):
        """Ids of the stores holding an image, None when it is not found."""
        image = self.image(context, image_id)
        if image is None:
            return None
        stores = image.get('stores') or ''
        if isinstance(stores, str):
            return [s.strip() for s in stores.split(',') if s.strip()]
        return [s for s in stores if isinstance(s, str)]

    def copy_image(self, context, image_id, stores):
        """Glance's copy-image import of an active image into ``stores``.

        Best effort on Glance's side too (``all_stores_must_succeed``
        false): each store that fails is listed in the image's
        ``os_glance_failed_import``.
        """
        self._call(context, 'post', '/v2/images/%s/import' % image_id,
                   controller='http_client',
                   data={'method': {'name': 'copy-image'},
                         'stores': list(stores),
                         'all_stores_must_succeed': False})

    DELETED = DiscardResult.DELETED
    KEPT = DiscardResult.KEPT
    FAILED = DiscardResult.FAILED
    REFUSED = DiscardResult.REFUSED

    def discard_unfinished_image(self, context, image_id, instance=None):
        """Delete an image that never received its data.

        nova-api created the image ``queued`` before nova-compute was asked
        to fill it; after a refused or failed upload it is an orphan. Only
        ``queued``/``saving`` images are deleted (an ``active`` one holds a
        user's data), and cleanup errors are logged, not raised, so the
        caller's original error is the one the user sees.

        :returns: DELETED, KEPT, REFUSED when Glance refused ``context``
            (401/403), or FAILED when Glance could not be asked.
        """
        try:
            try:
                image = self._image(context, image_id)
            except glanceclient.exc.HTTPNotFound:
                image = None
            if image is None:
                return self.KEPT
            status = image.get('status')
            if status not in UNFINISHED_STATUSES:
                LOG.debug('Image %(image_id)s is %(status)s: keeping it.',
                          {'image_id': image_id, 'status': status},
                          instance=instance)
                return self.KEPT
            self._call(context, 'delete', image_id)
            LOG.info('Deleted %(status)s image %(image_id)s after its '
                     'upload did not happen.',
                     {'image_id': image_id, 'status': status},
                     instance=instance)
            return self.DELETED
        except (glanceclient.exc.HTTPUnauthorized,
                glanceclient.exc.HTTPForbidden) as e:
            LOG.warning('Glance refused to delete unfinished image '
                        '%(image_id)s with these credentials: %(error)s',
                        {'image_id': image_id, 'error': http_reason(e)},
                        instance=instance)
            return self.REFUSED
        except Exception as e:
            LOG.warning('Could not delete unfinished image %(image_id)s: '
                        '%(error)s', {'image_id': image_id, 'error': e},
                        instance=instance)
            return self.FAILED


def http_reason(error):
    code = getattr(error, 'code', None)
    details = getattr(error, 'details', None) or str(error)
    return 'HTTP %s: %s' % (code, details) if code else details


# id(conf) -> (weakref to conf, options fingerprint, auth plugin, session):
# one keystoneauth plugin per configuration, so its cached token is reused
# until shortly before it expires (keystoneauth re-authenticates by itself
# then). ConfigOpts is not hashable, hence the id and the weakref check.
_SERVICE_AUTH = {}
_SERVICE_AUTH_LOCK = threading.Lock()


def service_context(conf):
    """An admin RequestContext for calls made outside a user request.

    nova-compute's start-up check, its retry of pending cleanups and the
    operator CLI have no user request: they authenticate as nova's service
    user (``[service_user]``) when one is configured, and otherwise send a
    placeholder token, which is enough for a Glance deployed without
    Keystone. The context carries the service user's catalog, so nova's
    Glance client finds the image endpoint as it does for a user request
    (devstack configures no ``[glance] endpoint_override``). Keystone is
    asked once per token lifetime, not once per call.
    """
    ctxt = nova_context.get_admin_context()
    token = 'unused-without-keystone'
    if conf.service_user.auth_type:
        auth, session = service_auth(conf)
        access = auth.get_access(session)
        token = access.auth_token
        ctxt.user_id = access.user_id
        ctxt.project_id = access.project_id
        ctxt.roles = list(access.role_names or [])
        if access.service_catalog is not None:
            ctxt.service_catalog = v2_catalog(
                access.service_catalog.catalog or [])
    ctxt.auth_token = token
    return ctxt


def service_auth(conf):
    """The (auth plugin, session) of ``[service_user]``, made once.

    Made again when those options change (a reconfigured host or test), so
    a stale plugin is never used; the fingerprint is a hash, no password is
    kept apart from the configuration itself.
    """
    from keystoneauth1 import loading as ks_loading

    fingerprint = _options_fingerprint(conf, ks_loading)
    cached = _cached_service_auth(conf, fingerprint)
    if cached is not None:
        return cached
    auth = ks_loading.load_auth_from_conf_options(conf, 'service_user')
    session = ks_loading.load_session_from_conf_options(
        conf, 'service_user', auth=auth)
    with _SERVICE_AUTH_LOCK:
        cached = _cached_service_auth(conf, fingerprint, locked=True)
        if cached is not None:
            return cached  # another caller made one first
        for key, entry in list(_SERVICE_AUTH.items()):
            if entry[0]() is None:
                del _SERVICE_AUTH[key]  # that configuration is gone
        _SERVICE_AUTH[id(conf)] = (weakref.ref(conf), fingerprint, auth,
                                   session)
    return auth, session


def _cached_service_auth(conf, fingerprint, locked=False):
    if not locked:
        with _SERVICE_AUTH_LOCK:
            return _cached_service_auth(conf, fingerprint, locked=True)
    entry = _SERVICE_AUTH.get(id(conf))
    if entry is None or entry[0]() is not conf or entry[1] != fingerprint:
        return None
    return entry[2], entry[3]


def _options_fingerprint(conf, ks_loading):
    group = conf.service_user
    plugin_opts = ks_loading.get_auth_plugin_conf_options(group.auth_type)
    # As keystoneauth's loader does, so the first fingerprint already sees
    # the plugin's values (registering the same options again is a no-op).
    conf.register_opts(plugin_opts, group='service_user')
    names = ['auth_type'] + sorted(
        {opt.dest for opt in
         plugin_opts + ks_loading.get_session_conf_options()})
    values = []
    for name in names:
        try:
            values.append((name, group[name]))
        except (KeyError, AttributeError, cfg.NoSuchOptError):
            values.append((name, None))
    return hashlib.sha256(repr(values).encode()).hexdigest()


def v2_catalog(catalog):
    """A Keystone v3 catalog in the v2 shape nova's context expects.

    nova reads a request's catalog from keystonemiddleware's
    ``X-Service-Catalog`` header, which is v2-shaped (one endpoint entry per
    region, with ``publicURL``/``internalURL``/``adminURL``); a v3 token's
    catalog lists one endpoint per interface instead.
    """
    converted = []
    for service in catalog:
        regions = {}
        for endpoint in service.get('endpoints') or []:
            if 'interface' not in endpoint:
                regions = None  # already v2-shaped
                break
            region = endpoint.get('region_id') or endpoint.get('region')
            entry = regions.setdefault(region, {'region': region})
            entry['%sURL' % endpoint['interface']] = endpoint.get('url')
        if regions is None:
            converted.append(service)
            continue
        converted.append({'type': service.get('type'),
                          'name': service.get('name'),
                          'endpoints': list(regions.values())})
    return converted
