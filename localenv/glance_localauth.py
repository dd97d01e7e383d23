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

"""A paste filter that stands in for Keystone in front of a test Glance.

It fills in the identity headers keystonemiddleware would set, when the
client sent none, so Glance's ContextMiddleware builds a normal context and
the stock policies apply. Loaded by glance-api from the local environment
only; never part of the product.
"""

DEFAULTS = {
    'HTTP_X_IDENTITY_STATUS': 'Confirmed',
    'HTTP_X_ROLES': 'admin,member,reader',
    'HTTP_X_PROJECT_ID': 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0',
    'HTTP_X_USER_ID': 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0',
}


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        def _app(environ, start_response):
            # A token "roles:a,b" stands for a user holding just those
            # roles (e.g. a non-admin nova-compute user).
            token = environ.get('HTTP_X_AUTH_TOKEN', '')
            if token.startswith('roles:'):
                environ.setdefault('HTTP_X_ROLES', token[len('roles:'):])
            for key, value in DEFAULTS.items():
                environ.setdefault(key, value)
            return app(environ, start_response)
        return _app
    return _filter
