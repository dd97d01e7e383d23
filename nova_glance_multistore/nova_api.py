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

"""The nova API reads of ``cli explain --server/--flavor``.

nova-compute sees a server's metadata and flavor on the instance it is
asked to snapshot; the operator's CLI has to ask nova's API for them, as
nova's service user (``[service_user]``, admin in a devstack-like cloud:
it reads any project's server). The result has the shape the store policy
reads from a nova Instance: ``metadata``, ``flavor.extra_specs``,
``image_ref``.
"""

import types
import urllib.parse

from nova_glance_multistore import glance_client

# Flavors carry their extra specs since 2.61 (server show embeds the
# flavor with them since 2.47).
MICROVERSION = '2.61'


class NovaAPIError(Exception):
    pass


def _get(conf, path):
    if not conf.service_user.auth_type:
        raise NovaAPIError(
            "reading nova's API needs nova's service user: set "
            '[service_user] in this nova.conf')
    auth, session = glance_client.service_auth(conf)
    response = session.get(
        path, auth=auth, raise_exc=False,
        endpoint_filter={'service_type': 'compute', 'interface': 'public',
                         'region_name': conf.glance.region_name},
        headers={'OpenStack-API-Version': 'compute %s' % MICROVERSION,
                 'Accept': 'application/json'})
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise NovaAPIError('nova answered %s to GET %s: %s' % (
            response.status_code, path, response.text[:200]))
    return response.json()


def _flavor(name, extra_specs):
    return types.SimpleNamespace(name=name, extra_specs=dict(extra_specs or
                                                             {}))


def server(conf, server_id):
    """A server as the store policy sees it (an Instance's fields)."""
    body = _get(conf, '/servers/%s' % urllib.parse.quote(server_id))
    if body is None:
        raise NovaAPIError('server %s is not found' % server_id)
    found = body['server']
    flavor = found.get('flavor') or {}
    image = found.get('image') or {}
    return types.SimpleNamespace(
        uuid=found['id'], task_state=None, metadata=found.get('metadata'),
        image_ref=image.get('id', '') if isinstance(image, dict) else '',
        flavor=_flavor(flavor.get('original_name'),
                       flavor.get('extra_specs')))


def flavor(conf, name_or_id):
    """A flavor's name and extra specs, by id or by name."""
    body = _get(conf, '/flavors/%s' % urllib.parse.quote(name_or_id))
    found = body and body['flavor']
    if found is None:
        listed = _get(conf, '/flavors/detail?is_public=None') or {}
        matches = [f for f in listed.get('flavors', [])
                   if f.get('name') == name_or_id]
        if len(matches) != 1:
            raise NovaAPIError('flavor %s is %s' % (
                name_or_id, 'ambiguous' if matches else 'not found'))
        found = matches[0]
    return _flavor(found['name'], found.get('extra_specs'))
