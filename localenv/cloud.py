"""A real all-in-one OpenStack cloud on 127.0.0.1, with our driver loaded.

keystone, placement, Glance (multi-store), neutron (API only), nova-api,
-conductor, -scheduler and -compute on a private libvirtd (KVM when
/dev/kvm is usable, else QEMU), MariaDB and RabbitMQ on private data
directories and loopback ports. Everything comes from PyPI (one venv) and
Debian packages (tools/install-deps.sh); nothing from devstack except our
own plugin: Glance's stores, nova's driver options and our tempest options
are written by ``devstack/plugin.sh`` itself (see ``localenv.devstack``).

    python -m localenv.cloud up       # a fresh cloud; prints progress
    python -m localenv.cloud status
    python -m localenv.cloud down     # stops what ``up`` started

``up`` records every process it starts in ``state.json`` as it goes (PID,
start time, command line: ``localenv.processes``), one-shot commands such as
the schema migrations included, so ``down`` (or a failed ``up``) stops
exactly those, and never a process that merely got a recorded PID later.
"""

import argparse
import concurrent.futures
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from localenv import ceph as ceph_env
from localenv import common
from localenv import devstack
from localenv import glance as glance_env
from localenv import keystone as keystone_env
from localenv import libvirt as libvirt_env
from localenv import mariadb as mariadb_env
from localenv import processes
from localenv import rabbitmq as rabbitmq_env
from localenv import secret_scan

CLOUD_REQUIREMENTS = [
    'keystone==30.0.0', 'openstack-placement==16.0.0', 'glance==33.0.0',
    'nova==34.0.0', 'neutron==29.0.0', 'tempest==47.0.0',
    'python-openstackclient', 'uWSGI', 'gunicorn', 'PyMySQL',
    'libvirt-python',
]
WORKDIR = os.path.join(common.CACHE, 'cloud')
HOST = 'ngm-aio'
DATABASES = ('keystone', 'placement', 'glance', 'neutron', 'nova_api',
             'nova', 'nova_cell0')
SERVICE_USERS = ('nova', 'glance', 'placement', 'neutron')
FLAVORS = (('42', 'm1.ngm', 64), ('84', 'm1.ngm.alt', 128))
GRACE = 10
# devstack-plugin-ceph's variables for nova's rbd disks (its defaults,
# except the cephx user: devstack-plugin-ceph gives nova cinder's user;
# there is no cinder here, so nova gets a user of its own).
DEVSTACK_PLUGIN_CEPH_NOVA = {
    'NOVA_CEPH_POOL': 'vms',
    'CINDER_CEPH_USER': 'nova',
    'CINDER_CEPH_UUID': '6d2f5a3e-0f5b-4c7e-9a2b-4e1c2b7d9f10',
}
# devstack-plugin-ceph's Glance user and pool (its _ceph_configure_glance
# caps: that pool only; our plugin grants the rest it needs).
DEVSTACK_PLUGIN_CEPH_GLANCE = {
    'GLANCE_CEPH_USER': 'glance',
    'GLANCE_CEPH_POOL': 'images',
}
# What devstack-plugin-ceph's configure_ceph_nova writes to $NOVA_CONF
# (post-config), in the shim's iniset: rbd instance disks.
DEVSTACK_PLUGIN_CEPH_NOVA_CONF = '''
iniset $NOVA_CONF libvirt rbd_user "$CINDER_CEPH_USER"
iniset $NOVA_CONF libvirt rbd_secret_uuid "$CINDER_CEPH_UUID"
iniset $NOVA_CONF libvirt inject_key false
iniset $NOVA_CONF libvirt inject_partition -2
iniset $NOVA_CONF libvirt disk_cachemodes "network=writeback"
iniset $NOVA_CONF libvirt images_type rbd
iniset $NOVA_CONF libvirt images_rbd_pool "$NOVA_CEPH_POOL"
iniset $NOVA_CONF libvirt images_rbd_ceph_conf "$CEPH_CONF_FILE"
'''
# oslo.log's "<date> <time> <pid> LEVEL logger": what a service that failed
# to start but kept running writes.
FATAL_LOG_LINE = re.compile(r'^\S+ \S+ \d+ (CRITICAL \S+|ERROR nova) ')


def ensure_cloud_venv():
    return common.ensure_venv('cloud-venv', CLOUD_REQUIREMENTS)


def write_ini(path, sections):
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    for section, options in sections.items():
        if section != 'DEFAULT':
            parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, str(value))
    with open(path, 'w') as handle:
        parser.write(handle)


def stop_pids(records, grace=GRACE):
    """Stop recorded processes whose identity still matches."""
    processes.stop(records, grace)


def destroy_guests(uri, libvirt_workdir):
    """Remove nova's guests, then any QEMU our libvirtd left running."""
    listed = subprocess.run(['virsh', '-c', uri, 'list', '--all', '--name'],
                            capture_output=True, text=True, timeout=30)
    for name in listed.stdout.split():
        for verb in ('destroy', 'undefine'):
            subprocess.run(['virsh', '-c', uri, verb, name],
                           capture_output=True, timeout=30)
    libvirt_env.kill_guest_processes(libvirt_workdir)


