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

"""Look for secrets where nobody should find them: logs and command lines.

The local environment knows every password and key it handed out; after a
run (``tox -e tempest-aio``) its logs are searched for each of them, and
while it runs, the command lines of the processes it started (what ``ps``
shows every user). A finding names the file and line, or the PID, and what
kind of secret it is, never the secret itself.
"""

import collections
import os
import re

Finding = collections.namedtuple('Finding', 'where line secret')

# Names of files that are logs, and of directories that hold only logs.
_LOG_NAME = re.compile(r'\.log(\.|$)|\.out$|\.gunicorn$|\.previous$')
_LOG_DIRS = {'log', 'logs'}
_KEYRING_KEY = re.compile(r'^\s*key\s*=\s*(\S+)\s*$', re.M)


def _is_log(path, root):
    parts = os.path.relpath(path, root).split(os.sep)
    return bool(_LOG_NAME.search(parts[-1]) or _LOG_DIRS & set(parts[:-1]))


def log_files(paths):
    """Every log file under ``paths`` (files are taken as they are)."""
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for directory, _, names in os.walk(path):
            for name in sorted(names):
                full = os.path.join(directory, name)
                if _is_log(full, path) and os.path.isfile(full):
                    yield full


def scan_logs(paths, secrets):
    """Findings of any of ``secrets`` ({what: value}) in the logs."""
    wanted = {what: value.encode() for what, value in secrets.items()
              if value}
    findings = []
    for path in log_files(paths):
        try:
            with open(path, 'rb') as handle:
                for number, line in enumerate(handle, 1):
                    findings.extend(Finding(path, number, what)
                                    for what, value in wanted.items()
                                    if value in line)
        except OSError:
            continue
    return findings


def _session_and_parent(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except OSError:
        return None, None
    return int(fields[3]), int(fields[1])


def ours(session_leaders, root=None):
    """PIDs in the sessions of ``session_leaders`` or below ``root``.

    The environment starts each long-running service as a session leader;
    one-shot commands are children of the process running it (``root``).
    """
    root = os.getpid() if root is None else root
    parents = {}
    found = set()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            session, parent = _session_and_parent(int(entry))
            if session is None:
                continue
            parents[int(entry)] = parent
            if session in session_leaders:
                found.add(int(entry))
    for pid in parents:
        seen, up = set(), parents.get(pid)
        while up and up not in seen:
            if up == root:
                found.add(pid)
                break
            seen.add(up)
            up = parents.get(up)
    return sorted(found)


def scan_command_lines(pids, secrets):
    """Findings of any of ``secrets`` in the command lines of ``pids``."""
    findings = []
    for pid in pids:
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read().replace(b'\0', b' ')
        except OSError:
            continue
        findings.extend(Finding('pid %d' % pid, None, what)
                        for what, value in secrets.items()
                        if value and value.encode() in cmdline)
    return findings


def keyring_keys(directory):
    """``{what: key}`` of every cephx key in ``*.keyring`` files there."""
    keys = {}
    if not os.path.isdir(directory):
        return keys
    for name in sorted(os.listdir(directory)):
        if name.endswith('.keyring'):
            with open(os.path.join(directory, name)) as handle:
                for n, key in enumerate(_KEYRING_KEY.findall(handle.read())):
                    keys['cephx key in %s (%d)' % (name, n)] = key
    return keys


def describe(findings):
    """One line per finding, for an error message or the run's output."""
    return '\n'.join(
        '%s%s: %s' % (f.where, '' if f.line is None else ':%d' % f.line,
                      f.secret) for f in findings)
