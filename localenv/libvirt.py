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

"""A real libvirtd + QEMU, started by hand (no systemd), and tiny guests.

libvirtd runs as root in its own mount namespace: ``/etc/libvirt``,
``/run/libvirt``, ``/var/lib/libvirt``, ``/var/cache/libvirt`` and
``/var/log/libvirt`` are bind mounts of directories under its work
directory. Several daemons (the functional tests, the all-in-one cloud, a
benchmark) can therefore run side by side without seeing each other's guests,
and the host's own libvirt configuration is never touched. Its private
``qemu.conf`` runs guests as root with no security driver and no cgroups, as
a container needs. Guests need no OS: a disk with known bytes is enough to
snapshot.
"""

import glob
import os
import shutil
import signal
import subprocess
import textwrap
import time
import uuid

from localenv import common
from localenv import libvirt_host
from localenv import processes
from localenv import service

LIBVIRTD = '/usr/sbin/libvirtd'
DEBIAN_PACKAGES = ('libvirt-daemon', 'libvirt-daemon-driver-qemu',
                   'libvirt-clients', 'qemu-system-x86', 'qemu-utils')


def missing_reason():
    """Why a real hypervisor cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return 'libvirtd must run as root here'
    for binary in (LIBVIRTD, shutil.which('qemu-system-x86_64') or
                   '/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-img',
                   shutil.which('unshare') or '/usr/bin/unshare'):
        if not os.path.exists(binary):
            return ('%s is missing: install Debian packages %s '
                    '(tools/install-deps.sh does)' % (
                        binary, ' '.join(DEBIAN_PACKAGES)))
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return 'libvirt-python is not installed in this environment'
    return None


def virt_type():
    return 'kvm' if os.access('/dev/kvm', os.R_OK | os.W_OK) else 'qemu'


class Libvirtd(service.Service):
    """One libvirtd process with private sockets, state and config."""

    missing_reason = staticmethod(missing_reason)

    def __init__(self, workdir, hostname=None):
        """``hostname``: the name libvirt reports; default this machine's."""
        self.workdir = workdir
        self.hostname = hostname
        self.rundir = os.path.join(workdir, 'run')
        self.process = None
        self.guests = set()
        self.logfile = os.path.join(workdir, 'libvirtd.log')

    @property
    def uri(self):
        return 'qemu:///system?socket=%s' % os.path.join(
            self.rundir, 'libvirt-sock')

    def start(self):
        self.require()
        libvirt_host.prepare_host()
        os.makedirs(self.rundir, exist_ok=True)
        conf = os.path.join(self.workdir, 'libvirtd.conf')
        with open(conf, 'w') as handle:
            handle.write(textwrap.dedent('''\
                unix_sock_dir = "%s"
                unix_sock_group = "root"
                unix_sock_rw_perms = "0700"
                auth_unix_rw = "none"
                auth_unix_ro = "none"
                log_outputs = "3:file:%s"
                ''' % (self.rundir, self.logfile)))
        with open(self.logfile + '.out', 'ab') as out:
            command = [LIBVIRTD, '--config', conf, '--pid-file',
                       os.path.join(self.rundir, 'libvirtd.pid')]
            self.process = subprocess.Popen(
                libvirt_host.namespaced(
                    command, libvirt_host.private_dirs(self.workdir),
                    self.hostname),
                stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        import libvirt
        deadline = time.monotonic() + 30
        while True:
            try:
                libvirt.open(self.uri).close()
                break
            except libvirt.libvirtError:
                if self.process.poll() is not None or (
                        time.monotonic() > deadline):
                    raise RuntimeError('libvirtd did not start: %s' %
                                       common.tail(self.logfile + '.out'))
                time.sleep(0.2)
        return self

    def stop(self):
        """Destroy every guest, then stop libvirtd; never hang.

        Guests are destroyed with ``virsh`` in a subprocess with a timeout
        (a libvirt call from the test process can block behind nova's own
        connection), and any QEMU process still alive afterwards is killed.
        """
        if self.process is None:
            return
        for name in sorted(self.guests):
            self._destroy(name)
        common.stop_process(self.process)
        self.process = None
        kill_guest_processes(self.workdir)
        self.guests.clear()

    def _destroy(self, name):
        try:
            for verb in (['destroy'], ['undefine', '--managed-save']):
                subprocess.run(['virsh', '-c', self.uri] + verb + [name],
                               capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            common.log('virsh destroy %s timed out' % name)
            kill_guest_processes(self.workdir, [name])

    def remove_guest(self, name):
        """Destroy and undefine one guest now.

        Guests on rbd disks must go before their Ceph cluster does: QEMU
        would hang on the disk.
        """
        self._destroy(name)
        self.guests.discard(name)

    def define_guest(self, name, guest_uuid, disk_path, running=True):
        self.guests.add(name)
        return define_guest(self.uri, name, guest_uuid, disk_path, running)

    def define_rbd_guest(self, name, guest_uuid, rbd_image, ceph_conf,
                         running=True):
        """A guest whose root disk is ``pool/image`` on a Ceph cluster.

        QEMU's rbd driver (Debian qemu-block-extra) reads the cluster's
        ceph.conf, as nova's ``[libvirt] images_type = rbd`` guests do.
        """
        self.guests.add(name)
        disk = textwrap.dedent('''\
            <disk type="network" device="disk">
              <driver name="qemu" type="raw" cache="none"/>
              <source protocol="rbd" name="%s">
                <config file="%s"/>
              </source>
              <target dev="vda" bus="virtio"/>
            </disk>''') % (rbd_image, ceph_conf)
        return _define(self.uri, domain_xml(name, guest_uuid, None,
                                            disk_xml=disk), running)


GUEST_PREFIX = 'instance-'


def _boot_time():
    with open('/proc/stat') as handle:
        for line in handle:
            if line.startswith('btime '):
                return int(line.split()[1])
    raise RuntimeError('no btime in /proc/stat')


def guest_processes(workdir, names=None):
    """``{name: pid}`` of the QEMU processes this libvirtd started.

    From the pid files in the daemon's private run directory (libvirt's
    ``/run/libvirt/qemu/<guest>.pid`` inside its namespace), each checked
    against the process: a QEMU whose ``-name guest=<guest>,`` matches and
    that was running when the file was written (a PID reused later started
    after it). Other daemons' guests may have the same names.
    """
    found = {}
    ticks = os.sysconf('SC_CLK_TCK')
    for pidfile in glob.glob(os.path.join(workdir, 'ns', 'run-state', 'qemu',
                                          '*.pid')):
        name = os.path.basename(pidfile)[:-len('.pid')]
        if names is not None and name not in names:
            continue
        try:
            with open(pidfile) as handle:
                pid = int(handle.read().strip())
            written = os.stat(pidfile).st_mtime
        except (OSError, ValueError):
            continue
        record = processes.identity(pid)
        if record is None:
            continue
        argv = record['cmdline']
        started = _boot_time() + record['start_time'] / ticks
        if (os.path.basename(argv[0]).startswith('qemu-system') and
                any(arg.startswith('guest=%s,' % name) for arg in argv) and
                started <= written + 2):
            found[name] = record
    return found


def kill_guest_processes(workdir, names=None):
    """SIGKILL this libvirtd's QEMU processes (``names``: only those).

    For guests libvirt could not destroy, or that outlived the daemon;
    never a process found by a pattern (``pkill -f`` would hit another
    daemon's guest of the same name).
    """
    for name, record in guest_processes(workdir, names).items():
        if processes.matches(record):
            common.log('killing QEMU %d of guest %s' % (record['pid'], name))
            os.kill(record['pid'], signal.SIGKILL)


def define_ceph_secret(uri, secret_uuid, usage_name, key):
    """A libvirt secret holding a cephx key, as devstack-plugin-ceph does.

    The key goes to ``virsh secret-set-value --file`` through a 0600 file
    (base64, as ``ceph auth get-key`` prints it), never as an argument.
    """
    xml = textwrap.dedent("""\
        <secret ephemeral='no' private='no'>
          <uuid>%s</uuid>
          <usage type='ceph'>
            <name>%s</name>
          </usage>
        </secret>
        """) % (secret_uuid, usage_name)
    common.register_secret(key, 'cephx key of %s' % usage_name)
    virsh = ['virsh', '-c', uri]
    with common.secret_file(xml) as path:
        common.run(virsh + ['secret-define', '--file', path], timeout=60)
    with common.secret_file(key) as path:
        common.run(virsh + ['secret-set-value', '--secret', secret_uuid,
                            '--file', path], timeout=60)


def make_disk_bytes(size, seed):
    """Deterministic, incompressible-enough bytes for a guest disk."""
    import hashlib
    block = hashlib.sha512(seed.encode()).digest() * 128  # 8 KiB
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(block + counter.to_bytes(8, 'big')).digest()
        out += block[:4064]
        counter += 1
    return bytes(out[:size])


def create_guest_disk(instance_dir, base_dir, size_mib=16, written_mib=4,
                      seed='guest'):
    """A nova-style qcow2 disk over a raw base, with known content.

    :returns: (disk_path, raw_content_of_the_written_part)
    """
    os.makedirs(instance_dir, exist_ok=True)
    os.makedirs(base_dir, exist_ok=True)
    base = os.path.join(base_dir, 'base-%s' % seed)
    content = make_disk_bytes(written_mib * 1024 * 1024, seed)
    if not os.path.exists(base):
        with open(base + '.tmp', 'wb') as handle:
            handle.write(content)
            handle.truncate(size_mib * 1024 * 1024)
        os.replace(base + '.tmp', base)
    disk = os.path.join(instance_dir, 'disk')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw',
                    '-b', base, disk], check=True)
    return disk, content