class Cloud:
    """One all-in-one cloud in ``workdir``; ``state.json`` describes it."""

    def __init__(self, workdir=WORKDIR, plugin_overrides=None, ceph=None):
        """A cloud description; nothing runs until up().

        ``ceph``: rbd stores on a local Ceph cluster (default: when Ceph's
        Debian packages are installed).
        """
        self.workdir = workdir
        self.plugin_overrides = dict(plugin_overrides or {})
        self.ceph = (ceph_env.missing_reason() is None if ceph is None
                     else ceph)
        self.ceph_cluster = None
        self.state_file = os.path.join(workdir, 'state.json')
        self.state = None
        self.venv = None
        self.keystone = None
        # record/forget run from the migration threads too.
        self._state_lock = threading.RLock()

    # -- paths -----------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    @property
    def nova_conf(self):
        return self.path('etc', 'nova', 'nova.conf')

    @property
    def nova_cpu_conf(self):
        return self.path('etc', 'nova', 'nova-cpu.conf')

    @property
    def tempest_dir(self):
        return self.path('tempest')

    @property
    def tempest_conf(self):
        return os.path.join(self.tempest_dir, 'etc', 'tempest.conf')

    def devstack_files(self, **overrides):
        """The devstack variables for this cloud's files.

        With Ceph, the plugin sees devstack-plugin-ceph enabled and the
        variables that plugin would have set.
        """
        plugins = ('nova-glance-multistore',)
        variables = dict(self.plugin_overrides, **overrides)
        if self.state and self.state.get('ceph_conf'):
            plugins = ('devstack-plugin-ceph',) + plugins
            variables.update(CEPH_CONF_FILE=self.state['ceph_conf'],
                             **DEVSTACK_PLUGIN_CEPH_GLANCE,
                             **DEVSTACK_PLUGIN_CEPH_NOVA)
        return devstack.DevstackFiles(
            data_dir=self.path('data'),
            glance_api_conf=self.path('glance', 'etc', 'glance-api.conf'),
            nova_conf=self.nova_conf, tempest_config=self.tempest_conf,
            python=self.bin('python') if self.venv else sys.executable,
            plugins=plugins, overrides=variables)

    # -- state -------------------------------------------------------------

    def load_state(self):
        if os.path.exists(self.state_file):
            with open(self.state_file) as handle:
                self.state = json.load(handle)
        return self.state

    def save_state(self):
        with self._state_lock:
            tmp = self.state_file + '.tmp'
            # 0600: it holds the admin password.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as handle:
                json.dump(self.state, handle, indent=2, sort_keys=True)
            os.replace(tmp, self.state_file)

    def record(self, name, pid, logfile, oneshot=False):
        """Remember a process the moment it exists, for ``down``.

        With its identity (start time, command line), so that ``down``
        never signals a later process that got the same PID. ``oneshot``:
        a command expected to exit (migrations); ``forget`` it after.
        """
        entry = processes.identity(pid, name=name, log=logfile) or {
            'name': name, 'pid': pid, 'log': logfile, 'start_time': None}
        if oneshot:
            entry['oneshot'] = True
        with self._state_lock:
            self.state['processes'].append(entry)
            self.save_state()
        return entry

    def forget(self, name=None, entry=None):
        """Drop the records named ``name`` (or the one ``entry``)."""
        with self._state_lock:
            self.state['processes'] = [
                p for p in self.state['processes']
                if not (p is entry or (name and p['name'] == name))]
            self.save_state()

    def ensure_running(self):
        """Raise, with its log's tail, if a process we started died.

        nova-conductor and nova-scheduler answer no HTTP: a crash there
        would otherwise only show later, as a compute host that never
        registers.
        """
        for entry in self.state['processes']:
            if not entry.get('oneshot') and not processes.alive(entry):
                raise RuntimeError('%s (pid %d) exited; log: %s' % (
                    entry['name'], entry['pid'], common.tail(entry['log'])))

    def running(self):
        """Recorded processes (or their workers) that still run."""
        return [p for p in list((self.state or {}).get('processes', []))
                if processes.running(p)]

    # -- processes -----------------------------------------------------------

    def spawn(self, name, argv, env=None):
        logfile = self.path('logs', '%s.log' % name)
        with open(logfile, 'ab') as out:
            process = common.popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=self.workdir, start_new_session=True)
        self.record(name, process.pid, logfile)
        return process

    def uwsgi(self, name, module, port, env):
        """A WSGI service under uWSGI (as devstack runs them).

        ``Connection: close`` because clients that reuse connections get
        "connection reset" from uWSGI's http-socket.
        """
        process = self.spawn(name, [
            self.bin('uwsgi'), '--http-socket', '127.0.0.1:%d' % port,
            '--module', module, '--home', self.venv, '--master',
            '--processes', '1', '--threads', '4', '--enable-threads',
            '--need-app', '--lazy-apps', '--die-on-term', '--thunder-lock',
            '--buffer-size', '65535', '--add-header', 'Connection: close'],
            env=dict(os.environ, **env))
        return process

    def serve_uwsgi(self, name, module, env, path=''):
        """A WSGI service under uWSGI on a free port; its URL once it serves.

        uWSGI binds the port itself: when another process took it first,
        uWSGI exits ("Address already in use") and starts again on a new
        port. Until uWSGI says it bound the port, an answer there could be
        someone else's.
        """
        logfile = self.path('logs', '%s.log' % name)

        def start():
            port = common.free_port()
            offset = os.path.getsize(logfile) if os.path.exists(
                logfile) else 0
            process = self.uwsgi(name, module, port, env)
            bound = 'bound to TCP address 127.0.0.1:%d ' % port
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                if bound in common.tail(logfile, 10000, offset):
                    break
                time.sleep(0.2)
            if process.poll() is not None:
                self.forget(name)
                if common.address_in_use(common.tail(logfile, 200, offset)):
                    raise common.PortInUse('%s port %d' % (name, port))
            url = 'http://127.0.0.1:%d%s' % (port, path)
            self.wait_http(name, url, process)
            return url

        return common.retry_on_port_in_use(start)

    def wait_http(self, name, url, process, timeout=120):
        common.wait_for_http(url, timeout, process,
                             self.path('logs', '%s.log' % name))

    def run(self, *argv, timeout=600, env=None):
        """A one-shot command (db sync, cell setup); its output on error.

        Recorded while it runs (``down`` stops it: a failed ``up`` must
        not leave a migration behind), in its own process group. Its
        command line must not carry a secret, and its error text is
        redacted.
        """
        argv = [str(arg) for arg in argv]
        common.check_command_line(argv)
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=self.workdir, env=env, start_new_session=True)
        entry = self.record('run: %s' % os.path.basename(argv[0]),
                            process.pid, '', oneshot=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            processes.stop([entry], grace=5)
            process.wait()
            raise
        finally:
            self.forget(entry=entry)
        if process.returncode:
            raise RuntimeError(common.redact('%s failed (%s): %s%s' % (
                ' '.join(argv), process.returncode, stdout[-3000:],
                stderr[-3000:])))
        return stdout

    def component(self, name, obj, pids=None):
        """Start a localenv component and record its processes.

        ``pids(obj)`` gives ``(name, pid)`` pairs when it runs more than
        one. A component whose start fails is stopped by itself: it may
        have started a process it did not get to report.
        """
        try:
            obj.start()
        except Exception:
            obj.stop()
            raise
        for child, pid in (pids(obj) if pids else
                           [(name, obj.process.pid)]):
            self.record(child, pid, getattr(obj, 'logfile', ''))
        return obj

    # -- up ------------------------------------------------------------------

    def up(self):
        start = time.monotonic()
        self._fresh()
        steps = [
            ('Python environment', self._venv),
            ('MariaDB and RabbitMQ', self._databases),
            ('Ceph (rbd stores)', self._ceph),
            ('keystone', self._keystone),
            ('placement', self._placement),
            ('Glance (devstack plugin post-config)', self._glance),
            ('neutron (API only)', self._neutron),
            ('nova control plane', self._nova_control),
            ('libvirtd and nova-compute', self._nova_compute),
            ('images and flavors', self._images_and_flavors),
            ('openrc and tempest workspace', self._tempest_workspace),
        ]
        try:
            for title, step in steps:
                began = time.monotonic()
                common.log('cloud: %s ...' % title)
                step()
                self.ensure_running()
                self.check_command_lines()
                common.log('cloud: %s done in %.1f s' % (
                    title, time.monotonic() - began))
        except BaseException:
            common.log('cloud: up failed; stopping what it started')
            self.down()
            raise
        self.state['up_seconds'] = round(time.monotonic() - start, 1)
        self.save_state()
        common.log('cloud: up in %.0f s; source %s' % (
            self.state['up_seconds'], self.path('openrc')))
        return self

    def _fresh(self):
        if self.load_state() and self.running():
            common.log('cloud: a previous cloud still runs; stopping it')
            self.down()
        shutil.rmtree(self.workdir, ignore_errors=True)
        for sub in ('logs', 'etc/nova', 'etc/placement', 'etc/neutron',
                    'data/nova', 'instances', 'locks'):
            os.makedirs(self.path(sub), exist_ok=True)
        self.state = {'workdir': self.workdir, 'processes': [],
                      'urls': {}, 'virt_type': libvirt_env.virt_type()}
        self.save_state()

    def _venv(self):
        self.venv = ensure_cloud_venv()
        self.state['venv'] = self.venv
        # A regular install (not editable): nova finds our driver only in
        # its own nova/virt/, where the wheel puts the shim.
        self.run(self.bin('pip'), 'install', '--quiet', '--no-deps',
                 '--force-reinstall', '--disable-pip-version-check',
                 common.REPO)
        self.plugin = devstack.settings(self.devstack_files())

    def _databases(self):
        self.db = self.component('mariadb', mariadb_env.MariaDB(
            self.path('mariadb')))
        self.db.create_databases(*DATABASES)
        self.mq = self.component('rabbitmq', rabbitmq_env.RabbitMQ(
            self.path('rabbitmq')), pids=lambda mq: zip(
                ('rabbitmq', 'epmd'), mq.pids))
        self._start_migrations()

    def _ceph(self):
        """One mon and one OSD, and the pools of the plugin's rbd stores."""
        if not self.ceph:
            common.log('cloud: no Ceph here (%s): file and http stores only'
                       % (ceph_env.missing_reason() or 'disabled'))
            return
        # msgr v1 and a mgr: what nova's rbd image backend needs (phase 3
        # of tempest-aio), see CephCluster.
        cluster = ceph_env.CephCluster(self.path('ceph'), msgr1=True,
                                       mgr=True)
        self.ceph_cluster = self.component(
            'ceph', cluster, pids=lambda c: [
                (os.path.basename(p.args[0]), p.pid) for p in c.processes])
        self.state['ceph_conf'] = cluster.conf
        self.save_state()
        # devstack-plugin-ceph's _ceph_configure_glance; our plugin's
        # post-config makes the rbd stores' other pools, if any.
        glance_pool = DEVSTACK_PLUGIN_CEPH_GLANCE['GLANCE_CEPH_POOL']
        cluster.create_pool(glance_pool)
        cluster.create_user(DEVSTACK_PLUGIN_CEPH_GLANCE['GLANCE_CEPH_USER'], {
            'mon': 'allow r',
            'osd': 'allow class-read object_prefix rbd_children, '
                   'allow rwx pool=%s' % glance_pool})

    def emulate_devstack_plugin_ceph_nova(self):
        """Do devstack-plugin-ceph's job for nova's rbd instance disks.

        As its ``configure_ceph`` (the nova pool and the cephx user nova
        and libvirt use), ``import_libvirt_secret_ceph`` (a libvirt secret
        holding that user's key, ``rbd_secret_uuid``) and
        ``configure_ceph_nova`` (``[libvirt] images_type = rbd`` and the
        rest, into ``$NOVA_CONF``). Least privilege where it gives more:
        ``profile rbd`` on the nova pool and on the pools of the plugin's
        rbd stores (the ceph-native snapshot clones into them). Base images
        come from a file store and are imported, so no other pool is read.
        Our plugin's post-config must run afterwards, as in devstack.
        """
        cluster = self.ceph_cluster
        if cluster is None:
            raise RuntimeError('this cloud runs no Ceph cluster')
        variables = DEVSTACK_PLUGIN_CEPH_NOVA
        conf = cluster.conf
        pool = variables['NOVA_CEPH_POOL']
        user = variables['CINDER_CEPH_USER']
        cluster.create_pool(pool)
        store_pools = [entry.split(':', 1)[1] for entry in
                       self.plugin['NGM_GLANCE_RBD_STORES'].split(',')]
        cluster.create_user(user, {
            'mon': 'profile rbd',
            'osd': ', '.join('profile rbd pool=%s' % p
                             for p in [pool] + store_pools)})
        key = common.register_secret(self.run(
            'ceph', '-c', conf, 'auth', 'get-key', 'client.%s' % user).strip(),
            'cephx key of client.%s' % user)
        libvirt_env.define_ceph_secret(
            self.state['libvirt_uri'], variables['CINDER_CEPH_UUID'],
            'client.%s secret' % user, key)
        devstack.run_script(self.devstack_files(),
                            DEVSTACK_PLUGIN_CEPH_NOVA_CONF)

    def _start_migrations(self):
        """Schema migrations in the background while keystone starts.

        They need nothing but the database (and, for nova's cells, the
        transport URL), so each runs from a database-only config file; the
        step that starts a service waits for its own migrations. About 25 s
        of a cloud's start-up.
        """
        nova_conf = self.path('etc', 'nova', 'migrate.conf')
        write_ini(nova_conf, {
            'DEFAULT': {'transport_url': self.mq.transport_url},
            'api_database': {'connection': self.db.url('nova_api')},
            'database': {'connection': self.db.url('nova')}})
        neutron_conf = self.path('etc', 'neutron', 'migrate.conf')
        write_ini(neutron_conf, {
            'DEFAULT': {'core_plugin': 'ml2', 'service_plugins': ''},
            'database': {'connection': self.db.url('neutron')}})
        placement_conf = self.path('etc', 'placement', 'migrate.conf')
        write_ini(placement_conf, {'placement_database': {
            'connection': self.db.url('placement')}})
        manage = [self.bin('nova-manage'), '--config-file', nova_conf]
        self.migrations = {
            'placement': [[self.bin('placement-manage'), '--config-file',
                           placement_conf, 'db', 'sync']],
            'neutron': [[self.bin('neutron-db-manage'), '--config-file',
                         neutron_conf, 'upgrade', 'heads']],
            'nova': [manage + ['api_db', 'sync'],
                     # cell0's URL: [database] connection's with
                     # "_cell0" appended (nova_cell0); never on the
                     # command line, where ps would show its password.
                     manage + ['cell_v2', 'map_cell0'],
                     manage + ['cell_v2', 'create_cell', '--name', 'cell1'],
                     manage + ['db', 'sync']],
        }
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.migrations = {
            name: self._pool.submit(self._run_all, commands)
            for name, commands in self.migrations.items()}
        self._pool.shutdown(wait=False)

    def _run_all(self, commands):
        for argv in commands:
            self.run(*argv)

    def migrated(self, name):
        """Wait for a service's migrations; raise their error."""
        self.migrations[name].result()

    def _keystone(self):
        ks = keystone_env.KeystoneServer(self.path('keystone'),
                                         venv=self.venv,
                                         database=self.db.url('keystone'))
        self.keystone = self.component('keystone', ks)
        self.state['urls']['identity'] = ks.url
        self.state['admin_password'] = ks.passwords['admin']
        for name in SERVICE_USERS:
            ks.user(name, 'service', ['admin', 'service'])
        ks.role('member')
        ks.role('reader')

    def _authtoken(self, user):
        return self.keystone.authtoken_conf(user)

    def _client_auth(self, user='nova'):
        """keystoneauth options for a service talking to another one."""
        return {'auth_type': 'password', 'auth_url': self.keystone.url,
                'username': user, 'password': self.keystone.passwords[user],
                'project_name': 'service', 'user_domain_id': 'default',
                'project_domain_id': 'default', 'region_name': 'RegionOne'}

    def _placement(self):
        confdir = self.path('etc', 'placement')
        write_ini(os.path.join(confdir, 'placement.conf'), {
            'DEFAULT': {'debug': 'false'},
            'api': {'auth_strategy': 'keystone'},
            'keystone_authtoken': self._authtoken('placement'),
            'placement_database': {
                'connection': self.db.url('placement')},
        })
        self.migrated('placement')
        url = self.serve_uwsgi('placement', 'placement.wsgi.api:application',
                               {'OS_PLACEMENT_CONFIG_DIR': confdir})
        self.keystone.endpoint('placement', 'placement', url)
        self.state['urls']['placement'] = url

    def _glance(self):
        # nova.conf must exist before the plugin's post-config writes
        # nova's options into it, as in devstack.
        self._write_nova_conf()
        files = self.devstack_files()
        server = glance_env.GlanceServer(
            self.path('glance'), keystone=self.keystone, venv=self.venv,
            # Glance's rbd driver needs Debian's rados/rbd bindings.
            extra_pythonpath=([ceph_env.bindings_dir()] if self.ceph
                              else []),
            post_config=lambda path: devstack.run_phase(
                files, 'stack', 'post-config'),
            extra_conf={'database': {'connection': self.db.url('glance')},
                        'DEFAULT': {'debug': 'false'}})
        self.glance = self.component('glance', server)
        self.keystone.endpoint('image', 'glance', server.url)
        self.state['urls']['image'] = server.url

    def _neutron(self):
        confdir = self.path('etc', 'neutron')
        shutil.copy(os.path.join(self.venv, 'etc', 'neutron',
                                 'api-paste.ini'), confdir)
        conf = os.path.join(confdir, 'neutron.conf')
        write_ini(conf, {
            'DEFAULT': {
                'core_plugin': 'ml2', 'service_plugins': '',
                'auth_strategy': 'keystone',
                'api_paste_config': os.path.join(confdir, 'api-paste.ini'),
                'transport_url': self.mq.transport_url,
                'notify_nova_on_port_status_changes': 'false',
                'notify_nova_on_port_data_changes': 'false',
                'api_workers': '1', 'rpc_workers': '0',
            },
            'database': {'connection': self.db.url('neutron')},
            'keystone_authtoken': self._authtoken('neutron'),
            'ml2': {'type_drivers': 'flat', 'tenant_network_types': '',
                    'mechanism_drivers': '',
                    'extension_drivers': 'port_security'},
            'ml2_type_flat': {'flat_networks': '*'},
            'oslo_concurrency': {'lock_path': self.path('locks')},
        })
        self.migrated('neutron')
        url = self.serve_uwsgi('neutron-api', 'neutron.wsgi.api:application',
                               {'OS_NEUTRON_CONFIG_DIR': confdir,
                                'OS_NEUTRON_CONFIG_FILES': 'neutron.conf'})
        self.keystone.endpoint('network', 'neutron', url)
        self.state['urls']['network'] = url
        # neutron 29: GET /v2.0/ports answers 500 after each start until
        # one GET /v2.0/networks has been served.
        token, _ = self.keystone.token('admin', 'admin')
        common.http_get(url + '/v2.0/networks', token)

    def _write_nova_conf(self):
        """nova's base configuration; post-config adds the plugin's part."""
        helper = '%s --config-file %s' % (self.bin('privsep-helper'),
                                          self.nova_cpu_conf)
        write_ini(self.nova_conf, {
            'DEFAULT': {
                'host': HOST, 'my_ip': '127.0.0.1', 'debug': 'true',
                'transport_url': self.mq.transport_url,
                'state_path': self.path('data', 'nova'),
                'instances_path': self.path('instances'),
                'compute_driver': 'libvirt.LibvirtDriver',
                'vif_plugging_is_fatal': 'false',
                'vif_plugging_timeout': '0',
                # Guests without an OS never shut down on ACPI.
                'shutdown_timeout': '3',
                'osapi_compute_workers': '1', 'metadata_workers': '1',
                'heal_instance_info_cache_interval': '-1',
            },
            'api': {'auth_strategy': 'keystone'},
            'api_database': {'connection': self.db.url('nova_api')},
            'database': {'connection': self.db.url('nova')},
            'keystone_authtoken': self._authtoken('nova'),
            'placement': self._client_auth(),
            'neutron': self._client_auth(),
            'glance': {'region_name': 'RegionOne'},
            'service_user': dict(self._client_auth(),
                                 send_service_user_token='true'),
            'conductor': {'workers': '1'},
            'scheduler': {'workers': '1',
                          'discover_hosts_in_cells_interval': '-1'},
            'libvirt': {'virt_type': libvirt_env.virt_type(),
                        'cpu_mode': 'none'},
            'vnc': {'enabled': 'false'},
            'wsgi': {'api_paste_config': self.path(
                'etc', 'nova', 'api-paste.ini')},
            'oslo_concurrency': {'lock_path': self.path('locks')},
            'oslo_messaging_notifications': {'driver': 'noop'},
            # Running as root: privsep's helper needs no sudo (and sudo's
            # secure_path would not find the venv's privsep-helper).
            'nova_sys_admin': {'helper_command': helper},
            'privsep_osbrick': {'helper_command': helper},
            'vif_plug_ovs_privileged': {'helper_command': helper},
        })

    def _nova_control(self):
        shutil.copy(os.path.join(self.venv, 'etc', 'nova', 'api-paste.ini'),
                    self.path('etc', 'nova'))
        self.migrated('nova')
        for name in ('nova-conductor', 'nova-scheduler'):
            self.spawn(name, [self.bin(name), '--config-file',
                              self.nova_conf])
        # nova reads api-paste.ini and nova.conf from this directory.
        url = self.serve_uwsgi(
            'nova-api', 'nova.wsgi.osapi_compute:application',
            {'OS_NOVA_CONFIG_DIR': self.path('etc', 'nova')}, '/v2.1')
        self.state['urls']['compute'] = url
        self.save_state()
        self.keystone.endpoint('compute', 'nova', url)

    def _nova_compute(self):
        daemon = libvirt_env.Libvirtd(self.path('libvirt'))
        self.libvirtd = self.component('libvirtd', daemon)
        self.state['libvirt_uri'] = daemon.uri
        self.save_state()
        process = self.start_compute()
        self.discover_compute_host(process)

    def start_compute(self):
        """nova-compute on a nova-cpu.conf copied from nova.conf.

        As devstack's start_nova_compute does; only nova-compute gets the
        private libvirtd's URI.
        """
        parser = configparser.RawConfigParser(strict=False)
        parser.optionxform = str
        parser.read(self.nova_conf)
        if not parser.has_section('libvirt'):
            parser.add_section('libvirt')
        parser.set('libvirt', 'connection_uri', self.state['libvirt_uri'])
        # nova-compute must not reach the databases (devstack removes them
        # from nova-cpu.conf too).
        for section in ('database', 'api_database'):
            parser.remove_section(section)
        with open(self.nova_cpu_conf, 'w') as handle:
            parser.write(handle)
        # A fresh log per start: the start-up check reads it from the top.
        logfile = self.path('logs', 'nova-compute.log')
        if os.path.exists(logfile):
            os.replace(logfile, logfile + '.previous')
        env = None
        if self.state.get('ceph_conf'):
            # nova's rbd image backend needs Debian's rados/rbd bindings
            # (devstack-plugin-ceph installs python3-rados/-rbd).
            env = dict(os.environ, PYTHONPATH=ceph_env.bindings_dir())
        return self.spawn('nova-compute', [self.bin('nova-compute'),
                                           '--config-file',
                                           self.nova_cpu_conf], env=env)

    def restart_compute(self):
        """nova-compute again, on a nova-cpu.conf copied from nova.conf."""
        stop_pids([p for p in self.state['processes']
                   if p['name'] == 'nova-compute'])
        self.forget('nova-compute')
        process = self.start_compute()
        self.wait_compute_up(process)
        self.check_command_lines()

    def _compute_service_up(self):
        out = subprocess.run(
            [self.bin('openstack'), 'compute', 'service', 'list',
             '--service', 'nova-compute', '-f', 'json'],
            capture_output=True, text=True, env=self.openrc_env(),
            timeout=60)
        if out.returncode:
            return False
        return any(s['Host'] == HOST and s['State'] == 'up'
                   for s in json.loads(out.stdout))

    def wait_compute_up(self, process, timeout=120):
        deadline = time.monotonic() + timeout
        logfile = self.path('logs', 'nova-compute.log')
        while time.monotonic() < deadline:
            self._check_compute_alive(process)
            if self._compute_service_up():
                return
            time.sleep(2)
        raise RuntimeError('nova-compute not up in %d s: %s' % (
            timeout, common.tail(logfile)))

    def _check_compute_alive(self, process):
        """Raise when nova-compute died or failed to start.

        nova-compute keeps running after a failed init_host: its log says
        so with an ERROR from the top-level ``nova`` logger.
        """
        logfile = self.path('logs', 'nova-compute.log')
        with open(logfile, errors='replace') as handle:
            failed = any(FATAL_LOG_LINE.match(line) for line in handle)
        if process.poll() is not None or failed:
            raise RuntimeError('nova-compute failed to start: %s' %
                               common.tail(logfile))

    def discover_compute_host(self, process, timeout=120):
        """Map the compute host into cell1 once it has registered."""
        manage = [self.bin('nova-manage'), '--config-file', self.nova_conf]
        deadline = time.monotonic() + timeout
        logfile = self.path('logs', 'nova-compute.log')
        while time.monotonic() < deadline:
            self._check_compute_alive(process)
            self.run(*manage, 'cell_v2', 'discover_hosts')
            if HOST in self.run(*manage, 'cell_v2', 'list_hosts'):
                return
            time.sleep(2)
        raise RuntimeError('nova-compute did not register in %d s: %s' % (
            timeout, common.tail(logfile)))

    def openrc_env(self):
        env = dict(os.environ)
        env.update({
            'OS_AUTH_URL': self.state['urls']['identity'],
            'OS_USERNAME': 'admin', 'OS_PROJECT_NAME': 'admin',
            'OS_PASSWORD': self.state['admin_password'],
            'OS_USER_DOMAIN_ID': 'default', 'OS_PROJECT_DOMAIN_ID': 'default',
            'OS_IDENTITY_API_VERSION': '3', 'OS_REGION_NAME': 'RegionOne',
        })
        return env

    def openstack(self, *args):
        done = subprocess.run([self.bin('openstack')] + list(args),
                              capture_output=True, text=True,
                              env=self.openrc_env(), timeout=120)
        if done.returncode:
            raise RuntimeError(common.redact('openstack %s: %s' % (
                ' '.join(args), done.stderr)))
        return done.stdout

    def _images_and_flavors(self):
        """Two OS-less 64 MiB qcow2 images in the plugin's boot store.

        The boot store is deliberately not Glance's default: the upload
        carries ``x-image-meta-store``.
        """
        store = self.plugin['NGM_BOOT_IMAGE_STORE']
        token, _ = self.keystone.token('admin', 'admin')
        disk = self.path('data', 'tiny.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk,
                        '64M'], check=True)
        with open(disk, 'rb') as handle:
            data = handle.read()
        images = []
        for name in ('ngm-tiny', 'ngm-tiny-alt'):
            image = self.glance.create_image(
                name, data, store=store, token=token, disk_format='qcow2',
                visibility='public')
            if image.get('stores') != store:
                raise RuntimeError('image %s landed in %s, not %s' % (
                    image['id'], image.get('stores'), store))
            images.append(image['id'])
        self.state['images'] = images
        self.state['boot_image_store'] = store
        for flavor_id, name, ram in FLAVORS:
            self.openstack('flavor', 'create', '--id', flavor_id, '--ram',
                           str(ram), '--disk', '1', '--vcpus', '1', name)

    def _tempest_workspace(self):
        env = self.openrc_env()
        fd = os.open(self.path('openrc'), os.O_WRONLY | os.O_CREAT |
                     os.O_TRUNC, 0o600)  # the admin password
        with os.fdopen(fd, 'w') as handle:
            handle.write('# admin credentials of the local cloud\n')
            for key in sorted(k for k in env if k.startswith('OS_')):
                handle.write('export %s=%s\n' % (key, env[key]))
            handle.write('export PATH=%s:$PATH\n' % self.bin(''))
        self.run(self.bin('tempest'), 'init', '--workspace-path',
                 self.path('tempest-workspaces.yaml'), self.tempest_dir)
        self.write_tempest_conf()
        devstack.run_phase(self.devstack_files(), 'stack', 'test-config')

    def write_tempest_conf(self):
        """The upstream part of tempest.conf.

        Our plugin's part comes from the devstack plugin's test-config
        phase.
        """
        urls = self.state['urls']
        images = self.state['images']
        write_ini(self.tempest_conf, {
            'DEFAULT': {'log_file': self.path('logs', 'tempest.log')},
            'oslo_concurrency': {'lock_path': self.path('locks')},
            'auth': {'use_dynamic_credentials': 'true',
                     'create_isolated_networks': 'false',
                     'admin_username': 'admin',
                     'admin_password': self.state['admin_password'],
                     'admin_project_name': 'admin',
                     'admin_domain_name': 'Default'},
            'identity': {'uri_v3': urls['identity'], 'auth_version': 'v3',
                         'region': 'RegionOne'},
            'identity-feature-enabled': {'api_v2': 'false'},
            'compute': {'image_ref': images[0], 'image_ref_alt': images[1],
                        'flavor_ref': FLAVORS[0][0],
                        'flavor_ref_alt': FLAVORS[1][0],
                        'min_microversion': '2.1',
                        'max_microversion': 'latest',
                        'min_compute_nodes': '1',
                        'build_timeout': '180'},
            'compute-feature-enabled': {
                'snapshot': 'true', 'resize': 'false',
                'cold_migration': 'false', 'live_migration': 'false',
                'vnc_console': 'false', 'spice_console': 'false',
                'serial_console': 'false', 'console_output': 'false',
                'change_password': 'false', 'interface_attach': 'false',
                'personality': 'false', 'attach_encrypted_volume': 'false'},
            'image': {'build_timeout': '180'},
            'network': {'project_networks_reachable': 'false'},
            'service_available': {'cinder': 'false', 'swift': 'false',
                                  'neutron': 'true', 'glance': 'true',
                                  'nova': 'true'},
            'validation': {'run_validation': 'false'},
        })

    # -- secrets ----------------------------------------------------------

    def secret_values(self):
        """``{what: value}`` of every secret this cloud handed out.

        Known without the process that ran ``up``: the fixed passwords,
        the keys in the cloud's keyring and key files, and whatever this
        process registered (nova's cephx key).
        """
        found = dict(common.known_secrets())
        found.update({
            'MariaDB password': mariadb_env.PASSWORD,
            'RabbitMQ password': rabbitmq_env.PASSWORD,
            'keystone admin password': keystone_env.ADMIN_PASSWORD})
        for user in SERVICE_USERS:
            found['keystone password of %s' % user] = (
                keystone_env.service_password(user))
        found.update(secret_scan.keyring_keys(self.path('ceph')))
        for keys in ('fernet-keys', 'credential-keys'):
            directory = self.path('keystone', keys)
            for name in (sorted(os.listdir(directory))
                         if os.path.isdir(directory) else []):
                with open(os.path.join(directory, name)) as handle:
                    found['keystone %s/%s' % (keys, name)] = (
                        handle.read().strip())
        return {what: value for what, value in found.items() if value}

    def check_command_lines(self):
        """Raise when a process we started shows a secret to ``ps``."""
        leaders = {p['pid'] for p in self.running()}
        guests = libvirt_env.guest_processes(self.path('libvirt'))
        pids = set(secret_scan.ours(leaders)) | {
            g['pid'] for g in guests.values()}
        findings = secret_scan.scan_command_lines(sorted(pids),
                                                  self.secret_values())
        if findings:
            raise RuntimeError('secrets on command lines:\n%s' %
                               secret_scan.describe(findings))

    def scan_logs_for_secrets(self):
        """Search every log of the cloud for its secrets; the findings.

        For the end of a run (``tox -e tempest-aio`` fails on a finding).
        """
        findings = secret_scan.scan_logs([self.workdir],
                                         self.secret_values())
        for line in secret_scan.describe(findings).splitlines():
            common.log('secret in a log: %s' % line)
        common.log('cloud: %d secret(s) found in the logs under %s' % (
            len(findings), self.workdir))
        return findings

    # -- down and status --------------------------------------------------

    def down(self):
        """Stop every recorded process (guests first); keep the files."""
        start = time.monotonic()
        if self.state is None and not self.load_state():
            common.log('cloud: nothing recorded in %s' % self.state_file)
            return 0
        uri = self.state.get('libvirt_uri')
        names = {p['name'] for p in self.running()}
        if uri and 'libvirtd' in names:
            destroy_guests(uri, self.path('libvirt'))
        stop_pids(self.state['processes'])
        # QEMU outlives its libvirtd: what is left, by its pid file.
        libvirt_env.kill_guest_processes(self.path('libvirt'))
        left = self.running()
        if left:
            raise RuntimeError('still running after down: %s' % ', '.join(
                '%s (pid %d)' % (p['name'], p['pid']) for p in left))
        self.state['down_seconds'] = round(time.monotonic() - start, 1)
        self.save_state()
        common.log('cloud: down in %.1f s' % self.state['down_seconds'])
        return 0

    def status(self, out=sys.stdout):
        if not self.load_state():
            out.write('no cloud recorded in %s\n' % self.workdir)
            return 1
        alive = [p for p in self.state['processes']
                 if processes.alive(p)]
        for entry in self.state['processes']:
            out.write('%-16s %7d  %s\n' % (
                entry['name'], entry['pid'],
                'running' if entry in alive else 'stopped'))
        for name, url in sorted(self.state['urls'].items()):
            out.write('%-16s %s\n' % (name, url))
        return 0 if len(alive) == len(self.state['processes']) else 1


def _in_cloud_venv(argv):
    """Re-run under the cloud venv's Python when libvirt-python is missing.

    localenv.libvirt talks to libvirtd through libvirt-python, which the
    cloud venv has; ``python -m localenv.cloud`` then works from any
    Python 3.
    """
    try:
        import libvirt  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(ensure_cloud_venv(), 'bin', 'python')
    os.chdir(common.REPO)
    os.execv(python, [python, '-m', 'localenv.cloud'] + list(argv))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog='python -m localenv.cloud',
        description='An all-in-one OpenStack cloud on 127.0.0.1.')
    parser.add_argument('command', choices=['up', 'down', 'status'])
    parser.add_argument('--workdir', default=WORKDIR)
    parser.add_argument('--no-ceph', dest='ceph', action='store_false',
                        default=None, help='no rbd stores, even when Ceph '
                                           'is installed')
    args = parser.parse_args(argv)
    cloud = Cloud(args.workdir, ceph=args.ceph)
    if args.command == 'up':
        _in_cloud_venv(argv)
        cloud.up()
        return 0
    if args.command == 'down':
        return cloud.down()
    return cloud.status()


if __name__ == '__main__':
    sys.exit(main())
