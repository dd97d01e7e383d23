"""The few Glance facts we need, asked through nova's own Glance client.

Going through ``nova.image.glance.GlanceClientWrapper`` means the same
``[glance]`` endpoint, TLS, ``num_retries`` and service-token settings as
the rest of nova-compute.
"""

import glanceclient.exc
from nova import context as nova_context
from nova.image import glance
from oslo_log import log as logging

from nova_glance_multistore import exception

LOG = logging.getLogger(__name__)

UNFINISHED_STATUSES = ('queued', 'saving')


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
            raise exception.StoreCatalogUnavailable(reason=_http_reason(e))
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
            _resp, body = self._call(context, 'get',
                                     '/v2/images/%s' % image_id,
                                     controller='http_client')
        except (glanceclient.exc.HTTPNotFound, glanceclient.exc.HTTPForbidden):
            return None
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

    DELETED = 'deleted'
    KEPT = 'kept'  # gone already, or holds data
    FAILED = 'failed'  # Glance could not be asked: try again later

    def discard_unfinished_image(self, context, image_id, instance=None):
        """Delete an image that never received its data.

        nova-api created the image ``queued`` before nova-compute was asked
        to fill it; after a refused or failed upload it is an orphan. Only
        ``queued``/``saving`` images are deleted (an ``active`` one holds a
        user's data), and cleanup errors are logged, not raised, so the
        caller's original error is the one the user sees.

        :returns: DELETED, KEPT, or FAILED when Glance could not be asked.
        """
        try:
            image = self.image(context, image_id)
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
        except Exception as e:
            LOG.warning('Could not delete unfinished image %(image_id)s: '
                        '%(error)s', {'image_id': image_id, 'error': e},
                        instance=instance)
            return self.FAILED


def _http_reason(error):
    code = getattr(error, 'code', None)
    details = getattr(error, 'details', None) or str(error)
    return 'HTTP %s: %s' % (code, details) if code else details


def service_context(conf):
    """An admin RequestContext for calls made outside a user request.

    nova-compute's start-up check, its retry of pending cleanups and the
    operator CLI have no user request: they authenticate as nova's service
    user (``[service_user]``) when one is configured, and otherwise send a
    placeholder token, which is enough for a Glance deployed without
    Keystone. The context carries the service user's catalog, so nova's
    Glance client finds the image endpoint as it does for a user request
    (devstack configures no ``[glance] endpoint_override``).
    """
    from keystoneauth1 import loading as ks_loading

    ctxt = nova_context.get_admin_context()
    token = 'unused-without-keystone'
    if conf.service_user.auth_type:
        auth = ks_loading.load_auth_from_conf_options(conf, 'service_user')
        session = ks_loading.load_session_from_conf_options(
            conf, 'service_user', auth=auth)
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
