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

"""A real Keystone (PyPI, own venv, sqlite, fernet) on 127.0.0.1.

Started by hand: db_sync, fernet and credential keys, bootstrap, then a
threaded WSGI server around keystone's public application (keystone
parses its own command line, so it is not run under gunicorn). Projects,
users and role assignments are created through Keystone's API.

The admin password reaches ``keystone-manage bootstrap`` in the
environment (``OS_BOOTSTRAP_PASSWORD``), not as an argument ``ps`` would
show. The server gets its listening socket from us (bound when the
object is made), so no other process can take the port in between.
"""

import json
import os
import subprocess
import sys
import textwrap
import urllib.request

from localenv import common
from localenv import service

KEYSTONE_REQUIREMENTS = ['keystone==30.0.0']
ADMIN_PASSWORD = 'localenv-admin'

SERVER = textwrap.dedent('''\
    import socket
    import socketserver
    import sys
    from wsgiref import simple_server

    # The socket we were handed, already bound to our port.
    listener = socket.socket(fileno=int(sys.argv[1]))
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi
    app = wsgi.initialize_public_application()

    class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True

        def server_bind(self):
            self.socket.close()
            self.socket = listener
            self.server_address = listener.getsockname()
            self.server_name, self.server_port = self.server_address
            self.setup_environ()

    class Quiet(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    simple_server.make_server('127.0.0.1', 0, app, server_class=Server,
                              handler_class=Quiet).serve_forever()
''')


def service_password(user):
    """The password a user created by ``KeystoneServer.user`` gets."""
    return 'pw-%s' % user


def ensure_keystone_venv():
    return common.ensure_venv('keystone-venv', KEYSTONE_REQUIREMENTS)


