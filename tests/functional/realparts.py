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

"""The real parts a functional test runs against, and what a missing one means.

Each ``require_*`` returns when its part is here and otherwise stops the
test with the reason: a skip in a developer's run, a failure with the
same message under ``NGM_STRICT=1`` (``tools/test.sh`` and so the CI), so
that a green strict run means every test ran against its real parts. A
test asks only for the parts it uses, through the fixtures below (which
conftest.py imports) or ``pytestmark = pytest.mark.usefixtures(...)``.

In strict mode a test skipped for any other reason (a ``skipif`` mark,
``pytest.importorskip``, a skip inside a test) also fails the run: see
``pytest_terminal_summary``.
"""

import os

import pytest

from localenv import ceph as ceph_env
from localenv import libvirt as libvirt_env

STRICT_VAR = 'NGM_STRICT'


def strict():
    """True when a missing real part is a failure, not a skip."""
    return os.environ.get(STRICT_VAR, '') not in ('', '0')


def missing(part, reason):
    """Stop the test: ``part`` cannot run here, because ``reason``."""
    message = 'no real %s here: %s' % (part, reason)
    if strict():
        pytest.fail('%s (%s=1: a missing real part is a failure)' % (
            message, STRICT_VAR), pytrace=False)
    pytest.skip(message)


def require_root():
    if os.geteuid() != 0:
        missing('root', 'the daemons under test must run as root, '
                        'this is uid %d' % os.geteuid())


def require_libvirt():
    """libvirtd, QEMU, qemu-img, unshare and libvirt-python."""
    require_root()
    reason = libvirt_env.missing_reason()
    if reason:
        missing('hypervisor', reason)


def require_ceph():
    """ceph-mon, ceph-osd and the tools to start a throwaway cluster."""
    require_root()
    reason = ceph_env.missing_reason()
    if reason:
        missing('Ceph', reason)


def require_rgw():
    """A Ceph cluster and Debian's radosgw on it."""
    from localenv import rgw as rgw_env
    require_ceph()
    reason = rgw_env.missing_reason()
    if reason:
        missing('Ceph RGW', reason)


def require_cinder():
    """Ceph, MariaDB, RabbitMQ and the Cinder venv (built from PyPI)."""
    from localenv import cinder as cinder_env
    from localenv import mariadb as mariadb_env
    from localenv import rabbitmq as rabbitmq_env
    require_ceph()
    for part, module in (('MariaDB', mariadb_env), ('RabbitMQ', rabbitmq_env)):
        reason = module.missing_reason()
        if reason:
            missing(part, reason)
    try:
        return cinder_env.ensure_cinder_venv()
    except Exception as e:
        missing('Cinder', 'cannot build its venv: %s' % e)


def require_keystone():
    """The Keystone venv (built from PyPI the first time); its path."""
    from localenv import keystone as keystone_env
    try:
        return keystone_env.ensure_keystone_venv()
    except Exception as e:
        missing('Keystone', 'cannot build its venv: %s' % e)


def require_glance():
    """The Glance venv (built from PyPI the first time); its path."""
    from localenv import glance as glance_env
    try:
        return glance_env.ensure_glance_venv()
    except Exception as e:
        missing('Glance', 'cannot build its venv: %s' % e)


@pytest.fixture(scope='session')
def real_libvirt():
    require_libvirt()


@pytest.fixture(scope='session')
def real_ceph():
    require_ceph()


@pytest.fixture(scope='session')
def real_rgw():
    require_rgw()


@pytest.fixture(scope='session')
def real_cinder():
    return require_cinder()


@pytest.fixture(scope='session')
def real_keystone():
    return require_keystone()


@pytest.fixture(scope='session')
def real_glance():
    return require_glance()


# -- strict mode: any skip fails the run (hooks, imported by conftest.py) --

_SKIPPED = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, 'wasxfail'):
        reason = report.longrepr
        if isinstance(reason, tuple):
            reason = reason[2]
        _SKIPPED.append((report.nodeid, reason))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if strict() and _SKIPPED:
        terminalreporter.section(
            '%s=1: %d skipped tests fail the run' % (STRICT_VAR,
                                                     len(_SKIPPED)),
            red=True)
        for nodeid, reason in _SKIPPED:
            terminalreporter.write_line('SKIPPED %s: %s' % (nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if strict() and _SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