def domain_xml(name, guest_uuid, disk_path, memory_mib=64, disk_xml=None):
    """A tiny guest with no display.

    No VNC: nothing looks at the screen, and daemons in separate namespaces
    would hand out the same VNC port to two guests at once.
    """
    kind = virt_type()
    if disk_xml is None:
        disk_xml = textwrap.dedent('''\
            <disk type="file" device="disk">
              <driver name="qemu" type="qcow2" cache="none"/>
              <source file="%s"/>
              <target dev="vda" bus="virtio"/>
            </disk>''') % disk_path
    return textwrap.dedent('''\
        <domain type="%(kind)s">
          <name>%(name)s</name>
          <uuid>%(uuid)s</uuid>
          <memory unit="MiB">%(memory)d</memory>
          <vcpu>1</vcpu>
          <os><type arch="x86_64" machine="pc">hvm</type></os>
          <features><acpi/></features>
          <clock offset="utc"/>
          <on_poweroff>destroy</on_poweroff>
          <on_crash>destroy</on_crash>
          <devices>
        %(disk)s
          </devices>
        </domain>
        ''') % {'kind': kind, 'name': name, 'uuid': guest_uuid,
                'disk': textwrap.indent(disk_xml, ' ' * 4),
                'memory': memory_mib}


def define_guest(uri, name, guest_uuid, disk_path, running=True):
    return _define(uri, domain_xml(name, guest_uuid, disk_path), running)


def _define(uri, xml, running):
    import libvirt
    conn = libvirt.open(uri)
    try:
        dom = conn.defineXML(xml)
        if running:
            dom.create()
        return dom.name()
    finally:
        conn.close()


def guest_state(uri, name):
    """'running', 'paused', 'shutoff', ... or 'missing'."""
    import libvirt
    names = {libvirt.VIR_DOMAIN_RUNNING: 'running',
             libvirt.VIR_DOMAIN_PAUSED: 'paused',
             libvirt.VIR_DOMAIN_SHUTOFF: 'shutoff',
             libvirt.VIR_DOMAIN_SHUTDOWN: 'shutdown',
             libvirt.VIR_DOMAIN_CRASHED: 'crashed'}
    conn = libvirt.open(uri)
    try:
        try:
            return names.get(conn.lookupByName(name).state()[0], 'other')
        except libvirt.libvirtError:
            return 'missing'
    finally:
        conn.close()


def new_uuid():
    return str(uuid.uuid4())
