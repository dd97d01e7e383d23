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

"""The host side of a private libvirtd: its namespace, its directories.

``localenv.libvirt.Libvirtd`` runs libvirtd in a mount namespace of its own
where libvirt's fixed directories are bind mounts of private copies, and
its ``qemu.conf`` runs guests as root with no security driver and no
cgroups, as a container needs.
"""

import os
import shlex
import shutil
import subprocess
import textwrap

# Host directory -> name of its private copy under the daemon's workdir.
PRIVATE_DIRS = (('/etc/libvirt', 'etc'), ('/run/libvirt', 'run-state'),
                ('/var/lib/libvirt', 'lib'), ('/var/cache/libvirt', 'cache'),
                ('/var/log/libvirt', 'log'))


def prepare_host():
    """The ``libvirt-qemu`` user libvirtd insists on, even running as root."""
    if subprocess.run(['id', 'libvirt-qemu'], capture_output=True).returncode:
        subprocess.run(['useradd', '--system', '--no-create-home',
                        '--shell', '/usr/sbin/nologin', 'libvirt-qemu'],
                       check=True)


QEMU_CONF_TEXT = textwrap.dedent('''\
    # written by nova-glance-multistore localenv
    user = "root"
    group = "root"
    dynamic_ownership = 0
    security_driver = "none"
    cgroup_controllers = [ ]
    remember_owner = 0
    stdio_handler = "file"
    ''')


def private_dirs(workdir):
    """Create the daemon's private copies of libvirt's fixed directories.

    ``/etc/libvirt`` starts as a copy of the host's (minus defined guests
    and networks) with our ``qemu.conf``; the state directories start
    empty.
    """
    mounts = []
    for host_dir, name in PRIVATE_DIRS:
        private = os.path.join(workdir, 'ns', name)
        if host_dir == '/etc/libvirt' and not os.path.exists(private):
            shutil.copytree(host_dir, private, symlinks=True,
                            ignore=shutil.ignore_patterns('qemu', 'nwfilter'))
            with open(os.path.join(private, 'qemu.conf'), 'w') as handle:
                handle.write(QEMU_CONF_TEXT)
        os.makedirs(private, exist_ok=True)
        os.makedirs(host_dir, exist_ok=True)
        mounts.append((private, host_dir))
    return mounts


def namespaced(command, mounts, hostname=None):
    """``command`` run in a new mount namespace with ``mounts`` bound.

    With ``hostname``, in a UTS namespace of its own too, under that host
    name: libvirt reports it (nova's hypervisor host name), so two daemons
    on this machine are two hypervisors to nova and placement.
    """
    steps = ['mount --bind %s %s' % (shlex.quote(src), shlex.quote(dst))
             for src, dst in mounts]
    flags = ['--mount']
    if hostname:
        flags.append('--uts')
        steps.insert(0, 'hostname %s' % shlex.quote(hostname))
    script = ' && '.join(steps + ['exec ' + shlex.join(command)])
    return ['unshare'] + flags + ['--propagation', 'private', '--',
                                  'sh', '-c', script]
