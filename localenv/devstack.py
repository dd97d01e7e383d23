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

"""Run the devstack plugin's own phases against local files.

The local cloud and the functional tests configure Glance, nova and tempest
by running ``devstack/plugin.sh`` under ``devstack_shim.sh``: the settings
live only in ``devstack/settings`` and the plugin, never in Python.
"""

import dataclasses
import os
import subprocess

from localenv import common

SHIM = os.path.join(common.REPO, 'localenv', 'devstack_shim.sh')
SETTINGS = os.path.join(common.REPO, 'devstack', 'settings')
PLUGIN = os.path.join(common.REPO, 'devstack', 'plugin.sh')

# Sourced by every run: strict mode as in stack.sh, then what devstack
# sources before a plugin phase.
PRELUDE = ('set -o errexit -o pipefail\n'
           'source "$SHIM_FILE"\n'
           'source "$PLUGIN_SETTINGS"\n')


@dataclasses.dataclass
class DevstackFiles:
    """The devstack variables that point at one deployment's files."""

    data_dir: str
    glance_api_conf: str = ''
    nova_conf: str = ''
    tempest_config: str = ''
    python: str = ''
    # devstack's service names for an all-in-one node.
    services: tuple = ('key', 'g-api', 'placement-api', 'q-svc', 'n-api',
                       'n-cond', 'n-sch', 'n-cpu', 'tempest')
    plugins: tuple = ('nova-glance-multistore',)
    overrides: dict = dataclasses.field(default_factory=dict)

    def environ(self):
        env = dict(os.environ)
        # A caller's NGM_* must not leak in: only ``overrides`` change the
        # plugin's defaults.
        for name in [n for n in env if n.startswith('NGM_')]:
            del env[name]
        env.update({
            'SHIM_FILE': SHIM,
            'PLUGIN_SETTINGS': SETTINGS,
            'NGM_DIR': common.REPO,
            'DEST': os.path.dirname(common.REPO),
            'DATA_DIR': self.data_dir,
            'GLANCE_API_CONF': self.glance_api_conf,
            'NOVA_CONF': self.nova_conf,
            'TEMPEST_CONFIG': self.tempest_config,
            'SHIM_PYTHON': self.python,
            'ENABLED_SERVICES': ','.join(self.services),
            'DEVSTACK_PLUGINS': ','.join(self.plugins),
        })
        env.update({k: str(v) for k, v in self.overrides.items()})
        return env


def _bash(files, script):
    done = subprocess.run(['bash', '-c', PRELUDE + script],
                          env=files.environ(), capture_output=True,
                          text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(common.redact(
            'devstack plugin failed (%s): %s%s' % (
                script.strip(), done.stdout, done.stderr)))
    return done.stdout


def run_script(files, script):
    """A few lines of devstack shell (iniset ...) in the same setting.

    For what another devstack plugin would do (the cloud emulates
    devstack-plugin-ceph this way); our plugin runs through run_phase.
    """
    return _bash(files, script)


def run_phase(files, *phase):
    """Source ``plugin.sh <phase...>``; return what it printed.

    E.g. ``run_phase(files, 'stack', 'post-config')``.
    """
    out = _bash(files, 'source "%s" %s\n' % (PLUGIN, ' '.join(phase)))
    for line in out.splitlines():
        common.log('devstack plugin: %s' % line)
    return out


def settings(files):
    """Every ``NGM_*`` variable after ``devstack/settings`` was sourced.

    This is how Python learns, e.g., which store the boot images belong
    in, without a copy of the defaults.
    """
    out = _bash(files, 'for v in $(compgen -v NGM_); do '
                       'printf "%s=%s\\0" "$v" "${!v}"; done\n')
    return dict(item.split('=', 1) for item in out.split('\0') if item)
