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

"""The local environment signals only processes it started.

Real processes (``sleep``, a forking Python): a PID from an old state file
that now belongs to another process is left alone, and one-shot commands
(the schema migrations) are recorded so ``down`` stops them.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from localenv import cloud as cloud_env
from localenv import processes


def _sleeper(seconds=60):
    return subprocess.Popen(['sleep', str(seconds)], start_new_session=True)


def _dead_record():
    """The identity of a ``sleep`` that has exited since."""
    gone = _sleeper()
    record = processes.identity(gone.pid, name='old')
    gone.kill()
    gone.wait()
    # Start times count clock ticks (10 ms): the process that gets the
    # PID next starts in a later one.
    time.sleep(0.05)
    return record


def _wait_gone(process, timeout=15):
    try:
        process.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_identity_of_a_live_process_matches():
    live = _sleeper()
    try:
        record = processes.identity(live.pid)
        assert record['cmdline'] == ['sleep', '60']
        assert processes.matches(record) and processes.alive(record)
    finally:
        live.kill()
        live.wait()
    assert not processes.alive(record)


def test_identity_check_refuses_a_reused_pid():
    old = _dead_record()
    stranger = _sleeper()
    try:
        # A state file whose PID now names someone else's process.
        reused = dict(old, pid=stranger.pid)
        assert not processes.matches(reused)
        assert not processes.signal_group(reused, signal.SIGTERM)
        # Same start time, other command line: refused too.
        renamed = dict(processes.identity(stranger.pid),
                       cmdline=['sleep', '61'])
        assert not processes.matches(renamed)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_retitled_services_are_still_recognised():
    script = ['/venv/bin/python3', '/venv/bin/nova-conductor',
              '--config-file', '/etc/nova/nova.conf']
    assert processes.cmdline_matches(script, [
        'nova-conductor: master process [/venv/bin/nova-conductor '
        '--config-file /etc/nova/nova.conf]'])
    assert processes.cmdline_matches(
        ['/venv/bin/gunicorn', '--bind', 'fd://3'],
        ['gunicorn: master [glance.wsgi.api:application]'])
    assert not processes.cmdline_matches(script, ['sleep', '60'])
    assert not processes.cmdline_matches(script, [])


def test_identity_without_start_time_is_never_ours():
    stranger = _sleeper()
    try:
        legacy = {'name': 'x', 'pid': stranger.pid, 'log': ''}
        assert not processes.matches(legacy)
        processes.stop([legacy], grace=1)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def _cloud_with(tmp_path, entries):
    cloud = cloud_env.Cloud(str(tmp_path / 'cloud'), ceph=False)
    os.makedirs(cloud.workdir)
    cloud.state = {'workdir': cloud.workdir, 'processes': entries,
                   'urls': {}}
    cloud.save_state()
    return cloud


def test_down_leaves_a_process_with_a_recycled_pid_alone(tmp_path):
    # The stranger starts after the recorded process ended, as a process
    # that got its PID again would.
    record = _dead_record()
    stranger = _sleeper()
    try:
        cloud = _cloud_with(tmp_path, [dict(record, name='nova-api',
                                            pid=stranger.pid)])
        cloud_env.Cloud(cloud.workdir, ceph=False).down()
        assert stranger.poll() is None, 'down signalled a stranger'
    finally:
        stranger.kill()
        stranger.wait()


def test_down_stops_recorded_processes(tmp_path):
    ours = _sleeper()
    cloud = _cloud_with(tmp_path, [processes.identity(ours.pid,
                                                      name='nova-api')])
    cloud_env.Cloud(cloud.workdir, ceph=False).down()
    assert _wait_gone(ours, 5)


def test_orphaned_workers_of_a_recorded_group_are_stopped():
    # The leader forks a worker (same command line) and exits.
    script = 'import os, time\nif os.fork() == 0:\n    time.sleep(60)\n'
    leader = subprocess.Popen([sys.executable, '-c', script],
                              start_new_session=True)
    record = processes.identity(leader.pid, name='uwsgi')
    leader.wait()
    workers = processes.orphans(record)
    assert len(workers) == 1
    assert processes.running(record)
    processes.stop([record], grace=5)
    assert not processes.running(record)
    assert processes.orphans(record) == []


def test_one_shot_commands_are_recorded_and_stopped_by_down(tmp_path):
    cloud = _cloud_with(tmp_path, [])
    errors = []

    def migrate():
        try:
            cloud._run_all([['sleep', '60']])
        except Exception as e:
            errors.append(e)

    thread = threading.Thread(target=migrate)
    thread.start()
    deadline = time.monotonic() + 10
    while not cloud.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    recorded = cloud_env.Cloud(cloud.workdir, ceph=False).load_state()
    try:
        assert [p['name'] for p in recorded['processes']] == ['run: sleep']
        assert recorded['processes'][0]['oneshot'] is True
        # down from another process, as after an interrupted "up".
        cloud_env.Cloud(cloud.workdir, ceph=False).down()
        thread.join(10)
        assert not thread.is_alive()
        assert len(errors) == 1 and 'sleep 60 failed' in str(errors[0])
    finally:
        for entry in recorded['processes']:
            if processes.matches(entry):
                os.kill(entry['pid'], signal.SIGKILL)
    assert cloud.state['processes'] == []  # forgotten once it ended
