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

"""A real Glance 33 (from PyPI, in its own venv) with several stores.

glance-api runs under gunicorn serving ``glance.wsgi.api:application`` on
127.0.0.1, with sqlite, file stores, a read-only http store, and (when
given) rbd stores. Authentication is either the local stand-in filter
(``glance_localauth``) or real Keystone through keystonemiddleware.
"""

import dataclasses
import os
import shutil
import subprocess
import textwrap

from localenv import common
from localenv import glance_admin
from localenv import service

GLANCE_REQUIREMENTS = ['glance==33.0.0', 'glance_store[s3,swift,cinder]',
                       'python-glanceclient',
                       'gunicorn']


def ensure_glance_venv():
    return common.ensure_venv('glance-venv', GLANCE_REQUIREMENTS)


@dataclasses.dataclass
class StoreSpec:
    """One ``enabled_backends`` entry."""

    id: str
    type: str = 'file'
    description: str = ''
    options: dict = dataclasses.field(default_factory=dict)


DEFAULT_STORES = (
    StoreSpec('fast', 'file', 'Fast file store (Glance default)'),
    StoreSpec('cheap', 'file', 'Cheap file store'),
    StoreSpec('archive', 'file', 'Archive file store'),
    StoreSpec('web', 'http', 'Read-only http store'),
)

# The filter that sets the SQLite BEGIN mode and busy timeout so concurrent
# uploads do not fail with "database is locked" (measured: 10 of 16 failed
# without it); loaded into glance-api by a .pth-free sitecustomize.
SQLITE_SITECUSTOMIZE = textwrap.dedent('''\
    import sqlalchemy
    from sqlalchemy import event

    _create_engine = sqlalchemy.create_engine

    def _patched_create_engine(*args, **kwargs):
        engine = _create_engine(*args, **kwargs)
        if engine.dialect.name == 'sqlite':
            @event.listens_for(engine, 'connect')
            def _connect(dbapi_connection, record):
                dbapi_connection.execute('PRAGMA busy_timeout = 30000')

            @event.listens_for(engine, 'before_cursor_execute', retval=True)
            def _immediate(conn, cursor, statement, params, context, many):
                # oslo.db emits a plain BEGIN; take the write lock up front
                # so concurrent writers wait instead of failing.
                if statement == 'BEGIN':
                    statement = 'BEGIN IMMEDIATE'
                return statement, params
        return engine

    sqlalchemy.create_engine = _patched_create_engine
''')


