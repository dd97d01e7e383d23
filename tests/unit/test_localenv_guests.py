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

"""Guests are killed by the pid file their own libvirtd wrote, checked
against the process, never by a pattern (another daemon's guest may have
the same name)."""

import os
import subprocess
import time

from localenv import libvirt as libvirt_env


def _fake_qemu(name):
    """A process whose command line looks like libvirt's QEMU for ``name``.

    (sh under QEMU's name, waiting in a loop: its command line is all that
    is looked at.)
    """
    return subprocess.Popen(
        ['qemu-system-x86_64', '-c', 'while :; do sleep 1; done', 'sh',
         '-name', 'guest=%s,debug-threads=on' % name],
        executable='/bin/sh', start_new_session=True)


def _pidfile(workdir, name, pid):
    directory = os.path.join(workdir, 'ns', 'run-state', 'qemu')
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, '%s.pid' % name)
    with open(path, 'w') as handle:
        handle.write('%d\n' % pid)
    return path


def _gone(process, timeout=10):
    try:
        process.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_stop_kills_only_this_daemons_guest(tmp_path):
    ours_dir, theirs_dir = str(tmp_path / 'ours'), str(tmp_path / 'theirs')
    ours, theirs = _fake_qemu('instance-00000001'), _fake_qemu(
        'instance-00000001')
    try:
        time.sleep(0.2)  # the pid file is written once QEMU runs
        _pidfile(ours_dir, 'instance-00000001', ours.pid)
        _pidfile(theirs_dir, 'instance-00000001', theirs.pid)
        daemon = libvirt_env.Libvirtd(ours_dir)
        # libvirtd itself stands in as a sleep; QEMU outlived virsh destroy.
        daemon.process = subprocess.Popen(['sleep', '60'],
                                          start_new_session=True)
        daemon.guests.add('instance-00000001')
        daemon.stop()
        assert _gone(ours)
        assert theirs.poll() is None, "another daemon's guest was killed"
    finally:
        for process in (ours, theirs):
            process.kill()
            process.wait()


def test_pid_file_of_a_process_that_is_no_qemu_is_ignored(tmp_path):
    stranger = subprocess.Popen(['sleep', '60'])
    try:
        _pidfile(str(tmp_path), 'instance-00000002', stranger.pid)
        assert libvirt_env.guest_processes(str(tmp_path)) == {}
        libvirt_env.kill_guest_processes(str(tmp_path))
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_stale_pid_file_older_than_the_process_is_ignored(tmp_path):
    # A QEMU for the same name that started after our pid file was
    # written: the PID was reused, the file is not about it.
    later = _fake_qemu('instance-00000003')
    try:
        path = _pidfile(str(tmp_path), 'instance-00000003', later.pid)
        past = time.time() - 3600
        os.utime(path, (past, past))
        assert libvirt_env.guest_processes(str(tmp_path)) == {}
        os.utime(path, None)
        found = libvirt_env.guest_processes(str(tmp_path))
        assert list(found) == ['instance-00000003']
        assert found['instance-00000003']['pid'] == later.pid
    finally:
        later.kill()
        later.wait()