class KeystoneServer(service.HttpService):
    api_path = '/v3'

    def __init__(self, workdir, venv=None, database=None):
        """``database``: an oslo.db URL (default: sqlite in ``workdir``)."""
        self.workdir = workdir
        self._listener = common.reserve_port()
        self.port = self._listener.getsockname()[1]
        self.venv = venv or ensure_keystone_venv()
        self.database = database or 'sqlite:///%s/keystone.sqlite' % workdir
        self.conf = os.path.join(workdir, 'keystone.conf')
        self.logfile = os.path.join(workdir, 'keystone.log')
        self.process = None
        self.passwords = {}
        self._admin_token = None

    def _manage(self, *args, env=None):
        common.run([os.path.join(self.venv, 'bin', 'keystone-manage'),
                    '--config-file', self.conf] + list(args), timeout=300,
                   env=env)

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.conf, 'w') as handle:
            handle.write(textwrap.dedent('''\
                [DEFAULT]
                log_file = %(log)s
                [database]
                connection = %(database)s
                [token]
                provider = fernet
                [fernet_tokens]
                key_repository = %(dir)s/fernet-keys
                [fernet_receipts]
                key_repository = %(dir)s/fernet-keys
                [credential]
                key_repository = %(dir)s/credential-keys
                ''') % {'log': self.logfile, 'dir': self.workdir,
                        'database': self.database})
        self._manage('db_sync')
        self._manage('fernet_setup', '--keystone-user', 'root',
                     '--keystone-group', 'root')
        self._manage('credential_setup', '--keystone-user', 'root',
                     '--keystone-group', 'root')
        common.register_secret(ADMIN_PASSWORD, 'keystone admin password')
        self._manage('bootstrap',
                     '--bootstrap-admin-url', self.url,
                     '--bootstrap-public-url', self.url,
                     '--bootstrap-internal-url', self.url,
                     '--bootstrap-region-id', 'RegionOne',
                     env=dict(os.environ,
                              OS_BOOTSTRAP_PASSWORD=ADMIN_PASSWORD))
        server = os.path.join(self.workdir, 'serve.py')
        with open(server, 'w') as handle:
            handle.write(SERVER)
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=self.conf)
        if self._listener is None:  # started again: the same port
            self._listener = common.reserve_port(self.port)
        try:
            with open(self.logfile + '.out', 'ab') as out:
                self.process = common.popen(
                    [os.path.join(self.venv, 'bin', 'python'), server,
                     str(self._listener.fileno())], env=env, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True,
                    pass_fds=[self._listener.fileno()])
        finally:
            # Ours closed: once keystone stops, connections are refused.
            self._listener.close()
            self._listener = None
        common.wait_for_http(self.url, 60, self.process,
                             self.logfile + '.out')
        self.passwords['admin'] = ADMIN_PASSWORD
        return self

    def stop(self):
        common.stop_process(self.process)
        self.process = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    # -- the identity API ---------------------------------------------

    def token(self, user, project, password=None):
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user, 'domain': {'id': 'default'},
                'password': password or self.passwords[user]}}},
            'scope': {'project': {'name': project,
                                  'domain': {'id': 'default'}}}}}
        req = urllib.request.Request(
            self.url + '/auth/tokens', data=json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'}, method='POST')
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.headers['X-Subject-Token'], json.loads(resp.read())

    def _admin(self, method, path, body=None):
        # One admin token for the server's life: issuing a fernet token
        # costs about 0.3 s, and setting up a cloud makes dozens of calls.
        if self._admin_token is None:
            self._admin_token, _ = self.token('admin', 'admin')
        token = self._admin_token
        req = urllib.request.Request(
            self.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={'Content-Type': 'application/json',
                     'X-Auth-Token': token})
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def _find(self, kind, name):
        found = self._admin('GET', '/%ss?name=%s' % (kind, name))
        items = found['%ss' % kind]
        return items[0]['id'] if items else None

    def project(self, name):
        return self._find('project', name) or self._admin(
            'POST', '/projects', {'project': {
                'name': name, 'domain_id': 'default'}})['project']['id']

    def role(self, name):
        return self._find('role', name) or self._admin(
            'POST', '/roles', {'role': {'name': name}})['role']['id']

    def user(self, name, project, roles):
        """A user with ``roles`` on ``project``; its password is kept."""
        password = common.register_secret(service_password(name),
                                          'keystone password of %s' % name)
        user_id = self._find('user', name) or self._admin(
            'POST', '/users', {'user': {
                'name': name, 'password': password,
                'domain_id': 'default'}})['user']['id']
        project_id = self.project(project)
        for role in roles:
            self._admin('PUT', '/projects/%s/users/%s/roles/%s' % (
                project_id, user_id, self.role(role)))
        self.passwords[name] = password
        return user_id

    def endpoint(self, service_type, name, url):
        """A service in the catalog with its public and internal URLs."""
        service_id = self._admin('POST', '/services', {'service': {
            'type': service_type, 'name': name}})['service']['id']
        for interface in ('public', 'internal'):
            self._admin('POST', '/endpoints', {'endpoint': {
                'service_id': service_id, 'interface': interface,
                'url': url, 'region_id': 'RegionOne'}})
        return service_id

    def authtoken_conf(self, user='glance', project='service'):
        """keystonemiddleware options for a service behind this Keystone."""
        return {
            'www_authenticate_uri': self.url,
            'auth_url': self.url,
            'auth_type': 'password',
            'username': user,
            'password': self.passwords[user],
            'project_name': project,
            'user_domain_id': 'default',
            'project_domain_id': 'default',
            'service_token_roles_required': 'true',
        }


def main():
    """Smoke run: start, create a service user, get a token, stop."""
    import tempfile
    with tempfile.TemporaryDirectory() as workdir:
        server = KeystoneServer(workdir).start()
        try:
            server.user('nova', 'service', ['service', 'admin'])
            token, body = server.token('nova', 'service')
            print(sorted(r['name'] for r in body['token']['roles']))
        finally:
            server.stop()


if __name__ == '__main__':
    sys.exit(main())