class GlanceServer(glance_admin.GlanceAdminClient,
                   service.HttpService):
    """One glance-api process and its configuration, data and logs."""

    #: Every GlanceServer started in this process and not yet checked
    #: after its stop: tests look at each one's images, not only at the
    #: Glance they know by name. (Not weak: a stopped server nobody holds
    #: must still be reported.)
    started = set()
    #: The unfinished images found as it was last stopped (None: not
    #: stopped, or killed, so never listed).
    left_at_stop = None
    _listing_token = None

    def __init__(self, workdir, stores=DEFAULT_STORES, default_store='fast',
                 multistore=True, keystone=None, extra_conf=None,
                 extra_pythonpath=(), post_config=None, venv=None):
        """``post_config(conf_path)``, when given, owns the store layout.

        It runs after glance-api.conf is written and before glance-api
        starts (the devstack plugin's post-config phase does this), and the
        store options are then left to it entirely.
        """
        self.workdir = workdir
        self.stores = list(stores)
        self.default_store = default_store
        self.multistore = multistore
        self.keystone = keystone
        self.extra_conf = extra_conf or {}
        self.extra_pythonpath = list(extra_pythonpath)
        self.post_config = post_config
        # Bound now and handed to gunicorn at start (``fd://``): no other
        # process can take the port between choosing and serving it.
        self._listener = common.reserve_port()
        self.port = self._listener.getsockname()[1]
        self.process = None
        self.venv = venv or ensure_glance_venv()
        self._db_synced = False
        self.confdir = os.path.join(workdir, 'etc')
        self.logfile = os.path.join(workdir, 'glance-api.log')

    @property
    def conf_path(self):
        return os.path.join(self.confdir, 'glance-api.conf')

    def datadir(self, store_id):
        return os.path.join(self.workdir, 'stores', store_id)

    # -- configuration -------------------------------------------------

    def _conf_sections(self):
        auth_flavor = 'keystone' if self.keystone else 'localauth'
        sections = {
            'DEFAULT': {
                'bind_host': '127.0.0.1',
                'bind_port': str(self.port),
                'debug': 'true',
                'log_file': self.logfile,
                'use_stderr': 'false',
                'worker_self_reference_url': self.url,
                'enabled_import_methods': '[glance-direct,web-download,'
                                          'copy-image]',
                'show_multiple_locations': 'false',
                'image_cache_dir': os.path.join(self.workdir, 'cache'),
            },
            'database': {
                'connection': 'sqlite:///%s' % os.path.join(
                    self.workdir, 'glance.sqlite'),
            },
            'paste_deploy': {
                'flavor': auth_flavor,
                'config_file': os.path.join(self.confdir,
                                            'glance-api-paste.ini'),
            },
            'oslo_policy': {'enforce_new_defaults': 'true',
                            'enforce_scope': 'false'},
            'import_filtering_opts': {
                'allowed_hosts': '[127.0.0.1]',
                'disallowed_schemes': '[]',
                'allowed_ports': '[]',
            },
        }
        if self.post_config is None:
            self._store_sections(sections)
        if self.keystone:
            sections['keystone_authtoken'] = self.keystone.authtoken_conf()
        for section, options in self.extra_conf.items():
            sections.setdefault(section, {}).update(options)
        return sections

    def _store_sections(self, sections):
        for name in ('staging', 'tasks'):
            sections['os_glance_%s_store' % name] = {
                'filesystem_store_datadir': os.path.join(self.workdir, name)}
        if self.multistore:
            sections['DEFAULT']['enabled_backends'] = ', '.join(
                '%s:%s' % (s.id, s.type) for s in self.stores)
            sections['glance_store'] = {
                'default_backend': self.default_store}
            for store in self.stores:
                options = {'store_description': store.description or store.id}
                if store.type == 'file':
                    options['filesystem_store_datadir'] = self.datadir(
                        store.id)
                options.update(store.options)
                sections[store.id] = options
        else:
            default = next(s for s in self.stores
                           if s.id == self.default_store)
            sections['glance_store'] = {
                'stores': 'file,http',
                'default_store': 'file',
                'filesystem_store_datadir': self.datadir(default.id),
            }

    def _paste_ini(self):
        with open(os.path.join(self.venv, 'etc', 'glance',
                               'glance-api-paste.ini')) as handle:
            text = handle.read()
        text = text.replace(
            'keystone = cors http_proxy_to_wsgi versionnegotiation '
            'osprofiler authtoken context rootapp',
            'keystone = cors http_proxy_to_wsgi versionnegotiation '
            'osprofiler authtoken context rootapp\n'
            'localauth = cors http_proxy_to_wsgi versionnegotiation '
            'osprofiler localauth context rootapp')
        if 'localauth = cors' not in text:
            raise RuntimeError('glance-api-paste.ini has an unexpected shape')
        return text + textwrap.dedent('''
            [composite:glance-api-localauth]
            paste.composite_factory = glance.api:root_app_factory
            /: api
            /healthcheck: healthcheck

            [filter:localauth]
            paste.filter_factory = glance_localauth:filter_factory
            ''')

    def write_config(self):
        os.makedirs(self.confdir, exist_ok=True)
        for store in self.stores:
            if store.type == 'file':
                os.makedirs(self.datadir(store.id), exist_ok=True)
        for name in ('staging', 'tasks', 'cache'):
            os.makedirs(os.path.join(self.workdir, name), exist_ok=True)
        lines = []
        for section, options in self._conf_sections().items():
            lines.append('[%s]' % section)
            lines.extend('%s = %s' % item for item in options.items())
            lines.append('')
        with open(self.conf_path, 'w') as fh:
            fh.write('\n'.join(lines))
        if self.post_config is not None:
            self.post_config(self.conf_path)
        with open(os.path.join(self.confdir, 'glance-api-paste.ini'),
                  'w') as fh:
            fh.write(self._paste_ini())
        pydir = os.path.join(self.workdir, 'python')
        os.makedirs(pydir, exist_ok=True)
        shutil.copy(os.path.join(os.path.dirname(__file__),
                                 'glance_localauth.py'), pydir)
        with open(os.path.join(pydir, 'sitecustomize.py'), 'w') as fh:
            fh.write(SQLITE_SITECUSTOMIZE)

    # -- life cycle ----------------------------------------------------

    def _env(self, sitecustomize=True):
        # The SQLite tuning is for the API's concurrent requests, not for
        # the schema migrations of db_sync.
        env = dict(os.environ)
        env['OS_GLANCE_CONFIG_DIR'] = self.confdir
        env['PYTHONPATH'] = os.pathsep.join([os.path.join(
            self.workdir, 'python' if sitecustomize else 'python-plain')] +
            self.extra_pythonpath)
        env.pop('PYTHONHOME', None)
        return env

    def start(self):
        self.write_config()
        if not self._db_synced:
            subprocess.run(
                [os.path.join(self.venv, 'bin', 'glance-manage'),
                 '--config-file', self.conf_path,
                 'db_sync'], check=True, env=self._env(sitecustomize=False),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._db_synced = True
        if self._listener is None:  # started again: the same port
            self._listener = common.reserve_port(self.port)
        fd = self._listener.fileno()
        try:
            with open(self.logfile + '.gunicorn', 'ab') as out:
                self.process = common.popen(
                    [os.path.join(self.venv, 'bin', 'gunicorn'),
                     '--bind', 'fd://%d' % fd,
                     '--workers', '1', '--worker-class', 'gthread',
                     '--threads', '8', '--timeout', '600', '--keep-alive',
                     '0', '--no-control-socket',
                     'glance.wsgi.api:application'],
                    env=self._env(), stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, cwd=self.workdir,
                    pass_fds=[fd])
        finally:
            # Ours closed: once glance-api stops, connections are refused.
            self._listener.close()
            self._listener = None
        common.wait_for_http(self.url + '/versions', 60, self.process,
                             self.logfile + '.gunicorn')
        self._register()
        return self

    def stop(self):
        self._note_unfinished()
        common.stop_process(self.process)
        self.process = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def kill(self):
        """SIGKILL glance-api, as a crash would."""
        import signal
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def restart(self, **changes):
        """Stop, change settings (e.g. ``multistore=False``), start again."""
        self.stop()
        for key, value in changes.items():
            setattr(self, key, value)
        return self.start()

    def _register(self):
        self.left_at_stop = None
        GlanceServer.started.add(self)

    def _note_unfinished(self):
        """List the unfinished images while Glance can still answer."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.left_at_stop = self.unfinished_images()
        except Exception as e:  # reported by the check, never lost
            self.left_at_stop = [('?', 'images not listed at stop: %s' % e,
                                  '?')]

    def store_files(self, store_id):
        """Image ids whose data is on disk in a file store."""
        path = self.datadir(store_id)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []
