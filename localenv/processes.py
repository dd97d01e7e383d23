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

"""Processes the local environment started, and only those.

A PID alone names no process: once it exits, the kernel hands the number
to the next one. A record (``identity``) keeps the PID with what a reused
PID cannot fake: the boot id, the process's start time (clock ticks after
boot, field 22 of ``/proc/PID/stat``) and its command line. Nothing is
signalled unless its record still matches (``matches``), so a stale
``state.json`` can never stop somebody else's process.
"""

import os
import signal
import time

from localenv import common


def boot_id():
    with open('/proc/sys/kernel/random/boot_id') as handle:
        return handle.read().strip()


def _stat(pid):
    """(state, pgrp, start time) of ``pid``, or None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses.
    fields = data.rsplit(')', 1)[1].split()
    return fields[0], int(fields[2]), int(fields[19])


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            raw = handle.read()
    except OSError:
        return None
    return [arg.decode(errors='replace') for arg in raw.split(b'\0') if arg]


def identity(pid, **extra):
    """A record of the running process ``pid`` (None when it is gone).

    Right after ``Popen`` returns, the child may still be inside execve,
    with an empty command line for a moment: read it again until it shows.
    """
    deadline = time.monotonic() + 2
    while True:
        stat = _stat(pid)
        cmdline = _cmdline(pid)
        if stat is None or cmdline is None:
            return None
        if cmdline or stat[0] == 'Z' or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return dict(extra, pid=pid, start_time=stat[2], boot_id=boot_id(),
                cmdline=cmdline)


def cmdline_matches(recorded, current):
    """Is ``current`` the command line we recorded, or its renaming?

    Some services retitle themselves and keep the original inside: e.g.
    cotyledon's ``nova-conductor: master process [/venv/bin/nova-conductor
    --config-file ...]`` (without the interpreter of the recorded
    ``python3 /venv/bin/nova-conductor ...``), gunicorn's ``gunicorn:
    worker [...]``.
    """
    if not recorded or not current:
        return False
    if recorded == current:
        return True
    current_line = ' '.join(current).strip()
    # Skip the interpreter of a script, when the title leaves it out.
    for args in (recorded, recorded[1:]):
        if not args:
            continue
        if ' '.join(args) in current_line or current_line.startswith(
                os.path.basename(args[0]) + ':'):
            return True
    return False


def matches(record):
    """True while the process ``record`` describes runs (zombies count)."""
    if not record or record.get('start_time') is None:
        return False
    stat = _stat(record['pid'])
    if stat is None or stat[2] != record['start_time']:
        return False
    if record.get('boot_id') not in (None, boot_id()):
        return False
    # A zombie has no command line left; its PID is not free for reuse.
    return stat[0] == 'Z' or cmdline_matches(record.get('cmdline'),
                                             _cmdline(record['pid']))


def alive(record):
    """True while the recorded process runs (a zombie has ended).

    Never reaps: the process may be a child whose ``Popen`` waits for it
    in another thread, and would then take it for a success.
    """
    if not record or not matches(record):
        return False
    stat = _stat(record['pid'])  # it may have ended since
    return stat is not None and stat[0] != 'Z'


def orphans(record):
    """Live members of the recorded group after its leader ended.

    Only those that started after the leader and run its command line
    (forked workers): the group id alone could be a later process's.
    """
    if record.get('start_time') is None or alive(record):
        return []
    leader = _stat(record['pid'])
    if leader is not None and not (leader[0] == 'Z' and matches(record)):
        return []  # the number now names someone else
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if (stat and stat[1] == record['pid'] and stat[0] != 'Z' and
                stat[2] >= record['start_time'] and cmdline_matches(
                    record.get('cmdline'), _cmdline(int(entry)))):
            members.append(int(entry))
    return members


def signal_group(record, signum):
    """Signal the recorded process's group; False when it is not ours.

    Our processes lead their own groups (``start_new_session``); a group
    whose leader has exited gets the signal in its matching members only.
    """
    pid = record['pid']
    try:
        if matches(record):
            os.killpg(pid, signum)
            return True
        left = orphans(record)
        for member in left:
            os.kill(member, signum)
        if left:
            return True
    except (ProcessLookupError, PermissionError):
        return False
    if _stat(pid) is not None:
        common.log('not signalling pid %d (%s): it is not the process we '
                   'started (start time or command line differ)' % (
                       pid, record.get('name', '?')))
    return False


def running(record):
    """The recorded process, or workers it left behind, still run."""
    return alive(record) or bool(orphans(record))


def stop(records, grace=10):
    """SIGTERM every recorded group at once, SIGKILL what outlives grace.

    All at once because nova-compute and nova-scheduler ignore SIGTERM:
    one grace period in all instead of one each. Records that no longer
    match their process are left alone.
    """
    records = [r for r in records if running(r)]
    for record in records:
        signal_group(record, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(map(running, records)):
        time.sleep(0.2)
    for record in records:
        if running(record):
            common.log('pid %d (%s) ignored SIGTERM for %d s: SIGKILL' % (
                record['pid'], record.get('name', '?'), grace))
            signal_group(record, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(running, records)):
        time.sleep(0.2)
