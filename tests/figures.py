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

"""A pytest plugin that prints the reliability figures as one table.

``pytest -p tests.figures ...`` (``tox -e figures``): one row per test
module (scenario): runs, failures, orphan images found after its tests,
seconds.
"""

import collections

ORPHANS = collections.Counter()  # nodeid -> unfinished images found

_rows = collections.OrderedDict()


def _scenario(item_or_report):
    return item_or_report.nodeid.split('::')[0].rsplit('/', 1)[-1][:-3]


def pytest_runtest_logreport(report):
    row = _rows.setdefault(_scenario(report), {
        'runs': 0, 'failures': 0, 'seconds': 0.0, 'nodes': set()})
    row['seconds'] += report.duration
    if report.nodeid not in row['nodes'] and (
            report.when == 'call' or report.outcome == 'failed'):
        row['nodes'].add(report.nodeid)
        row['runs'] += 1
    if report.outcome == 'failed':
        row['failures'] += 1


def pytest_terminal_summary(terminalreporter):
    write = terminalreporter.write_line
    write('')
    write('%-28s %6s %9s %8s %9s' % ('scenario', 'runs', 'failures',
                                     'orphans', 'seconds'))
    for name, row in _rows.items():
        orphans = sum(n for node, n in ORPHANS.items()
                      if node.split('::')[0].endswith(name + '.py'))
        write('%-28s %6d %9d %8d %9.1f' % (name, row['runs'],
                                           row['failures'], orphans,
                                           row['seconds']))
